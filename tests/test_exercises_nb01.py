"""tutorial.exercises.nb01: the .gitignore check passes the reference and fails every wrong answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb01 import MUST_IGNORE, MUST_KEEP, SOLUTION, exercise, gitignore_problems


def reference() -> object:
    namespace: dict[str, object] = {}
    exec(SOLUTION, namespace)  # noqa: S102 - the package's own reference solution
    return namespace["my_gitignore"]


def test_the_reference_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(reference()) is True
    assert capsys.readouterr().out.startswith("✅ ")


# (answer, a problem the ❌ must name): the anti-patterns notebook 01 teaches against among them.
WRONG = {
    "stub": (..., NOT_DONE),
    "empty": ("", ".env is not ignored"),
    "the material's .env only": (".env\n", ".env.local is not ignored"),
    "the material's two lines": (".env\n.env.local\n", ".env.production is not ignored"),
    "ignore everything but templates": ("*\n!*.example\n", "app.py is ignored"),
    "ignore all, keep .py": ("*\n!*.py\n!*.example\n", "README.md is ignored"),
    "a wildcard that eats the template": (".env*\n", ".env.example is ignored"),
    "forgets .env itself": (".env.*\n!.env.example\n", ".env is not ignored"),
    "root only": ("/.env\n/.env.*\n!/.env.example\n", "config/.env is not ignored"),
    "too greedy": ("*env*\n!.env.example\n", "src/env.py is ignored"),
    "exception first": ("!.env.example\n.env\n.env.*\n", ".env.example is ignored"),
    "whole folders": ("config/\ndeploy/\n.env\n.env.*\n!.env.example\n", "config/settings.py is ignored"),
    "only the files shown": (".env\n.env.test\ndeploy/.env.production\n", ".env.local is not ignored"),
    "a list, not a string": ([".env", ".env.*", "!.env.example"], "should be a string"),
    "raises while written": (".env\n\ud800\n", "raised UnicodeEncodeError"),
    "the usual suffixes, listed": (".env\n.env.local\n.env.*.local\n.env.test\n.env.production\n"
                                   ".env.staging\n.env.development\n", "deploy/.env.prod is not ignored"),
    "folders named .env": (".env/\n.env.*/\n", ".env is not ignored"),
    "rules indented": ("  .env\n  .env.*\n  !.env.example\n", ".env is not ignored"),
    "bytes, not a string": (b".env\n.env.*\n!.env.example\n", "not a bytes"),
    "the template in subfolders lost": (".env\n.env.*\n!/.env.example\n", "deploy/.env.example is ignored"),
}

RIGHT = {
    "Windows line endings": ".env\r\n.env.*\r\n!.env.example\r\n",
    "one wildcard": ".env*\n!.env.example\n",
    "any depth, spelt out": "**/.env\n**/.env.*\n!**/.env.example\n",
    "with comments": "# secrets\n.env\n.env.*\n\n# templates are committed\n!.env.example\n",
}


@pytest.mark.parametrize("answer", RIGHT.values(), ids=RIGHT.keys())
def test_a_right_answer_written_differently_passes(answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(answer) is True, capsys.readouterr().out


@pytest.mark.parametrize("answer, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        answer: object, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed) -> None:
    assert_crossed(exercise, answer, problem, capsys)


def test_every_probe_file_is_asked_about() -> None:
    nothing_ignored = gitignore_problems("")
    assert len(nothing_ignored) == len(MUST_IGNORE)
    everything_ignored = gitignore_problems("*\n")
    assert len(everything_ignored) == len(MUST_KEEP)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([".env", ".env.*", "!.env.example", "*", "/.env", "config/", "*.py",
                                 "!app.py", ".env.local", "# comment", "deploy/", "**/.env"]), max_size=5))
def test_any_gitignore_is_judged_without_raising(lines: list[str]) -> None:
    problems = exercise.problems("\n".join(lines) + "\n")
    assert all(not problem.startswith("checking your answer raised") for problem in problems)
    # With these lines, passing takes `.env.*` with a `!.env.example` after it (git: the last rule wins).
    if not problems:
        assert lines.index(".env.*") < len(lines) - 1 - lines[::-1].index("!.env.example")
