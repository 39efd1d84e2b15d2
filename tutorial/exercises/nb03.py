"""Notebook 03's exercise: ``ask_patiently(pool, fn, wait, max_wait)``, which waits for a cooling key
once, when the wait is known and short enough, and otherwise gives up.

The check runs the learner's function against the fake provider in scenarios the notebook does not
show, and counts: the requests each scenario makes, the waits and their lengths. A wait exactly as
long as ``max_wait``, a wait of 0 s (falsy, but known), a ``max_wait`` below and above the default
10 s (an answer that ignores the argument fails), one key or two, revoked keys (``retry_in``
is None), a key still rate-limited after the wait, an error that is not about the key; a loop that
never gives up is stopped and reported, and so is a real ``time.sleep``.

Needs: exercises/__init__.py, clock.py, helpers/key_pool.py, helpers/mock_provider.py,
helpers/key_formats.py; openai.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from helpers.key_formats import fake_key
from helpers.key_pool import KeyPool, NoHealthyKeyError
from helpers.mock_provider import FakeProvider
from tutorial.clock import FakeClock
from tutorial.exercises import Exercise, describe_error

__all__ = ["SCENARIOS", "SOLUTION", "Scenario", "exercise", "judge", "patience_problems"]

SOLUTION = '''def ask_patiently(pool: KeyPool, fn, wait, max_wait: float = 10.0):
    try:
        return call_with_failover(pool, fn)
    except NoHealthyKeyError as err:
        if err.retry_in is None or err.retry_in > max_wait:
            raise
        wait(err.retry_in)
        return call_with_failover(pool, fn)'''

HINT = ("Wrap `call_with_failover(pool, fn)` in `try`/`except NoHealthyKeyError as err`. "
        "`err.retry_in` is None when waiting will not help. Wait with the `wait` you are given, "
        "at most once, then try once more and return what that call returns.")

KEYS = tuple(fake_key("openai-project", seed) for seed in (40, 41))
MAX_REQUESTS = 20  # more than any right answer makes: a loop that never gives up is stopped here
MAX_WAITS = 3


class _Runaway(BaseException):
    """Stops a learner's loop; a BaseException, so ``except Exception`` cannot swallow it."""


class _RealSleep(BaseException):
    """The learner called ``time.sleep`` instead of the ``wait`` it was given."""


class _NotAboutTheKey(Exception):
    """Stands for an error that is not the key's fault (a 400, say): it must reach the caller."""


@dataclass(frozen=True)
class Scenario:
    """One situation for ``ask_patiently``, and what a right answer does in it."""

    story: str
    behaviours: tuple[str | tuple[str, ...], ...]  # one per key
    retry_after: float
    max_wait: float
    waits: tuple[float, ...]  # the waits a right answer makes
    requests: int  # the requests it sends
    gives_up: bool  # True: it raises NoHealthyKeyError
    fails_first: bool = False  # fn raises an error that is not about the key, before any request


SCENARIOS = (
    Scenario("both keys rate-limited for 5 s, max_wait=10", (("rate_limited", "ok"),) * 2, 5, 10,
             (5,), 3, gives_up=False),
    Scenario("one key rate-limited for 7.5 s, max_wait=8", (("rate_limited", "ok"),), 7.5, 8,
             (7.5,), 2, gives_up=False),
    Scenario("both keys rate-limited for exactly max_wait=10 s", (("rate_limited", "ok"),) * 2, 10, 10,
             (10,), 3, gives_up=False),
    Scenario("both keys rate-limited with Retry-After: 0 (retry_in is 0, not None: try again at once)",
             (("rate_limited", "ok"),) * 2, 0, 10, (0,), 3, gives_up=False),
    Scenario("both keys rate-limited for 30 s, max_wait=10", (("rate_limited", "ok"),) * 2, 30, 10,
             (), 2, gives_up=True),
    Scenario("one key rate-limited for 6 s, max_wait=5", (("rate_limited", "ok"),), 6, 5,
             (), 1, gives_up=True),
    Scenario("both keys rate-limited for 15 s, max_wait=20", (("rate_limited", "ok"),) * 2, 15, 20,
             (15,), 3, gives_up=False),
    Scenario("both keys revoked (retry_in is None: waiting will not help)", ("invalid",) * 2, 5, 10,
             (), 2, gives_up=True),
    Scenario("both keys still rate-limited after the 5 s wait", ("rate_limited",) * 2, 5, 10,
             (5,), 4, gives_up=True),
    Scenario("an error that is not about the key (a 400)", ("ok",) * 2, 5, 10, (), 0, gives_up=False,
             fails_first=True),
)


@dataclass
class _Run:
    """What one scenario saw: the waits, the requests, what came back or was raised."""

    waits: list[float] = field(default_factory=list)
    returned: list[object] = field(default_factory=list)
    outcome: object = None
    raised: BaseException | None = None


