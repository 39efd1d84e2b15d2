"""tutorial.exercises.nb03: the ask_patiently check passes the reference and fails every wrong answer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.key_pool import KeyPool, NoHealthyKeyError, call_with_failover
from tutorial.exercises import NOT_DONE, Exercise
from tutorial.exercises.nb03 import SOLUTION, Scenario, exercise, judge


def define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"KeyPool": KeyPool, "NoHealthyKeyError": NoHealthyKeyError,
                                 "call_with_failover": call_with_failover, "time": time, "math": math}
    exec(source, namespace)  # noqa: S102 - answers written in this file
    return namespace["ask_patiently"]  # type: ignore[no-any-return]


def test_the_reference_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(SOLUTION)) is True
    assert capsys.readouterr().out.startswith("✅ ")


RIGHT_TEST = "err.retry_in is None or err.retry_in > max_wait"


def answer(give_up_when: str = RIGHT_TEST, wait: str = "wait(err.retry_in)",
           retry: str = "return call_with_failover(pool, fn)", catch: str = "NoHealthyKeyError") -> str:
    return f"""def ask_patiently(pool, fn, wait, max_wait=10.0):
    try:
        return call_with_failover(pool, fn)
    except {catch} as err:
        if {give_up_when}:
            raise
        {wait}
        {retry}
"""


WRONG = {
    "stub": ("def ask_patiently(pool, fn, wait, max_wait=10.0):\n    ...", NOT_DONE),
    "never waits": (answer(give_up_when="True"), "it waited not at all; expected 5 s"),
    "missed None check": (answer(give_up_when="err.retry_in > max_wait"),
                          "will not help): it should let NoHealthyKeyError propagate; it raised TypeError"),
    "strictly less than max_wait": (answer(give_up_when="err.retry_in is None or err.retry_in >= max_wait"),
                                    "exactly max_wait=10 s: it raised NoHealthyKeyError"),
    "0 taken for unknown": (answer(give_up_when="not err.retry_in or err.retry_in > max_wait"),
                            "Retry-After: 0 (retry_in is 0, not None: try again at once): it raised"),
    "waits max_wait, not retry_in": (answer(wait="wait(max_wait)"), "it waited 10 s; expected 5 s"),
    "loops until it works": ('''def ask_patiently(pool, fn, wait, max_wait=10.0):
    while True:
        try:
            return call_with_failover(pool, fn)
        except NoHealthyKeyError as err:
            if err.retry_in is None or err.retry_in > max_wait:
                raise
            wait(err.retry_in)''', "it kept trying"),
    "swallows the error": (answer(give_up_when="False", wait="return None"),
                           "it should let NoHealthyKeyError propagate"),
    "catches everything": (answer(catch="Exception"),
                           "must reach the caller as it is; it raised AttributeError"),
    "real sleep": (answer(wait="time.sleep(err.retry_in)"), "it called time.sleep"),
    "forgets to return": (answer(retry="call_with_failover(pool, fn)"),
                          "it should return what the successful call returned"),
    "calls fn itself": ('''def ask_patiently(pool, fn, wait, max_wait=10.0):
    return fn(pool.acquire())''', "it raised RateLimitError"),
    "wrong signature": ("def ask_patiently(pool, fn):\n    return call_with_failover(pool, fn)",
                        "raised TypeError: ask_patiently() got an unexpected keyword argument 'max_wait'"),
    "max_wait hard-coded to its default": (answer(give_up_when="err.retry_in is None or err.retry_in > 10"),
                                           "for 6 s, max_wait=5: it should let NoHealthyKeyError"),
    "max_wait hard-coded, a longer limit": (answer(give_up_when="err.retry_in is None or err.retry_in > 10"),
                                            "for 15 s, max_wait=20: it raised NoHealthyKeyError"),
    "rounds the wait up": (answer(wait="wait(math.ceil(err.retry_in))"), "it waited 8 s; expected 7.5 s"),
    "a fixed wait": (answer(wait="wait(5)"), "it waited 5 s; expected 7.5 s"),
    "retries one key by hand": (answer(retry="return fn(pool.acquire())"),
                                "still rate-limited after the 5 s wait: it should let NoHealthyKeyError "
                                "propagate; it raised RateLimitError"),
    "raises an error of its own": (answer(give_up_when="False", wait='raise RuntimeError("no key now")'),
                                   "it raised RuntimeError: no key now; it should wait, then succeed"),
    "right only the first time": ("""WAITED = []
def ask_patiently(pool, fn, wait, max_wait=10.0):
    try:
        return call_with_failover(pool, fn)
    except NoHealthyKeyError as err:
        if WAITED or err.retry_in is None or err.retry_in > max_wait:
            raise
        WAITED.append(err.retry_in)
        wait(err.retry_in)
        return call_with_failover(pool, fn)""", "max_wait=8: it raised NoHealthyKeyError"),
    "raise NotImplementedError": (
        "def ask_patiently(pool, fn, wait, max_wait=10.0):\n    raise NotImplementedError", NOT_DONE),
}


@pytest.mark.parametrize("source, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        source: str, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed) -> None:
    started = time.monotonic()
    assert_crossed(exercise, define(source), problem, capsys)
    assert time.monotonic() - started < 5  # nothing really waited


def test_not_a_function_is_a_cross(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(42) is False
    assert "should be a function" in capsys.readouterr().out


@settings(max_examples=40, deadline=None)
# Quarter seconds: exact in binary, so retry_in (a difference of clock readings) equals Retry-After
# and a wait exactly as long as max_wait is judged as such.
@given(retry_after=st.integers(0, 240).map(lambda quarters: quarters / 4),
       max_wait=st.integers(0, 240).map(lambda quarters: quarters / 4), keys=st.integers(1, 2))
def test_the_reference_behaves_in_any_rate_limit_scenario_and_a_never_waiting_answer_only_when_it_should(
        retry_after: float, max_wait: float, keys: int) -> None:
    waits = retry_after <= max_wait
    scenario = Scenario(f"{keys} keys rate-limited for {retry_after} s, max_wait={max_wait}",
                        (("rate_limited", "ok"),) * keys, retry_after, max_wait,
                        (retry_after,) if waits else (), keys + waits, gives_up=not waits)
    assert judge(scenario, define(SOLUTION)) == []
    assert (judge(scenario, define(answer(give_up_when="True"))) == []) is (not waits)


def test_a_loop_whose_bare_except_swallows_every_stop_is_still_stopped_and_reported(
        capsys: pytest.CaptureFixture[str]) -> None:
    spins = define('''def ask_patiently(pool, fn, wait, max_wait=10.0):
    while True:
        try:
            return call_with_failover(pool, fn)
        except:
            pass''')
    quick = Exercise(exercise.title, exercise.checker, exercise.hint_text, exercise.solution_code,
                     time_limit=0.5)
    assert quick.check(spins) is False
    assert "took more than 0.5 s: is there an endless loop?" in capsys.readouterr().out


def test_a_right_answer_written_differently_passes(capsys: pytest.CaptureFixture[str]) -> None:
    loop_once = define('''def ask_patiently(pool, fn, wait, max_wait=10.0):
    for attempt in range(2):
        try:
            return call_with_failover(pool, fn)
        except NoHealthyKeyError as err:
            known = err.retry_in is not None
            if attempt == 1 or not known or err.retry_in > max_wait:
                raise
            wait(err.retry_in)''')
    assert exercise.check(loop_once) is True, capsys.readouterr().out
