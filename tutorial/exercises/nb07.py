"""Notebook 07's exercise: a `notebook_key()` function a teammate can run in any notebook: it finds
the OpenAI key where it is stored, asks with a hidden prompt only when nothing has it, and leaves no
trace (no ``input()``, nothing printed, nothing added to ``os.environ``).

The check calls the learner's function in five situations the notebook did not show, each with a
key of its own: in the project's ``.env`` only, in the OS keyring only, in the environment only,
nowhere (the learner types it at the prompt), and nowhere with a placeholder typed. It runs in a
temporary project with an encrypted-file keyring (`tutorial.demo_keyring`), and stands in for the
person at the keyboard: ``getpass.getpass`` answers, ``input`` refuses and is reported. A trace is
anything the answer leaves behind: the key printed, a variable of ``os.environ`` added, changed or
removed, the working directory moved, or a file it wrote that holds the key (an audit hook, added
once per process, notes the files the answer's thread opens for writing).

Needs: exercises/__init__.py, demo_keyring.py, helpers/key_formats.py; keyring.
"""

from __future__ import annotations

import builtins
import contextlib
import getpass
import io
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring

from helpers.key_formats import fake_key
from tutorial.demo_keyring import DemoKeyring
from tutorial.exercises import Exercise, describe_error

__all__ = ["SOLUTION", "exercise", "key_function_problems"]

NAME = "OPENAI_API_KEY"
SERVICE = "llm-key-tutorial"  # notebook_keys.KEYRING_SERVICE, written out: the check must not trust it

SOLUTION = '''from helpers.notebook_keys import get_key


def notebook_key() -> str:
    """The OpenAI key: environment, project .env or OS keyring, else a hidden prompt."""
    return get_key("OPENAI_API_KEY", prompt=True)'''

HINT = ("Look for the key where it is stored before asking: the environment, the project's .env "
        "(read it, do not load it into os.environ) and the OS keyring. Ask with getpass only when "
        "none has it, never with input(), and never print the key. One helper of this notebook "
        "does all of that.")


