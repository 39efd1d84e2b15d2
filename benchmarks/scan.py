"""The checklist's scan against detect-secrets on one generated repository: ``python -m benchmarks.scan``

A repository of a few thousand files (Python, Markdown, JSON, logs, notebooks with plot outputs)
is generated in a temporary folder, with keys of the real shape planted in some of them: made at
run time from the catalogue's fakes with the ``FAKE`` marker replaced by random characters, never
written anywhere else. Then, in one run:

- ours:  ``python -m helpers.checklist ROOT`` (all six checks; check 3 reads every tracked file),
         five runs, min / median / max;
- peer:  ``detect-secrets scan`` (1.5.0, its default plugins and filters) in ROOT, one run by
         default (it takes a minute; ``--peer-runs N`` for more).

Both wall and CPU time (user + system) are printed: on a shared machine a one-minute run and a
one-second run meet different loads, and CPU time is the steadier measure.

Recall is counted per planted key: ours by fingerprint, detect-secrets by file and line (it
reports a hash, not the key). Target: ours at least 50x faster at full recall.

A second measurement times `helpers.key_scan.findings_in_text` on one dense file, 80,000 keys in
1.7 MB, where counting lines from the start for every finding (the first version) was quadratic.

Options: ``--files N`` (default 3000), ``--peer-runs N`` (default 1), ``--skip-peer``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from helpers.key_formats import ALLOWED_FAKE, fingerprint, format_named, reportable_keys
from helpers.key_scan import findings_in_text

PLANTED_SHAPES = ("openai-project", "openai-service-account", "openai-legacy", "anthropic", "google",
                  "huggingface", "groq", "xai", "sk-32", "openrouter", "perplexity", "aws-access-key-id",
                  "github", "openai-project", "anthropic", "google", "sk-32", "groq", "huggingface", "xai")
# Characters every shape accepts in place of its marker (base32 for AWS, lower case for sk-32).
LOWER, UPPER = "abcdefghijkmnpqrstuvwxyz0123456789", "BCDGHJKLMNPQRSTUVWZ234567"
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
WORDS = ("client", "model", "request", "tokens", "budget", "retry", "latency", "prompt", "response",
         "cache", "session", "user", "config", "timeout", "stream", "batch", "embedding", "limit")


def real_shaped_key(name: str, rng: random.Random) -> str:
    """A key of the catalogue's shape `name` without the FAKE/EXAMPLE marker: what a scanner must
    report. Made at run time only."""
    while True:
        key = format_named(name).fake(rng)
        for marker in ("FAKE", "fake", "EXAMPLE"):
            alphabet = LOWER if marker.islower() else UPPER
            key = key.replace(marker, "".join(rng.choice(alphabet) for _ in marker))
        if not ALLOWED_FAKE.search(key):
            return key


def ordinary_text(kind: str, rng: random.Random, size: int) -> str:
    """Plausible file content of `kind` without any key, about `size` characters."""
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        a, b = rng.sample(WORDS, 2)
        n = rng.randrange(10_000)
        lines.append({
            "py": f'def {a}_{b}_{n}(value):\n    """Return the {a} for {b}."""\n    return value * {n}\n',
            "md": f"The {a} depends on the {b}: set `{a.upper()}_{b.upper()}` to {n} in production.\n",
            "json": f'  {{"{a}": {n}, "{b}": "{a}-{b}-{n}", "enabled": true}},\n',
            "log": f"2026-01-0{n % 9 + 1} 12:{n % 60:02d}:00 INFO {a}: {b} took {n / 7:.1f} ms\n",
        }[kind])
    return "".join(lines)


def notebook(rng: random.Random, image_bytes: int, leak: str = "") -> str:
    """A notebook with a plot output (base64 PNG-like data) and, if given, a printed key."""
    image = "iVBORw0KGgo" + "".join(rng.choices(BASE64, k=image_bytes))
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "plot(results)",
              "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": image}}]}]
    if leak:
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "print(key)",
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{leak}\n"}]})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}, indent=1)


PLANTERS: tuple[Callable[[str], tuple[str, str]], ...] = (
    lambda key: ("py", f'import openai\n\nclient = openai.OpenAI(api_key="{key}")\n'),
    lambda key: ("log", f"2026-01-02 10:00:00 DEBUG request headers: api key {key}\n"),
    lambda key: ("json", f'{{\n  "service": "chat",\n  "credentials": {{"token": "{key}"}}\n}}\n'),
    lambda key: ("md", f"Set the key before you start:\n\n    export LLM_API_KEY={key}\n"),
    lambda key: ("yaml", f"provider:\n  name: llm\n  api_key: {key}\n"),
)


def generate(root: Path, files: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """Write the repository; return the planted keys as (path, line, key)."""
    planted: list[tuple[str, int, str]] = []
    leak_at = dict(zip(rng.sample(range(files), len(PLANTED_SHAPES)), PLANTED_SHAPES, strict=True))
    for number in range(files):
        folder = root / f"pkg{number % 40}"
        folder.mkdir(exist_ok=True)
        key = real_shaped_key(leak_at[number], rng) if number in leak_at else ""
        if number % 50 == 0:
            name, text = f"analysis_{number}.ipynb", notebook(rng, rng.randrange(200_000, 400_000), key)
        elif key:
            kind, snippet = rng.choice(PLANTERS)(key)
            filler = ordinary_text(kind if kind != "yaml" else "md", rng, rng.randrange(2_000, 12_000))
            name, text = f"leak_{number}.{kind}", filler + snippet
        else:
            kind = rng.choice(("py", "py", "md", "json", "log"))
            name = f"{rng.choice(WORDS)}_{number}.{kind}"
            text = ordinary_text(kind, rng, rng.randrange(2_000, 12_000))
        (folder / name).write_text(text)
        if key:
            line = next(n for n, content in enumerate(text.splitlines(), 1) if key in content)
            planted.append((f"pkg{number % 40}/{name}", line, key))
    (root / ".gitignore").write_text(".env\n")
    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "generated"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return planted


Timing = tuple[list[float], list[float], int]  # wall seconds, CPU seconds, keys found


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system, of the command and its children) and output of a run.

    On a shared machine the wall time of a long run and of a short one meet different loads; the
    CPU time does not depend on what else runs."""
    before, start = os.times(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall, after = time.perf_counter() - start, os.times()
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return wall, cpu, done.stdout


def ours(root: Path, planted: list[tuple[str, int, str]], runs: int) -> Timing:
    walls, cpus, found = [], [], 0
    for _ in range(runs):
        wall, cpu, out = timed([sys.executable, "-m", "helpers.checklist", str(root)], root)
        walls.append(wall)
        cpus.append(cpu)
        found = sum(f"fingerprint {fingerprint(key)}" in out for _path, _line, key in planted)
    return walls, cpus, found


def peer(root: Path, planted: list[tuple[str, int, str]], runs: int) -> Timing:
    command = [str(Path(sys.executable).parent / "detect-secrets"), "scan"]
    walls, cpus, found = [], [], 0
    for _ in range(runs):
        wall, cpu, out = timed(command, root)
        walls.append(wall)
        cpus.append(cpu)
        results = json.loads(out)["results"]
        found = sum(any(result["line_number"] == line for result in results.get(path, []))
                    for path, line, _key in planted)
    return walls, cpus, found


def dense_file(rng: random.Random) -> None:
    keys = [real_shaped_key("aws-access-key-id", rng) for _ in range(80_000)]
    text = "\n".join(keys) + "\n"
    times, reference = [], []
    for _ in range(5):
        start = time.perf_counter()
        findings = findings_in_text(text, "dense.txt")
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        reportable_keys(text)  # the catalogue's own pass, which any scan needs
        reference.append(time.perf_counter() - start)
    if len(findings) != 80_000 or findings[-1].line != 80_000:
        raise SystemExit(f"dense file: expected 80,000 findings ending on line 80,000, got {len(findings)}")
    print(f"\ndense file: {len(findings):,} findings in {len(text) / 1e6:.2f} MB: {_spread(times)}; "
          f"reportable_keys alone: median {statistics.median(reference):.2f} s")
    eighth = text[: len(text) // 8]
    start = time.perf_counter()
    lines = [eighth.count("\n", 0, match.start) + 1 for match in reportable_keys(eighth)]  # the first version
    quadratic = time.perf_counter() - start
    start = time.perf_counter()
    findings_in_text(eighth, "dense.txt")
    linear = time.perf_counter() - start
    print(f"  on an eighth of it ({len(lines):,} findings): lines counted from the start for each finding "
          f"(the first version) {quadratic:.2f} s, counted as the scan goes {linear:.2f} s; the first grows "
          "with the square of the size (64x for the whole file)")


def _spread(times: list[float]) -> str:
    return f"min {min(times):.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan",
                                     description="The checklist's scan against detect-secrets, side by side.")
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--peer-runs", type=int, default=1)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as folder:
        root = Path(folder)
        planted = generate(root, args.files, rng)
        size = sum(path.stat().st_size for path in root.rglob("*.*") if ".git" not in path.parts)
        total = len(planted)
        print(f"repository: {args.files:,} files, {size / 1e6:.1f} MB, {total} planted keys")
        our_walls, our_cpus, our_found = ours(root, planted, 5)
        print(f"ours (python -m helpers.checklist), found {our_found} of {total}:\n"
              f"  wall {_spread(our_walls)}\n  CPU  {_spread(our_cpus)}")
        if not args.skip_peer:
            peer_walls, peer_cpus, peer_found = peer(root, planted, args.peer_runs)
            print(f"peer (detect-secrets scan), found {peer_found} of {total}:\n"
                  f"  wall {_spread(peer_walls)}\n  CPU  {_spread(peer_cpus)}")
            wall_ratio = statistics.median(peer_walls) / statistics.median(our_walls)
            cpu_ratio = statistics.median(peer_cpus) / statistics.median(our_cpus)
            print(f"ratio (medians): detect-secrets takes {wall_ratio:.0f}x our wall time, "
                  f"{cpu_ratio:.0f}x our CPU time (target >= 50x; ours at full recall: "
                  f"{'yes' if our_found == total else 'NO'})")
    dense_file(rng)


if __name__ == "__main__":
    main()
