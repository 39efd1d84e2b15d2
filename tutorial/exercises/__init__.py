"""Exercises for the notebooks, in the style of Kaggle Learn's ``learntools``.

Each notebook imports one `Exercise` (``from tutorial.exercises.nb05 import exercise``); the learner
fills in a stub, then runs ``exercise.check(answer)``, and may ask for ``exercise.hint()`` or
``exercise.solution()``. A check never ends in a traceback: whatever the learner's answer raises
is reported as a ❌ line, with any key in the message redacted. A check also watches what the answer
does to the notebook: what it prints or logs is shown after it ran, redacted (a key in it is a ❌);
a working directory or ``os.environ`` it left changed is put back and reported; an endless loop is
stopped, even one whose bare ``except:`` swallows the first interrupt.

Needs: helpers/redaction.py; no outside libraries.
"""

from __future__ import annotations

import builtins
import dis
import io
import logging
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from typing import Any

from helpers.redaction import redact

__all__ = ["NOT_DONE", "Exercise", "NotDoneYet", "describe_error", "is_stub", "process_put_back"]

NOT_DONE = "not done yet: replace the `...` with your answer, then run this cell again"

# After the time limit, how often a check that swallowed the interrupt is interrupted again (s).
_AGAIN = 0.05

# Longest exception message shown; a learner's exception can carry a whole response body.
_MESSAGE_LIMIT = 300

# Most characters of the answer's own output kept and shown after the check (a loop that prints).
_OUTPUT_LIMIT = 100_000

# Instructions that are bookkeeping, not behaviour (3.11 adds RESUME; closures add the other two).
_BOOKKEEPING = {"RESUME", "NOP", "MAKE_CELL", "COPY_FREE_VARS", "CACHE", "EXTENDED_ARG"}
# What ``raise NotImplementedError("message")`` compiles to between loading the class and raising.
_BUILDS_AN_ERROR = {"LOAD_CONST", "PUSH_NULL", "PRECALL", "CALL", "KW_NAMES"}


class NotDoneYet(Exception):
    """A checker raises this when it meets a part of the answer that is still a stub."""


def is_stub(answer: object) -> bool:
    """True when `answer` is still the placeholder: ``...``, ``None``, a function whose body only
    says ``...``/``pass``/a docstring/``raise NotImplementedError``, or a list, tuple, set or dict
    holding one of those."""
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
    """The function only returns None or ``...`` (what ``...``, ``pass`` or a docstring compile to),
    or only raises ``NotImplementedError`` (with or without a message)."""
    steps = [step for step in dis.get_instructions(code) if step.opname not in _BOOKKEEPING]
    if len(steps) == 1:  # Python 3.12+: RETURN_CONST
        return steps[0].opname == "RETURN_CONST" and steps[0].argval in (None, ...)
    if (len(steps) == 2 and steps[0].opname == "LOAD_CONST" and steps[0].argval in (None, ...)
            and steps[1].opname == "RETURN_VALUE"):
        return True
    return (len(steps) >= 2 and steps[0].opname in ("LOAD_GLOBAL", "LOAD_NAME")
            and steps[0].argval == "NotImplementedError" and steps[-1].opname == "RAISE_VARARGS"
            and all(step.opname in _BUILDS_AN_ERROR for step in steps[1:-1]))


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


class _TimeLimit:
    """Interrupt the block after `seconds` with `_TimedOut`, then again every `_AGAIN` seconds until
    it ends: a loop whose bare ``except:`` swallows one interrupt cannot swallow them all. An
    interrupt that lands in this module's own code is skipped (the next one reaches the answer), so
    the check's bookkeeping is never cut short. Main thread on POSIX; elsewhere there is no limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.usable = (hasattr(signal, "setitimer") and seconds > 0
                       and threading.current_thread() is threading.main_thread())
        self.previous: Any = None

    def __enter__(self) -> None:
        if self.usable:
            self.previous = signal.signal(signal.SIGALRM, self._interrupt)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, _AGAIN)

    def __exit__(self, *exc_info: object) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _interrupt(signum: int, frame: types.FrameType | None) -> None:
        if frame is None or frame.f_code.co_filename != __file__:
            raise _TimedOut


class _OneLineFormatter(logging.Formatter):
    """Log records as one line each: an exception as ``TypeName: message``, never a traceback."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return describe_error(ei[1]) if ei[1] is not None else ""

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return ""


