"""Tests for helpers.hook_config: hooks are read as YAML; a name in a comment configures nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers.hook_config import HookConfigError, MissingYAMLError, secret_scanning_hooks

PROJECT = Path(__file__).resolve().parents[1]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("repos:\n- repo: https://github.com/Yelp/detect-secrets\n  rev: v1.5.0\n"
     "  hooks:\n  - id: detect-secrets\n", ["detect-secrets"]),
    ("repos:\n- repo: https://github.com/gitleaks/gitleaks\n  rev: v8.24.0\n"
     "  hooks:\n  - id: gitleaks\n", ["gitleaks"]),
    ("repos:\n- repo: local\n  hooks:\n  - id: scan\n"
     "    entry: trufflehog git file://. --since-commit HEAD\n", ["scan"]),
    ("# detect-secrets: to do\nrepos:\n- repo: local\n  hooks:\n"
     "  - id: ruff  # gitleaks later\n    entry: ruff\n", []),
    ("repos:\n- repo: https://github.com/gitleaks/gitleaks\n  rev: v8.24.0\n", []),  # a repo, no hook
    ("repos: []\n", []),
    ("- not\n- a mapping\n", []),
])
def test_only_a_hook_id_or_entry_counts(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert secret_scanning_hooks(config(tmp_path, text)) == expected


def test_this_project_runs_detect_secrets_with_its_plugin() -> None:
    assert secret_scanning_hooks(PROJECT / ".pre-commit-config.yaml") == ["detect-secrets"]


def test_a_missing_or_broken_file_is_an_error_that_never_quotes_it(tmp_path: Path, real_looking) -> None:
    with pytest.raises(HookConfigError, match="is missing"):
        secret_scanning_hooks(tmp_path / ".pre-commit-config.yaml")
    key = real_looking("groq", 1)
    with pytest.raises(HookConfigError) as caught:
        secret_scanning_hooks(config(tmp_path, f"repos:\n  - repo: local\n    hooks: [{key}\n"))
    assert "not valid YAML (line" in str(caught.value) and key not in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_without_pyyaml_the_error_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now raises ImportError
    with pytest.raises(ImportError, match="pip install pyyaml") as caught:
        secret_scanning_hooks(config(tmp_path, "repos: []\n"))
    assert isinstance(caught.value, MissingYAMLError)


HOOK = "repos:\n- repo: local\n  hooks:\n  - id: gitleaks\n"


@pytest.mark.parametrize(("text", "expected"), [
    (HOOK + "    stages: [manual]\n", []),  # runs only with `pre-commit run --hook-stage manual`
    ("default_stages: [manual]\n" + HOOK, []),
    ("default_stages: [manual]\n" + HOOK + "    stages: [pre-commit]\n", ["gitleaks"]),  # its own wins
    (HOOK + "    stages: [commit]\n", ["gitleaks"]),  # the old name of pre-commit
    (HOOK + "    stages: [pre-push, manual]\n", ["gitleaks"]),  # stops the key before it leaves
    (HOOK + "    stages: [post-checkout]\n", []),
    ("default_stages: [pre-commit]\n" + HOOK, ["gitleaks"]),
])
def test_a_hook_counts_only_when_it_runs_on_commit_or_push(tmp_path: Path, text: str, expected) -> None:
    assert secret_scanning_hooks(config(tmp_path, text)) == expected


@pytest.mark.parametrize("text", [
    "x: &scan {id: detect-secrets}\nrepos:\n- repo: local\n  hooks:\n  - *scan\n",  # an alias
    # a merge key
    "x: &scan {id: detect-secrets}\nrepos:\n- repo: local\n  hooks:\n  - <<: *scan\n    name: s\n",
])
def test_hooks_written_with_yaml_anchors_count(tmp_path: Path, text: str) -> None:
    assert secret_scanning_hooks(config(tmp_path, text)) == ["detect-secrets"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "repos:\n", "repos:\n- repo: local\n  hooks:\n"])
def test_an_empty_config_runs_no_scanner(tmp_path: Path, text: str) -> None:
    assert secret_scanning_hooks(config(tmp_path, text)) == []


def test_a_file_that_cannot_be_read_is_a_config_error_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    path = config(tmp_path, "repos: []\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(HookConfigError, match=r"^\.pre-commit-config\.yaml cannot be read: Permission"):
        secret_scanning_hooks(path)


@pytest.mark.parametrize("text", ["[" * 5_000 + "]" * 5_000, "a: " + "{b: " * 5_000 + "1" + "}" * 5_000])
def test_yaml_nested_too_deeply_is_a_config_error_not_a_crash(tmp_path: Path, text: str) -> None:
    with pytest.raises(HookConfigError, match=r"^\.pre-commit-config\.yaml is nested too deeply to read$"):
        secret_scanning_hooks(config(tmp_path, text))
