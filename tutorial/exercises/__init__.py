"""Exercises for the notebooks, in the style of Kaggle Learn's ``learntools``.

Each notebook imports one `Exercise` (``from tutorial.exercises.nb05 import exercise``); the learner
fills in a stub, then runs ``exercise.check(answer)``, and may ask for ``exercise.hint()`` or
``exercise.solution()``. A check never ends in a traceback: whatever the learner's answer raises
is reported as a ❌ line, with any key in the message redacted.

Needs: helpers/redaction.py; no outside libraries.
"""

from __future__ import annotations

import dis
import signal
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from helpers.redaction import redact

__all__ = ["NOT_DONE", "Exercise", "NotDoneYet", "describe_error", "is_stub"]

NOT_DONE = "not done yet: replace the `...` with your answer, then run this cell again"

# Longest exception message shown; a learner's exception can carry a whole response body.
_MESSAGE_LIMIT = 300

# Instructions that are bookkeeping, not behaviour (3.11 adds RESUME; closures add the other two).
_BOOKKEEPING = {"RESUME", "NOP", "MAKE_CELL", "COPY_FREE_VARS", "CACHE", "EXTENDED_ARG"}


class NotDoneYet(Exception):
    """A checker raises this when it meets a part of the answer that is still a stub."""


def is_stub(answer: object) -> bool:
    """True when `answer` is still the placeholder: ``...``, ``None``, a function whose body only
    says ``...``/``pass``/a docstring, or a list, tuple, set or dict holding one of those."""
    if answer is ... or answer is None:
        return True
    if isinstance(answer, (types.FunctionType, types.MethodType)):
        return _is_stub_function(answer)
    if isinstance(answer, (list, tuple, set, frozenset)):
        items: Iterable[object] = answer
    elif isinstance(answer, dict):
        items = answer.values()
    else:
        return False
    return any(item is ... or _is_stub_function(item) for item in items)


def _is_stub_function(value: object) -> bool:
    function = value.__func__ if isinstance(value, types.MethodType) else value
    return isinstance(function, types.FunctionType) and _does_nothing(function.__code__)


def _does_nothing(code: types.CodeType) -> bool:
    """The function only returns None or ``...`` (what ``...``, ``pass`` or a docstring compile to)."""
    steps = [step for step in dis.get_instructions(code) if step.opname not in _BOOKKEEPING]
    if len(steps) == 1:  # Python 3.12+: RETURN_CONST
        return steps[0].opname == "RETURN_CONST" and steps[0].argval in (None, ...)
    return (len(steps) == 2 and steps[0].opname == "LOAD_CONST" and steps[0].argval in (None, ...)
            and steps[1].opname == "RETURN_VALUE")


def describe_error(error: BaseException) -> str:
    """``TypeName: message`` with every key shape redacted and the length capped."""
    try:
        message = str(error)
    except Exception:  # an exception whose __str__ itself fails still gets a line
        message = "(the message could not be read)"
    message = redact(message)
    if len(message) > _MESSAGE_LIMIT:
        message = message[:_MESSAGE_LIMIT] + "…"
    name = type(error).__name__
    return f"{name}: {message}" if message else name


class _TimedOut(BaseException):
    """Raised into a check that ran past its time limit; a BaseException, so the learner's
    ``except Exception`` cannot swallow it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` with `_TimedOut` (main thread on POSIX; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def interrupt(signum: int, frame: types.FrameType | None) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Exercise:
    """One notebook exercise: `checker` returns the problems it finds in an answer (none = right).

    time_limit: seconds a check may run before it is stopped and reported (an endless loop in the
    answer), instead of hanging the notebook.
    """

    def __init__(self, title: str, checker: Callable[[Any], list[str]], hint: str,
                 solution_code: str, *, time_limit: float = 60.0) -> None:
        self.title = title
        self.checker = checker
        self.hint_text = hint
        self.solution_code = solution_code
        self.time_limit = time_limit

    def problems(self, answer: object) -> list[str]:
        """What is wrong with `answer` (empty when it is right); never raises."""
        if is_stub(answer):
            return [NOT_DONE]
        try:
            with _time_limit(self.time_limit):
                return [str(problem) for problem in self.checker(answer)]
        except NotDoneYet:
            return [NOT_DONE]
        except _TimedOut:
            return [f"checking your answer took more than {self.time_limit:g} s: is there an endless loop?"]
        except KeyboardInterrupt:  # you pressed stop: that is not the answer's fault
            raise
        except BaseException as error:  # noqa: BLE001 - any learner mistake (even sys.exit) is a ❌, not a traceback
            return [f"checking your answer raised {describe_error(error)}"]

    def check(self, answer: object) -> bool:
        """Print ✅ when `answer` is right, else one ❌ line per problem and the hint."""
        found = self.problems(answer)
        if not found:
            print(f"✅ {self.title}: correct, your answer passes every check.")
            return True
        for problem in found:
            print(f"❌ {problem}")
        print(f"hint: {self.hint_text}")
        return False

    def hint(self) -> None:
        """Print a nudge towards the answer."""
        print(f"hint: {self.hint_text}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(self.solution_code)