def patience_problems(ask_patiently: object) -> list[str]:
    """What goes wrong when `ask_patiently` meets each of `SCENARIOS` (empty when nothing does)."""
    if not callable(ask_patiently):
        return [f"ask_patiently should be a function, not a {type(ask_patiently).__name__}"]
    with _quiet_pool_log():
        return [problem for scenario in SCENARIOS for problem in judge(scenario, ask_patiently)]


def judge(scenario: Scenario, ask_patiently: Callable[..., Any]) -> list[str]:
    """The problems `ask_patiently` shows in one `scenario` (empty when it behaves)."""
    run, provider = _play(scenario, ask_patiently)
    where = f"with {scenario.story}:"
    if isinstance(run.raised, _Runaway):
        return [f"{where} it kept trying ({len(run.waits)} waits, {len(provider.requests)} requests): "
                "wait at most once, then try once more and stop"]
    if isinstance(run.raised, _RealSleep):
        return [f"{where} it called time.sleep: wait with the `wait` function you are given"]
    problems = _outcome_problems(scenario, run, where)
    if not _same_waits(run.waits, scenario.waits):
        problems.append(f"{where} it waited {_seconds(run.waits)}; expected {_seconds(scenario.waits)}")
    if len(provider.requests) != scenario.requests:
        problems.append(f"{where} it sent {len(provider.requests)} requests; expected {scenario.requests}")
    return problems


def _outcome_problems(scenario: Scenario, run: _Run, where: str) -> list[str]:
    if scenario.fails_first:
        if isinstance(run.raised, _NotAboutTheKey):
            return []
        got = "nothing" if run.raised is None else describe_error(run.raised)
        return [f"{where} that error must reach the caller as it is; it raised {got}"]
    if scenario.gives_up:
        if isinstance(run.raised, NoHealthyKeyError):
            return []
        got = "returned normally" if run.raised is None else f"raised {describe_error(run.raised)}"
        return [f"{where} it should let NoHealthyKeyError propagate; it {got}"]
    if run.raised is not None:
        return [f"{where} it raised {describe_error(run.raised)}; it should wait, then succeed"]
    if not run.returned or run.outcome is not run.returned[-1]:
        return [f"{where} it should return what the successful call returned; it returned {run.outcome!r}"]
    return []


def _play(scenario: Scenario, ask_patiently: Callable[..., Any]) -> tuple[_Run, FakeProvider]:
    clock, run = FakeClock(), _Run()
    keys = KEYS[:len(scenario.behaviours)]
    behaviours = dict(zip(keys, scenario.behaviours, strict=True))
    provider = FakeProvider(behaviours, retry_after=scenario.retry_after)
    client = provider.client(keys[0])

    def fn(key: str) -> object:
        if scenario.fails_first:
            raise _NotAboutTheKey("400 Bad Request: not the key's fault")
        if len(provider.requests) >= MAX_REQUESTS:
            raise _Runaway
        result = client.with_options(api_key=key).models.list()
        run.returned.append(result)
        return result

    def wait(seconds: float) -> None:
        run.waits.append(seconds)
        if len(run.waits) > MAX_WAITS:
            raise _Runaway
        clock.advance(seconds)

    def real_sleep(seconds: float) -> None:
        raise _RealSleep

    pool = KeyPool(keys, clock=clock)
    try:
        with mock.patch("time.sleep", real_sleep):
            run.outcome = ask_patiently(pool, fn, wait, max_wait=scenario.max_wait)
    except (Exception, _Runaway, _RealSleep) as error:  # noqa: BLE001 - each is judged above
        run.raised = error
    return run, provider


def _same_waits(waited: list[float], expected: tuple[float, ...]) -> bool:
    """Equal up to float rounding (``retry_in`` is a difference of clock readings)."""
    return len(waited) == len(expected) and all(
        isinstance(seconds, int | float) and math.isclose(seconds, wanted, abs_tol=1e-6)
        for seconds, wanted in zip(waited, expected, strict=True))


def _seconds(waits: list[float] | tuple[float, ...]) -> str:
    shown = [f"{seconds:g} s" if isinstance(seconds, int | float) else repr(seconds) for seconds in waits]
    return " then ".join(shown) or "not at all"


@contextmanager
def _quiet_pool_log() -> Iterator[None]:
    """The scenarios retire keys on purpose: no log lines from the pool while they run."""
    pool_log = logging.getLogger("helpers.key_pool")
    before, pool_log.disabled = pool_log.disabled, True
    try:
        yield
    finally:
        pool_log.disabled = before


exercise = Exercise("ask_patiently", patience_problems, HINT, SOLUTION)
