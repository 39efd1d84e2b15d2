"""The peer scanners' public sample keys (gitleaks, trufflehog), read from ../shared/corpus at
test time and never copied into this repository (see that folder's README)."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_samples() -> list[tuple[str, str]]:
    """(rule id, sample key) pairs from every ``*-true-positives.tsv`` file."""
    samples = []
    for path in sorted(CORPUS.glob("*-true-positives.tsv")):
        lines = path.read_text().splitlines()
        rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
        samples += [(rule, sample) for rule, sample in rows[1:]]  # row 0 names the columns
    return samples
