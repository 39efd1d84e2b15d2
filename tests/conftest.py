"""Fixtures shared by the test modules: a project folder, a throwaway git repository, a fake clock,
keys of the real shape without the FAKE marker, the peer scanners' sample keys, and secrets known
only by their variable's name."""

from __future__ import annotations

import base64
import csv
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from helpers import secret_values
from helpers.key_formats import fake_key
from tutorial.clock import FakeClock

DATA = Path(__file__).parent / "data"

# No test is timed (timings go in benchmarks): Hypothesis's default 200 ms deadline per example
# fails a test whose first example fills caches on a busy machine (mutation testing, two workers).
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")

# Secrets known only by their variable's name, in the names learners and tools really use.
NAMED_SECRETS = {
    "MISTRAL_API_KEY_PROD": "mistral-FAKE-value-prod", "SERVICE_KEY_OLD": "rotated-FAKE-old-value",
    "COHERE_APIKEY": "cohere-FAKE-apikey-value", "DB_PASS": "db-FAKE-pass-value",
    "GITHUB_PAT": "github-FAKE-pat-value", "HF_TOKEN_2": "second-FAKE-token-value",
    "openaiApiKey": "camel-FAKE-case-value",
}


def peer_corpus() -> list[tuple[str, str]]:
    """(rule, sample key) pairs of gitleaks' and trufflehog's samples, decoded (see data/README.md)."""
    with (DATA / "peer-corpus.tsv").open(newline="") as file:
        rows = csv.DictReader(file, delimiter="\t")
        return [(f"{row['source']}:{row['rule']}", base64.b64decode(row["reversed_base64"]).decode()[::-1])
                for row in rows]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `peer_sample` runs once per sample of the peer corpus, one that takes
    `secret_name` once per name of `NAMED_SECRETS`."""
    if "peer_sample" in metafunc.fixturenames:
        samples = peer_corpus()
        metafunc.parametrize("peer_sample", [sample for _rule, sample in samples],
                             ids=[rule for rule, _sample in samples])
    if "secret_name" in metafunc.fixturenames:
        metafunc.parametrize("secret_name", sorted(NAMED_SECRETS))


@pytest.fixture(scope="session")
def peer_samples() -> list[str]:
    """Every sample key of the peer corpus, decoded."""
    return [sample for _rule, sample in peer_corpus()]


def make_real_looking(name: str, seed: int = 0) -> str:
    """A key of the real shape *without* the FAKE marker: what a scanner must report. Made at run
    time, never stored in a file."""
    return fake_key(name, seed).replace("FAKE", "REAL").replace("fake", "real").replace("EXAMPLE", "SAMPLES")


@pytest.fixture(scope="session")
def named_secrets() -> dict[str, str]:
    """Variable name -> fake value of secrets that only their names mark as secret (`DB_PASS`,
    `GITHUB_PAT`, `HF_TOKEN_2`, ...): a guard must know them by name."""
    return dict(NAMED_SECRETS)


@pytest.fixture(scope="session")
def real_looking() -> Callable[..., str]:
    return make_real_looking


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Personal git settings (a global excludes file ignoring .env*, hooks, signing) must not change
    any answer, and every commit has an identity."""
    for name, value in {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                        "GIT_CONFIG_COUNT": "4", "GIT_CONFIG_KEY_0": "init.defaultBranch",
                        "GIT_CONFIG_VALUE_0": "main", "GIT_CONFIG_KEY_1": "user.name",
                        "GIT_CONFIG_VALUE_1": "Test", "GIT_CONFIG_KEY_2": "user.email",
                        "GIT_CONFIG_VALUE_2": "test@example.com",
                        # git's default personal excludes file (~/.config/git/ignore) is read even
                        # without a global config file
                        "GIT_CONFIG_KEY_3": "core.excludesFile", "GIT_CONFIG_VALUE_3": os.devnull}.items():
        monkeypatch.setenv(name, value)


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`, failing the test on an error; returns its output."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty throwaway git repository."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project as the tutorial lays one out: a git repository (its root) with a notebooks/ folder,
    inside an outer folder that is not part of it."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "notebooks").mkdir()
    return root


@pytest.fixture
def racing() -> Iterator[None]:
    """Threads switch every microsecond instead of every 5 ms: they really interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def everything_about(err: BaseException) -> str:
    """What an exception shows a debugger, Sentry or a traceback: message, repr and args of it and of
    every exception on its chain, with the attributes that hold what a decoder or parser was given."""
    parts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        parts += [repr(getattr(current, attr)) for attr in ("doc", "object", "response")
                  if hasattr(current, attr)]
        todo += [current.__cause__, current.__context__]
    return "\n".join(parts)


@pytest.fixture(scope="session")
def exception_text() -> Callable[[BaseException], str]:
    """`everything_about`: the text a test must not find a secret in."""
    return everything_about


def crossed(exercise: Any, answer: object, problem: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Check `answer` with `exercise`: a ❌ naming `problem`, then a hint, never a traceback (what
    the answer itself printed, redacted, may come first). Returns all the check printed, on stdout
    and stderr."""
    assert exercise.check(answer) is False
    captured = capsys.readouterr()
    assert "\n❌ " in "\n" + captured.out
    assert problem in captured.out, captured.out
    assert "hint: " in captured.out
    assert "Traceback" not in captured.out + captured.err
    return str(captured.out + captured.err)


@pytest.fixture(scope="session")
def assert_crossed() -> Callable[..., str]:
    """`crossed`: what every exercise check must print for a wrong answer."""
    return crossed


@pytest.fixture
def empty_secret_value_caches() -> None:
    """Each test prepares values, markers and quick checks itself: a cache filled by an earlier
    test would hide the code that fills it (and mutation testing would not see the test run it)."""
    for cached in (secret_values._prepared, secret_values._quick_check, secret_values._marker_id):
        cached.cache_clear()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry of run-time secrets of the test's own, so registered values leak into no other test."""
    monkeypatch.setattr(secret_values._REGISTRY, "values", secret_values.SecretValues())
