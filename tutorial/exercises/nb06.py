"""Notebook 06's exercise: ``fix(project)``, which makes a repository pass the checklist's three
failing checks (``.env`` files ignored, private, and a complete ``.env.example``) without breaking
anything else.

The check runs the learner's function on two fresh repositories: one like the notebook's, and one
it does not show, with other variables, a ``.env.local``, a ``.env`` in a subfolder and a
``.gitignore`` whose last line has no newline. After the fix the whole checklist must pass, and,
beyond it: the ``.env`` files keep their content and stay readable by their owner, the template
holds no value from them, the code and the template stay trackable, the old ignore rules still work.

Needs: exercises/__init__.py, scratch.py, helpers/checklist.py, helpers/key_formats.py; python-dotenv; git.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from dotenv import dotenv_values

from helpers.checklist import run_checklist
from helpers.key_formats import fake_key
from tutorial.exercises import Exercise, process_put_back
from tutorial.scratch import git_environment

__all__ = ["SOLUTION", "exercise", "exercise_repository", "fix_problems"]

SOLUTION = '''from helpers.env_files import env_drift


def fix(project: Path) -> None:
    """Make git ignore every .env file, make them private, and complete the template."""
    with (project / ".gitignore").open("a") as rules:
        rules.write("\\n.env\\n.env.*\\n!.env.example\\n")  # the first \\n ends a last line without one
    for env_file in project.rglob(".env*"):  # in every folder: services/api/.env too
        if env_file.name != ".env.example" and ".git" not in env_file.parts:
            env_file.chmod(0o600)
    missing = env_drift(project / ".env", project / ".env.example").missing_from_example
    with (project / ".env.example").open("a") as template:
        template.writelines(f"{name}=\\n" for name in missing)'''

HINT = ("Three fixes, each for any project, not only this one: add `.env`, `.env.*` and `!.env.example` "
        "to .gitignore (append: keep the rules already there); `chmod` every .env file, in every folder, "
        "to 0o600; add a "
        "`NAME=` line to .env.example for each name of .env it lacks (`helpers.env_files.env_drift` "
        "finds them), never the values.")


@dataclass(frozen=True)
class _Repo:
    """A repository for the check: its files, which to commit, which must stay ignored or trackable."""

    story: str
    files: dict[str, str]
    tracked: tuple[str, ...]
    still_ignored: tuple[str, ...] = ()


_PRE_COMMIT = ("repos:\n  - repo: https://github.com/gitleaks/gitleaks\n    rev: v8.24.0\n"
               "    hooks:\n      - id: gitleaks\n")
_DB_PASSWORD = "FAKE-db-password-61"
REPOS = (
    _Repo("the notebook's repository", {
        ".gitignore": ".env.local\n",
        ".env": "LLM_TIMEOUT=30\n",
        ".env.example": "OPENAI_API_KEY=your-openai-api-key-here\n",
        "worker.py": 'import os\n\nKEY = os.environ["OPENAI_API_KEY"]\n'
                     'TIMEOUT = float(os.getenv("LLM_TIMEOUT", "30"))\n',
        ".pre-commit-config.yaml": _PRE_COMMIT,
    }, tracked=("worker.py", ".gitignore", ".env.example", ".pre-commit-config.yaml")),
    _Repo("another repository (a .env.local, services/api/.env, other variables)", {
        ".gitignore": "__pycache__/",  # no newline at the end, as editors sometimes leave it
        ".env": f"OPENAI_API_KEY={fake_key('openai-project', 61)}\nDB_PASSWORD={_DB_PASSWORD}\n"
                "REDIS_URL=redis://localhost:6379/0\n",
        ".env.local": f"OPENAI_API_KEY={fake_key('openai-project', 62)}\n",
        "services/api/.env": f"ANTHROPIC_API_KEY={fake_key('anthropic', 61)}\n",
        "services/api/handler.py": 'def handle(request):\n    return {"ok": True}\n',
        ".env.example": "# the app's settings\nOPENAI_API_KEY=\n",
        "app/main.py": 'import os\n\nDB = os.environ["DB_PASSWORD"]\nCACHE = os.getenv("REDIS_URL")\n'
                       'KEY = os.environ.get("OPENAI_API_KEY")\n',
        "app/__pycache__/main.cpython-311.pyc": "compiled\n",
        ".pre-commit-config.yaml": _PRE_COMMIT,
    }, tracked=("app/main.py", "services/api/handler.py", ".gitignore", ".env.example",
                ".pre-commit-config.yaml"),
        still_ignored=("app/__pycache__/main.cpython-311.pyc",)),
)


def fix_problems(fix: object) -> list[str]:
    """What is still wrong in each repository of `REPOS` after `fix` ran on it (empty when nothing)."""
    if not callable(fix):
        return [f"fix should be a function, not a {type(fix).__name__}"]
    problems: list[str] = []
    with _isolated_git():
        for repo in REPOS:
            problems += _judge(repo, fix)
    return problems


def exercise_repository(folder: Path) -> Path:
    """The notebook's repository for the exercise, built afresh at `folder` (whatever was there goes):
    ``worker.py``, ``.env``, ``.env.example``, ``.gitignore`` and a hook configuration, all but ``.env``
    staged. Three checks of the checklist fail on it; `fix_problems` builds the same one to judge."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with _isolated_git():
        _build(folder, REPOS[0])
    return folder


