"""tutorial.exercises.nb06: the fix(project) check passes the reference and fails every wrong answer,
on a repository the learner never saw as well as on the notebook's."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values

from helpers.env_files import env_drift
from helpers.key_formats import fake_key
from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb06 import SOLUTION, exercise


def define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"Path": Path, "shutil": shutil, "env_drift": env_drift, "os": os,
                                 "subprocess": subprocess, "dotenv_values": dotenv_values,
                                 "KEY": fake_key("openai-project", 97).replace("FAKE", "REAL")}
    exec(source, namespace)  # noqa: S102 - answers written in this file
    return namespace["fix"]  # type: ignore[no-any-return]


def test_the_reference_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(SOLUTION)) is True
    assert capsys.readouterr().out.startswith("✅ ")


def test_your_own_global_gitignore_does_not_change_the_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    excludes = tmp_path / "ignore"
    excludes.write_text(".env*\n*.py\n")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.excludesFile")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(excludes))
    assert exercise.problems(define(SOLUTION)) == []


GOOD_IGNORE = '(project / ".gitignore").open("a").write("\\n.env\\n.env.*\\n!.env.example\\n")'
GOOD_CHMOD = '[p.chmod(0o600) for p in project.glob(".env*") if p.name != ".env.example"]'
EVERY_CHMOD = ('[p.chmod(0o600) for p in project.rglob(".env*") '
               'if p.name != ".env.example" and ".git" not in p.parts]')
GOOD_TEMPLATE = ('(project / ".env.example").open("a").writelines(f"{n}=\\n" for n in '
                 'env_drift(project / ".env", project / ".env.example").missing_from_example)')


def answer(*lines: str) -> str:
    return "def fix(project):\n" + "".join(f"    {line}\n" for line in lines)


WRONG = {
    "stub": ("def fix(project: Path) -> None:\n    ...", NOT_DONE),
    "the notebook's repository only": (answer(
        '(project / ".gitignore").write_text(".env\\n.env.*\\n!.env.example\\n")',
        '(project / ".env").chmod(0o600)',
        '(project / ".env.example").open("a").write("LLM_TIMEOUT=30\\n")'),
        "__pycache__/main.cpython-311.pyc is no longer ignored"),
    "copies .env into the template": (answer(
        GOOD_IGNORE, GOOD_CHMOD, 'shutil.copy(project / ".env", project / ".env.example")'),
        "OPENAI_API_KEY is missing"),
    "copies values into the template": (answer(
        GOOD_IGNORE, GOOD_CHMOD,
        '(project / ".env.example").open("a").write((project / ".env").read_text())'),
        ".env.example holds a value from a .env file"),
    "ignores everything": (answer(
        '(project / ".gitignore").write_text("*\\n!.env.example\\n")', GOOD_CHMOD, GOOD_TEMPLATE),
        "worker.py is ignored now"),
    "root-only rules": (answer(
        '(project / ".gitignore").open("a").write("\\n/.env\\n/.env.*\\n!/.env.example\\n")',
        GOOD_CHMOD, GOOD_TEMPLATE), "services/api/.env is not ignored"),
    "appends after a line with no newline": (answer(
        '(project / ".gitignore").open("a").write(".env\\n.env.*\\n!.env.example\\n")',
        GOOD_CHMOD, GOOD_TEMPLATE),
        "__pycache__/main.cpython-311.pyc is no longer ignored"),
    "locks the owner out": (answer(
        GOOD_IGNORE, '[p.chmod(0o000) for p in project.glob(".env*") if p.name != ".env.example"]',
        GOOD_TEMPLATE), ".env is no longer readable by its owner"),
    "deletes the secrets": (answer(
        GOOD_IGNORE, GOOD_TEMPLATE,
        '[p.unlink() for p in project.glob(".env*") if p.name != ".env.example"]'),
        ".env was removed"),
    "only .env private": (answer(GOOD_IGNORE, '(project / ".env").chmod(0o600)', GOOD_TEMPLATE),
                          ".env.local is open to group or others"),
    "raises with a key": (answer('raise PermissionError(f"cannot write with {KEY}")'),
                          "raised PermissionError: cannot write with [REDACTED"),
    "empties the secrets": (answer(GOOD_IGNORE, GOOD_CHMOD, GOOD_TEMPLATE,
                                   '(project / ".env").write_text("")'), ".env was changed"),
    "not a function": ("fix = 'chmod 600 .env'", "should be a function"),
    "chmod in the top folder only": (answer(GOOD_IGNORE, GOOD_CHMOD, GOOD_TEMPLATE),
                                     "services/api/.env is still open to group or others"),
    "a whole folder ignored to hide its .env": (answer(
        GOOD_IGNORE, '(project / ".gitignore").open("a").write("services/\\n")', GOOD_CHMOD, GOOD_TEMPLATE),
        "services/api/handler.py is ignored now"),
    "a template of .env's names only": (answer(
        GOOD_IGNORE, EVERY_CHMOD,
        '(project / ".env.example").write_text('
        '"".join(f"{n}=\\n" for n in dotenv_values(project / ".env")))'),
        "OPENAI_API_KEY is missing (read at worker.py:3)"),
    "prints the secrets": (answer(GOOD_IGNORE, EVERY_CHMOD, GOOD_TEMPLATE,
                                  'print((project / ".env").read_text())'),
                           "your answer printed or logged a key (redacted above)"),
    "moves into the project": (answer(
        "os.chdir(project)", 'open(".gitignore", "a").write("\\n.env\\n.env.*\\n!.env.example\\n")',
        EVERY_CHMOD, GOOD_TEMPLATE), "your answer changed the working directory (os.chdir)"),
    "leaves GIT_DIR set": (answer(
        'os.environ["GIT_DIR"] = str(project / ".git")', GOOD_IGNORE, EVERY_CHMOD, GOOD_TEMPLATE),
        "your answer changed os.environ (GIT_DIR)"),
    "raise NotImplementedError": (answer("raise NotImplementedError"), NOT_DONE),
    "a private umask for the whole notebook": (answer(
        "os.umask(0o077)", GOOD_IGNORE, EVERY_CHMOD, GOOD_TEMPLATE),
        "your answer changed the umask (os.umask)"),
}

RIGHT = {
    "read-only for the owner": answer(GOOD_IGNORE, EVERY_CHMOD.replace("0o600", "0o400"), GOOD_TEMPLATE),
    "one wildcard rule": answer('(project / ".gitignore").open("a").write("\\n.env*\\n!.env.example\\n")',
                                EVERY_CHMOD, GOOD_TEMPLATE),
    "placeholders in the template": answer(GOOD_IGNORE, EVERY_CHMOD, (
        '(project / ".env.example").open("a").writelines(f"{n}=change-me\\n" for n in '
        'env_drift(project / ".env", project / ".env.example").missing_from_example)')),
    "and a commit": answer(GOOD_IGNORE, EVERY_CHMOD, GOOD_TEMPLATE,
                           'subprocess.run(["git", "commit", "-qm", "fix"], cwd=project, check=True)'),
}


@pytest.mark.parametrize("source", RIGHT.values(), ids=RIGHT.keys())
def test_a_right_answer_written_differently_passes(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(source)) is True, capsys.readouterr().out


@pytest.mark.parametrize("source, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        source: str, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed) -> None:
    assert_crossed(exercise, define(source), problem, capsys)
