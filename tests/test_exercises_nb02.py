"""tutorial.exercises.nb02: the teammate's .env check passes the reference and fails every wrong answer."""

from __future__ import annotations

import os

import pytest

from helpers.key_formats import fake_key
from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb02 import BROKEN_ENV, EXERCISE_KEY, SOLUTION, exercise

KEY = EXERCISE_KEY


def reference() -> object:
    namespace: dict[str, object] = {"EXERCISE_KEY": EXERCISE_KEY}
    exec(SOLUTION, namespace)  # noqa: S102 - the package's own reference solution
    return namespace["fixed_env"]


def test_the_reference_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(reference()) is True
    assert capsys.readouterr().out.startswith("✅ ")


def test_your_own_environment_neither_helps_nor_hurts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"OPENAI_API_KEY": KEY, "MAX_TOKENS": "2000", "TEMPERATURE": "1.5",
                        "APP_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    assert exercise.problems(reference()) == []
    assert exercise.problems(f"OPENAI_API_KEY={KEY}\n") != []
    assert os.environ["APP_ENV"] == "prod"  # put back after the check


FIXED = f"OPENAI_API_KEY={KEY}\nMAX_TOKENS=2000\nTEMPERATURE=1.5\nTUTORIAL_PROVIDER=mock\n"
WRONG = {
    "stub": (..., NOT_DONE),
    "unchanged": (BROKEN_ENV, "with APP_ENV=dev, MAX_TOKENS: Input should be a valid integer"),
    "key in quotes": (FIXED.replace(KEY, f"'{KEY}'"), "docker run --env-file"),
    "key with a space after it": (FIXED.replace(KEY, f"{KEY} "), "docker run --env-file"),
    "export prefix": ("export " + FIXED, "docker run --env-file"),
    "lines left to their defaults": (f"OPENAI_API_KEY={KEY}\nTEMPERATURE=1.5\n",
                                     "MAX_TOKENS is no longer set"),
    "k dropped": (FIXED.replace("2000", "2"), "MAX_TOKENS loads as 2"),
    "comma dropped": (FIXED.replace("1.5", "15"), "TEMPERATURE: Input should be less than or equal to 2"),
    "rounded temperature": (FIXED.replace("1.5", "1"), "TEMPERATURE loads as 1.0"),
    "another key": (FIXED.replace(KEY, fake_key("openai-project", 8)), "a different key"),
    "switched to prod": (FIXED + "APP_ENV=prod\n", "APP_ENV: is set to prod in .env, but prod reads no .env"),
    "live provider": (FIXED.replace("=mock", "=live"), "TUTORIAL_PROVIDER loads as 'live'"),
    "a dict, not a .env": ({"OPENAI_API_KEY": KEY}, "should be a string"),
    "raises while written": (FIXED + "\ud800\n", "raised UnicodeEncodeError"),
    "key in double quotes": (FIXED.replace(KEY, f'"{KEY}"'), "docker run --env-file"),
    "a comment after the key": (FIXED.replace(KEY, f"{KEY} # the teammate's"), "docker run --env-file"),
    "spaces around =": (FIXED.replace("OPENAI_API_KEY=", "OPENAI_API_KEY = "), "docker run --env-file"),
    "the key from another variable": (f"TEAM_KEY={KEY}\n" + FIXED.replace(f"={KEY}", "=${TEAM_KEY}"),
                                      "docker run --env-file"),
    "provider in capitals": (FIXED.replace("=mock", "=MOCK"),
                             "TUTORIAL_PROVIDER: Input should be 'mock' or 'live'"),
    "variable names in lower case": (FIXED.replace("OPENAI_API_KEY", "openai_api_key"),
                                     "OPENAI_API_KEY is no longer set in the file"),
}

RIGHT = {
    "Windows line endings": FIXED.replace("\n", "\r\n"),
    "no newline at the end": FIXED.rstrip("\n"),
    "reordered, with comments": f"# fixed\nTUTORIAL_PROVIDER=mock\nTEMPERATURE=1.50\nMAX_TOKENS=2_000\n"
                                f"OPENAI_API_KEY={KEY}\n",
}


@pytest.mark.parametrize("answer", RIGHT.values(), ids=RIGHT.keys())
def test_a_right_answer_written_differently_passes(answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(answer) is True, capsys.readouterr().out


@pytest.mark.parametrize("answer, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        answer: object, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed) -> None:
    shown = assert_crossed(exercise, answer, problem, capsys)
    assert KEY not in shown  # a problem names a key by its fingerprint
