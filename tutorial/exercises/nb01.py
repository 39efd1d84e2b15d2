"""Notebook 01's exercise: a ``.gitignore`` that ignores every file of secrets and nothing else.

The check builds a fresh git repository around the learner's rules and asks git itself, about
files the notebook names and files it does not: secret files in other folders and with other
suffixes (``config/.env``, ``.env.production``) must be ignored; templates and ordinary source files
(``app.py``, ``config/settings.py``) must stay trackable, so an ignore-everything answer fails.

Needs: exercises/__init__.py, scratch.py; git on PATH.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from tutorial.exercises import Exercise
from tutorial.scratch import git_environment

__all__ = ["MUST_IGNORE", "MUST_KEEP", "SOLUTION", "exercise", "gitignore_problems"]

MUST_IGNORE = (".env", ".env.local", ".env.test", ".env.production", ".env.staging",
               ".env.development.local", "config/.env", "deploy/.env.production", "deploy/.env.prod",
               "services/api/.env.local")
MUST_KEEP = (".env.example", "deploy/.env.example", "app.py", "config/settings.py", "src/env.py",
             "docs/environment.md", "README.md", ".gitignore")

SOLUTION = """my_gitignore = '''
.env
.env.*
!.env.example
'''"""

HINT = ("Which files hold secrets? `.env` and every `.env.<something>`, in any folder: a rule "
        "without a slash matches at every depth. A later `!` rule takes a file back, and the last "
        "matching rule wins. Ignoring everything (`*`) is no answer: your code must stay trackable.")


def gitignore_problems(rules: object) -> list[str]:
    """What git gets wrong with `rules` as the project's ``.gitignore`` (empty when all is right)."""
    if not isinstance(rules, str):
        kind = type(rules).__name__
        return [f"my_gitignore should be a string holding the .gitignore's lines, not a {kind}"]
    with tempfile.TemporaryDirectory(prefix="gitignore-exercise-", ignore_cleanup_errors=True) as folder:
        ignored = _ignored_by_git(Path(folder), rules)
    problems = [f"{name} is not ignored: git would let you commit this file of secrets"
                for name in MUST_IGNORE if name not in ignored]
    problems += [f"{name} is ignored: git would never commit it, and it must be committed"
                 for name in MUST_KEEP if name in ignored]
    return problems


def _ignored_by_git(repo: Path, rules: str) -> set[str]:
    """Which of the probe files git ignores in a new repository whose ``.gitignore`` is `rules`."""
    _run_git(repo, "init", "-q")
    for name in (*MUST_IGNORE, *MUST_KEEP):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("probe\n")
    (repo / ".gitignore").write_text(rules)
    done = _run_git(repo, "check-ignore", "--", *MUST_IGNORE, *MUST_KEEP)
    if done.returncode not in (0, 1):  # 1: nothing is ignored
        raise RuntimeError(f"git check-ignore failed: {done.stderr.strip()}")
    return set(done.stdout.splitlines())


def _run_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Your own global excludes file must not change git's answer.
    command = ["git", "-c", f"core.excludesFile={os.devnull}", *args]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False,
                          env={**os.environ, **git_environment()})


exercise = Exercise("a .gitignore for secrets", gitignore_problems, HINT, SOLUTION)