def _judge(repo: _Repo, fix: Callable[[Path], object]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="checklist-exercise-", ignore_cleanup_errors=True) as folder:
        root = Path(folder)
        _build(root, repo)
        changed: list[str] = []
        with process_put_back(changed):  # an os.chdir or a GIT_DIR left behind would mislead git below
            fix(root)
        where = f"in {repo.story}:"
        failed = [f"{where} the check {result.title!r} fails ({'; '.join(result.details)})"
                  for result in run_checklist(root).results if not result.passed]
        beyond = _beyond_the_checklist(root, repo)
        return failed + [f"{where} {problem}" for problem in [*beyond, *changed]]


def _beyond_the_checklist(root: Path, repo: _Repo) -> list[str]:
    problems = []
    env_files = [name for name in repo.files if Path(name).name.startswith(".env") and name != ".env.example"]
    for name in env_files:
        path = root / name
        if not path.is_file():
            problems.append(f"{name} was removed: keep your secrets, fix what is around them")
        elif not path.stat().st_mode & 0o400:  # checked first: reading it would fail (unless you are root)
            problems.append(f"{name} is no longer readable by its owner: the app could not load it")
        elif path.stat().st_mode & 0o077:  # also where the checklist does not look (a folder git ignores)
            problems.append(f"{name} is still open to group or others: chmod each .env file, in every folder")
        elif path.read_text() != repo.files[name]:
            problems.append(f"{name} was changed: keep your secrets, fix what is around them")
    template = (root / ".env.example").read_text() if (root / ".env.example").is_file() else ""
    values = {value for name in env_files for value in _values(repo.files[name]) if len(value) >= 8}
    if any(value in template for value in values):
        problems.append(".env.example holds a value from a .env file: a template gets names, never values")
    ignored = _ignored(root, [*repo.tracked, *repo.still_ignored])
    problems += [f"{name} is ignored now: it must stay trackable" for name in repo.tracked if name in ignored]
    problems += [f"{name} is no longer ignored: keep the .gitignore's rules that were there (its last line "
                 "may lack a newline: text appended right after it joins that rule)"
                 for name in repo.still_ignored if name not in ignored]
    return problems


def _values(env_text: str) -> list[str]:
    parsed = dotenv_values(stream=io.StringIO(env_text), interpolate=False)
    return [value for value in parsed.values() if value]


def _build(root: Path, repo: _Repo) -> None:
    _git(root, "init", "-q")
    for name, text in repo.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        (root / name).chmod(0o644)
    _git(root, "add", "--", *repo.tracked)


def _ignored(root: Path, names: list[str]) -> set[str]:
    return set(_git(root, "check-ignore", "--no-index", "--", *names).stdout.splitlines())


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


@contextmanager
def _isolated_git() -> Iterator[None]:
    """git, for the checklist too, with none of your own settings (a global excludes file, say)."""
    settings = {**git_environment(), "GIT_CONFIG_COUNT": "4", "GIT_CONFIG_KEY_3": "core.excludesFile",
                "GIT_CONFIG_VALUE_3": os.devnull}
    with mock.patch.dict(os.environ, settings):
        yield


exercise = Exercise("fix", fix_problems, HINT, SOLUTION)
