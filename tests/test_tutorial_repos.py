"""Tests for tutorial.repos: notebook 06's throwaway repositories break exactly the rules the notebook
says they break, start afresh when built again, and run git with the throwaway identity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from helpers.checklist import run_checklist
from helpers.key_formats import fake_key
from tutorial.exercises.nb06 import exercise_repository
from tutorial.repos import install_scan_hook, leaked_then_deleted, leaky_project, notebook_with_output
from tutorial.scratch import git, git_environment

LEAKED = fake_key("openai-project", 42).replace("FAKE", "LEAK")  # a fake that the scans report


@pytest.fixture(autouse=True)
def isolated_git() -> Iterator[None]:
    """The checklist runs git itself: none of the machine's own git settings may count."""
    with mock.patch.dict(os.environ, git_environment()):
        yield


def failing(root: Path, mode: str = "tree") -> list[str]:
    return [result.title for result in run_checklist(root, mode=mode).results if not result.passed]


def test_the_leaky_project_fails_every_check_and_its_notebook_output_holds_the_key(tmp_path: Path) -> None:
    shop = leaky_project(tmp_path / "shop", LEAKED)
    report = run_checklist(shop)
    assert report.results and not any(result.passed for result in report.results)
    assert LEAKED not in report.table()
    keys_check = next(result for result in report.results if "no API keys" in result.title)
    assert any(detail.startswith("explore.ipynb:") for detail in keys_check.details)
    assert (shop / ".env").stat().st_mode & 0o777 == 0o644
    assert git("status", "--short", cwd=shop).stdout.split() == [
        "A", ".env", "A", "app.py", "A", "explore.ipynb"]


def test_the_notebook_is_valid_json_with_the_text_in_its_only_output() -> None:
    notebook = json.loads(json.dumps(notebook_with_output("hello")))
    (cell,) = notebook["cells"]
    assert cell["outputs"][0]["text"] == ["hello\n"]


def test_building_again_starts_afresh(tmp_path: Path) -> None:
    shop = leaky_project(tmp_path / "shop", LEAKED)
    (shop / "left-over.txt").write_text("from an earlier run\n")
    git("add", "left-over.txt", cwd=shop)
    leaky_project(shop, LEAKED)
    assert not (shop / "left-over.txt").exists()
    assert "left-over.txt" not in git("status", "--short", cwd=shop).stdout


def test_the_deleted_key_is_gone_from_the_tree_but_not_from_the_history(tmp_path: Path) -> None:
    drill = leaked_then_deleted(tmp_path / "drill", LEAKED)
    assert git("log", "--format=%s", cwd=drill).stdout.splitlines() == [
        "Read the key from the environment", "Add config"]
    assert LEAKED not in (drill / "config.py").read_text()
    assert "no API keys in tracked files (notebook outputs included)" not in failing(drill)
    assert failing(drill, mode="history") == ["no API keys anywhere in the history (every blob of every ref)"]
    assert git("status", "--porcelain", cwd=drill).stdout == ""


def test_the_same_repository_gets_the_same_commit_ids(tmp_path: Path) -> None:
    dates = {"GIT_AUTHOR_DATE": "2026-01-01 12:00Z", "GIT_COMMITTER_DATE": "2026-01-01 12:00Z"}
    with mock.patch.dict(os.environ, dates):
        first = git("rev-parse", "HEAD", cwd=leaked_then_deleted(tmp_path / "a", LEAKED)).stdout
        second = git("rev-parse", "HEAD", cwd=leaked_then_deleted(tmp_path / "b", LEAKED)).stdout
    assert first == second


def test_the_scan_hook_refuses_a_commit_with_a_key_and_lets_a_clean_one_through(tmp_path: Path) -> None:
    repository = tmp_path / "repository"
    repository.mkdir()
    git("init", "-q", cwd=repository)
    install_scan_hook(repository)
    (repository / "clean.py").write_text("import os\n\nKEY = os.environ['OPENAI_API_KEY']\n")
    git("add", "clean.py", cwd=repository)
    assert git("commit", "-q", "-m", "clean", cwd=repository).returncode == 0
    (repository / "leak.py").write_text(f'KEY = "{LEAKED}"\n')
    git("add", "leak.py", cwd=repository)
    refused = git("commit", "-q", "-m", "leak", cwd=repository)
    assert refused.returncode != 0
    assert "leak.py:1" in refused.stderr and LEAKED not in refused.stderr
    assert git("log", "--format=%s", cwd=repository).stdout.split() == ["clean"]


def test_the_exercise_repository_fails_the_three_checks_the_exercise_fixes(tmp_path: Path) -> None:
    repository = exercise_repository(tmp_path / "exercise")
    assert failing(repository) == [".env files are ignored by git",
                                   ".env.example lists every variable the code reads",
                                   ".env files are readable by their owner only"]
    assert git("status", "--short", cwd=repository).stdout.splitlines() == [
        "A  .env.example", "A  .gitignore", "A  .pre-commit-config.yaml", "A  worker.py", "?? .env"]
    (repository / "stray.txt").write_text("left over\n")
    exercise_repository(repository)
    assert not (repository / "stray.txt").exists()