class _Refused(Exception):
    """What the stand-in ``input()`` raises: the check never lets a key be typed in clear."""


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal, so a prompt outside Jupyter has someone to ask."""

    def isatty(self) -> bool:
        return True


@dataclass
class _Keyboard:
    """The person at the keyboard: types `typed` at a getpass prompt; notes every prompt and input()."""

    typed: str | None = None
    prompts: list[str] = field(default_factory=list)
    inputs: int = 0

    def getpass(self, prompt: str = "Password: ", stream: object = None) -> str:
        self.prompts.append(prompt)
        if self.typed is None:
            raise EOFError("nobody is at the keyboard in this situation")
        return self.typed

    def input(self, prompt: object = "") -> str:
        self.inputs += 1
        raise _Refused("input() shows what is typed, and keeps it in the notebook")


@dataclass(frozen=True)
class _Situation:
    story: str  # "with the key only in the project's .env"
    key: str  # what a right answer returns
    in_env_file: bool = False
    in_keyring: bool = False
    in_environment: bool = False
    typed: str | None = None  # what the person types at a prompt (None: nobody there)
    must_ask: bool = False
    must_refuse: bool = False  # the typed value cannot be a key: it must not be returned


SITUATIONS = (
    _Situation("with the key only in the project's .env", fake_key("openai-project", 71), in_env_file=True),
    _Situation("with the key only in the OS keyring", fake_key("openai-project", 72), in_keyring=True),
    _Situation("with the key only in the environment", fake_key("openai-project", 73), in_environment=True),
    _Situation("with the key stored nowhere", fake_key("openai-project", 74),
               typed=fake_key("openai-project", 74), must_ask=True),
    _Situation("with the key stored nowhere and a placeholder typed", "your-openai-api-key-here",
               typed="your-openai-api-key-here", must_ask=True, must_refuse=True),
)


def key_function_problems(answer: object) -> list[str]:
    """What is wrong with `answer` as `notebook_key` (empty when it is right)."""
    if not callable(answer):
        return [f"notebook_key should be a function, not a {type(answer).__name__}"]
    problems: list[str] = []
    for situation in SITUATIONS:
        problems += [f"{situation.story}: {problem}" for problem in _try(answer, situation)]
    return problems


def _try(answer: Callable[[], Any], situation: _Situation) -> list[str]:
    keyboard = _Keyboard(typed=situation.typed)
    with _sandbox(situation, keyboard) as (environ_placed, shown), _files_written() as written:
        project = os.getcwd()
        try:
            result: object = answer()
            error: BaseException | None = None
        except (Exception, SystemExit) as raised:  # noqa: BLE001 - a learner's error is a ❌, not a traceback
            result, error = None, raised
        added = sorted(set(os.environ) - set(environ_placed))
        altered = sorted(name for name in environ_placed if os.environ.get(name) != environ_placed[name])
        moved = _working_directory() != project
        kept_in = _holding(written, [value for value in (situation.key, situation.typed) if value])
    problems = []
    if keyboard.inputs:
        problems.append("it called input(), which shows the key as it is typed and keeps it in the "
                        "notebook: use getpass")
    if situation.key in shown.getvalue() or (situation.typed and situation.typed in shown.getvalue()):
        problems.append("it printed the key")
    if added:
        problems.append(f"it left {', '.join(added)} in os.environ, where every ! command inherits it")
    if altered:
        problems.append(f"it changed or removed {', '.join(altered)} in os.environ: leave the variables "
                        "you find as they are")
    if moved:
        problems.append("it changed the working directory: later cells would look for files elsewhere")
    if kept_in:
        problems.append(f"it wrote the key to a file ({', '.join(kept_in)}), where it outlives the notebook "
                        "and can be committed: keep it in memory (or in the OS keyring)")
    if keyboard.prompts and not situation.must_ask:
        problems.append("it asked for the key although it is stored")
    if situation.must_ask and not keyboard.prompts and not keyboard.inputs:
        return [*problems, "it never asked with a hidden prompt"]  # what it raised instead is no news
    return problems + _judge_result(situation, result, error)


def _judge_result(situation: _Situation, result: object, error: BaseException | None) -> list[str]:
    if situation.must_refuse:
        return ["it returned the placeholder as if it were a key"] if _is_text(result, situation.key) else []
    if error is not None:
        return [f"it raised {describe_error(error)}"] if not isinstance(error, _Refused) else []
    if not _is_text(result, situation.key):
        what = "None" if result is None else f"a {type(result).__name__} that is not the stored key"
        return [f"it returned {what}"]
    return []


def _is_text(value: object, text: str) -> bool:
    """`value` is a string equal to `text`, judged by ``str`` itself (an object whose ``__eq__``
    always says yes is not a key)."""
    return isinstance(value, str) and str.__eq__(value, text) is True


def _working_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the answer moved into a folder that is gone
        return None


# While an answer runs: its thread and the paths it opens for writing (see `_note_writes`).
_watching: tuple[int, list[str]] | None = None
_hook_added = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


def _note_writes(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook (`sys.addaudithook`): note each file the watched thread opens for writing."""
    watching = _watching
    if event != "open" or watching is None or threading.get_ident() != watching[0]:
        return
    path, mode, flags = args
    writes = any(letter in mode for letter in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
    if writes and isinstance(path, str | bytes | os.PathLike):
        watching[1].append(os.fsdecode(path))


@contextlib.contextmanager
def _files_written() -> Iterator[list[str]]:
    """The paths the block opens for writing, in this thread (an audit hook, added once, sees them)."""
    global _watching, _hook_added  # noqa: PLW0603 - one hook per process: audit hooks cannot be removed
    if not _hook_added:
        sys.addaudithook(_note_writes)
        _hook_added = True
    written: list[str] = []
    _watching = (threading.get_ident(), written)
    try:
        yield written
    finally:
        _watching = None


def _holding(paths: list[str], values: list[str]) -> list[str]:
    """The names of the files among `paths` that now hold one of `values` in clear."""
    found = []
    for path in dict.fromkeys(paths):
        try:
            text = Path(path).read_text(errors="replace")
        except (OSError, ValueError):  # gone, a folder, unreadable: it holds nothing we can see
            continue
        if any(value in text for value in values):
            found.append(Path(path).name)
    return found


@contextlib.contextmanager
def _sandbox(situation: _Situation, keyboard: _Keyboard) -> Iterator[tuple[dict[str, str], io.StringIO]]:
    """A temporary project as the working directory, the situation's key where it says, a fresh
    keyring, and the keyboard stand-in; everything put back afterwards. Yields the environment as
    the situation set it, and what the answer printed."""
    environ_before = dict(os.environ)
    keyring_before = keyring.get_keyring()
    saved = (getpass.getpass, builtins.input, sys.stdin)
    shown = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="nb07-exercise-") as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text("")  # marks the project root for the .env search
        try:
            _place_key(situation, project)
            environ_placed = dict(os.environ)
            getpass.getpass, builtins.input, sys.stdin = keyboard.getpass, keyboard.input, _Terminal()
            with contextlib.chdir(project), contextlib.redirect_stdout(shown), \
                    contextlib.redirect_stderr(shown):
                yield environ_placed, shown
        finally:
            getpass.getpass, builtins.input, sys.stdin = saved
            keyring.set_keyring(keyring_before)
            for variable in set(os.environ) - set(environ_before):
                del os.environ[variable]
            os.environ.update(environ_before)


def _place_key(situation: _Situation, project: Path) -> None:
    for variable in (NAME, "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"):
        os.environ.pop(variable, None)
    backend = DemoKeyring(project / "keyring.json", "nb07-exercise-keyring-password")
    keyring.set_keyring(backend)
    if situation.in_env_file:
        (project / ".env").write_text(f"{NAME}={situation.key}\n")
    if situation.in_keyring:
        backend.set_password(SERVICE, NAME, situation.key)
    if situation.in_environment:
        os.environ[NAME] = situation.key


exercise = Exercise("a notebook_key() that keeps no trace", key_function_problems, HINT, SOLUTION)