class _CappedText(io.StringIO):
    """A text stream that keeps the first `_OUTPUT_LIMIT` characters written to it, in whole lines
    (a key is never cut in two, half of it unredactable), and notes that the rest was dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def write(self, text: str) -> int:
        if not self.dropped and self.tell() + len(text) > _OUTPUT_LIMIT:
            self.dropped = True
            kept = self.getvalue()
            self.seek(kept.rfind("\n") + 1)  # back to the end of the last whole line
            self.truncate()
        return len(text) if self.dropped else super().write(text)

    def text(self) -> str:
        """What was kept, and a note when some was dropped."""
        if not self.dropped:
            return self.getvalue()
        return self.getvalue() + f"… (cut: your answer wrote more than {_OUTPUT_LIMIT:,} characters here)\n"


class _Watch:
    """Around a check: the answer's output and the root logger's records captured, the working
    directory and `os.environ` put back afterwards. `problems` then says what the answer printed,
    logged or left changed that it should not have."""

    def __enter__(self) -> _Watch:
        self.problems: list[str] = []
        self.state = _ProcessState()
        self.out, self.err = _CappedText(), _CappedText()
        root = logging.getLogger()
        self.root_handlers = root.handlers[:]
        capture = logging.StreamHandler(self.err)
        capture.setFormatter(_OneLineFormatter("%(levelname)s:%(name)s:%(message)s"))
        root.handlers = [capture]  # the answer's records stay out of your notebook's handlers
        self.redirected = ExitStack()
        self.redirected.enter_context(redirect_stdout(self.out))
        self.redirected.enter_context(redirect_stderr(self.err))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.redirected.close()
        logging.getLogger().handlers = self.root_handlers
        self.problems = self._key_shown() + self.state.put_back()

    def _key_shown(self) -> list[str]:
        shown = self.out.text() + self.err.text()
        if redact(shown) == shown:
            return []
        return ["your answer printed or logged a key (redacted above): an output is saved in the notebook "
                "file. To tell keys apart, show helpers.key_formats.fingerprint(key) instead"]


class _ProcessState:
    """What an answer may change for the whole notebook, at one moment, to go back to: the working
    directory, `os.environ`, the umask (new files' permissions) and the built-in functions."""

    def __init__(self) -> None:
        self.cwd, self.environ = _working_directory(), dict(os.environ)
        self.umask = _umask()
        self.builtins = dict(vars(builtins))

    def put_back(self) -> list[str]:
        """Go back to this state; say what had changed (names of variables, never their values)."""
        return (self._cwd_put_back() + self._environ_put_back() + self._umask_put_back()
                + self._builtins_put_back())

    def _umask_put_back(self) -> list[str]:
        if _umask() == self.umask:
            return []
        os.umask(self.umask)
        return ["your answer changed the umask (os.umask), so every file the notebook creates later would "
                "get other permissions: chmod the files you mean instead (the check put it back)"]

    def _builtins_put_back(self) -> list[str]:
        now = vars(builtins)
        replaced = sorted(name for name, value in self.builtins.items() if now.get(name) is not value)
        if not replaced:
            return []
        now.update({name: self.builtins[name] for name in replaced})
        return [f"your answer replaced the built-in {', '.join(replaced)} for the whole notebook "
                "(the check put it back)"]

    def _cwd_put_back(self) -> list[str]:
        if self.cwd is None or _working_directory() == self.cwd:
            return []
        os.chdir(self.cwd)
        return ["your answer changed the working directory (os.chdir) and left it changed, so later cells "
                "would look for files in the wrong folder: build paths instead (the check put it back)"]

    def _environ_put_back(self) -> list[str]:
        changed = sorted(name for name in {*self.environ, *os.environ}
                         if os.environ.get(name) != self.environ.get(name))
        if not changed:
            return []
        for name in changed:
            if name in self.environ:
                os.environ[name] = self.environ[name]
            else:
                del os.environ[name]
        return [f"your answer changed os.environ ({', '.join(changed)}) and left it changed: every later "
                "cell and `!` command would see that (the check put it back)"]


@contextmanager
def process_put_back(found: list[str]) -> Iterator[None]:
    """Run the block, then put the working directory and `os.environ` back as they were, adding to
    `found` what the block had changed. For a checker that calls the answer several times, so that
    one call's change neither breaks the next step of the check nor goes unreported."""
    state = _ProcessState()
    try:
        yield
    finally:
        found += state.put_back()


def _umask() -> int:
    """The process's umask (reading it means setting it: it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _working_directory() -> str | None:
    """The working directory, or None when it no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return None


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
        return self._judge(answer)[0]

    def check(self, answer: object) -> bool:
        """Print ✅ when `answer` is right, else one ❌ line per problem and the hint. What the answer
        printed or logged while it was checked comes first, with any key redacted."""
        found, watch = self._judge(answer)
        if watch is not None:
            sys.stdout.write(redact(watch.out.text()))
            sys.stderr.write(redact(watch.err.text()))
        if not found:
            print(f"✅ {self.title}: correct, your answer passes every check.")
            return True
        for problem in found:
            print(f"❌ {problem}")
        print(f"hint: {self.hint_text}")
        return False

    def _judge(self, answer: object) -> tuple[list[str], _Watch | None]:
        """The problems with `answer` (every key in them redacted), and what the check saw it do."""
        if is_stub(answer):
            return [NOT_DONE], None
        watch = _Watch()
        try:
            with watch, _TimeLimit(self.time_limit):
                found = [redact(str(problem)) for problem in self.checker(answer)]
        except NotDoneYet:
            return [NOT_DONE], watch
        except _TimedOut:
            found = [f"checking your answer took more than {self.time_limit:g} s: is there an endless loop?"]
        except KeyboardInterrupt:  # you pressed stop: that is not the answer's fault
            raise
        except BaseException as error:  # noqa: BLE001 - any learner mistake (even sys.exit) is a ❌, not a traceback
            found = [f"checking your answer raised {describe_error(error)}"]
        return found + watch.problems, watch

    def hint(self) -> None:
        """Print a nudge towards the answer."""
        print(f"hint: {self.hint_text}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(self.solution_code)
