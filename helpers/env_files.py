"""Keep secrets in a ``.env`` file safely: load it, prove git ignores it, keep its template in sync.

- `load_env` finds ``.env`` from the working directory upward, stopping at the project root
  (`find_project_root`: the nearest folder with ``.git`` or ``pyproject.toml``), loads it and
  reports which variable *names* it set or skipped.
- `is_git_ignored` asks git itself (``git check-ignore``): the only answer that counts, given
  negations, nested ``.gitignore`` files, global excludes and files that are already tracked.
- `env_drift` lists the variables that ``.env`` has and ``.env.example`` lacks, and the reverse.

python-dotenv parses and interpolates. This module adds what it lacks: a search that stops at the
project root (`dotenv.find_dotenv` climbs to the filesystem root and can pick up a stray
``~/.env``), an error naming the file and true line number for a line it cannot parse (it only
logs a warning), a clear refusal of a file that is not UTF-8 text (`read_env_file`), a load that
sets all of the file or nothing, and a report of the load. No error holds a value: not its
message, and not its exception chain.

Needs: no sibling file; python-dotenv (``pip install python-dotenv``).
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import subprocess
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

try:
    from dotenv.parser import Binding, parse_stream
    from dotenv.variables import parse_variables
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError("helpers.env_files needs python-dotenv: pip install python-dotenv") from missing

__all__ = [
    "env_drift", "EnvDrift", "EnvFileError", "EnvFileNotFoundError", "EnvFileUnreadableError",
    "EnvLoadResult", "EnvPathOutsideProjectError", "EnvSyntaxError", "find_env_file", "find_project_root",
    "folders_up_to_root", "GitCheckError", "is_git_ignored", "load_env", "PROJECT_ROOT_MARKERS",
    "read_env_file", "read_env_values", "StrPath",
]

StrPath = str | os.PathLike[str]

_NEWLINE = re.compile(r"\r\n|\n|\r")  # what python-dotenv's parser counts as a line break
_NEWLINE_BYTES = re.compile(rb"\r\n|\n|\r")
PROJECT_ROOT_MARKERS = (".git", "pyproject.toml")
# UTF-32 first: the UTF-32-LE mark starts like the UTF-16-LE one
_WIDE_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",
              codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16"}
_RESAVE = ("Save it as UTF-8: in the editor, 'Save with Encoding' > UTF-8; in Windows PowerShell 5, "
           "write it with Set-Content -Encoding utf8 instead of '>'")


class EnvFileError(Exception):
    """Base class of this module's errors: a problem with a ``.env`` file, or with asking git about
    one. `path` names the file; `line` is set when a line is at fault."""

    def __init__(self, message: str, path: Path, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class EnvFileNotFoundError(EnvFileError):
    """No ``.env`` file where one was expected; after a search, the message lists every folder searched."""


class EnvSyntaxError(EnvFileError):
    """Lines python-dotenv cannot parse (on its own it skips them, with only a logged warning)."""

    def __init__(self, message: str, path: Path, lines: tuple[int, ...]) -> None:
        super().__init__(message, path, lines[0])
        self.lines = lines


class EnvFileUnreadableError(EnvFileError):
    """The file exists but cannot be used: no permission, a folder, not UTF-8 text, a NUL character,
    or a variable name the environment cannot hold."""


class EnvPathOutsideProjectError(EnvFileError):
    """A ``.env`` path (or the folder to search from) that lies outside the project root."""


class GitCheckError(EnvFileError):
    """git could not say whether a path is ignored: git is missing, or the path is not in a repository."""


@dataclass(frozen=True)
class EnvLoadResult:
    """What `load_env` did, by variable name. The values stay in the environment only."""

    path: Path
    root: Path
    names_set: tuple[str, ...]
    names_skipped: tuple[str, ...]  # already in the environment and kept, because override=False
    names_without_value: tuple[str, ...]  # a bare ``NAME`` line: python-dotenv sets nothing

    def __str__(self) -> str:
        text = f"loaded {self.path.relative_to(self.root)}: set {list(self.names_set)}"
        if self.names_skipped:
            text += f"; kept the environment's value (override=False) for {list(self.names_skipped)}"
        if self.names_without_value:
            text += f"; no value given for {list(self.names_without_value)}"
        return text


@dataclass(frozen=True)
class EnvDrift:
    """Variable names that differ between ``.env`` and ``.env.example``, each in file order."""

    missing_from_example: tuple[str, ...]  # in .env only: teammates will not know they need it
    missing_from_env: tuple[str, ...]  # in the template only: this setup lacks it

    @property
    def in_sync(self) -> bool:
        return not (self.missing_from_example or self.missing_from_env)


def find_project_root(start: StrPath | None = None) -> Path:
    """The project root: the nearest folder at or above `start` (default: the working directory)
    holding one of `PROJECT_ROOT_MARKERS` (``.git`` or ``pyproject.toml``).

    ``.git`` is a folder in a normal clone and a file in worktrees and submodules. Outside any
    project (a folder with no marker above it, e.g. a project downloaded as a ZIP without
    ``pyproject.toml``) the answer is `start` itself: a search never climbs above it to load a
    stray ``~/.env``.
    """
    folder = Path(start if start is not None else os.getcwd()).resolve()
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_ROOT_MARKERS):
            return candidate
    return folder


def folders_up_to_root(start: StrPath | None = None) -> Iterator[Path]:
    """`start` (default: the working directory) and each folder above it, up to the project root."""
    folder = Path(start if start is not None else os.getcwd()).resolve()
    yield from _folders_up_to(folder, find_project_root(folder))


def find_env_file(filename: str = ".env", *, start: StrPath | None = None,
                  root: StrPath | None = None) -> Path:
    """The first `filename` in `start` (default: the working directory) or a folder above it,
    up to `root` (default: `find_project_root`) and no further. Raises `EnvFileNotFoundError`.

    A named pipe counts, as in python-dotenv and pydantic-settings: secret managers (1Password's
    environments) mount ``.env`` as a FIFO they write on each open.
    """
    start_dir, project_root = _start_and_root(start, root)
    if not start_dir.is_relative_to(project_root):
        raise EnvPathOutsideProjectError(
            f"the search folder {start_dir} is outside the project root {project_root}", start_dir)
    searched = list(_folders_up_to(start_dir, project_root))
    for folder in searched:
        if _is_file_or_fifo(folder / filename):
            return _inside_project(folder / filename, project_root)
    raise EnvFileNotFoundError(
        f"no {filename} file found; searched {', '.join(map(str, searched))} (the project root is "
        f"{project_root}). Create it there, e.g. by copying .env.example, or pass its path.",
        start_dir / filename)


def load_env(path: StrPath | None = None, *, override: bool, start: StrPath | None = None,
             root: StrPath | None = None, interpolate: bool = False,
             environ: MutableMapping[str, str] | None = None) -> EnvLoadResult:
    """Load a ``.env`` file into the environment and report which variable names it set.

    path:        the file to load; relative paths start from `start`. Default: the nearest
                 ``.env`` found by `find_env_file` (from `start` up to `root`).
    override:    required, because both answers are right somewhere. ``False`` (python-dotenv's
                 default) keeps a variable already in the environment: a value exported by the
                 shell or the deployment wins, but an edited ``.env`` is ignored by a running
                 kernel. ``True`` makes the file win: re-running the cell picks up the edit.
    start:       folder to search from (default: the working directory).
    root:        project root; the search stops there and `path` must lie inside it.
                 Default: `find_project_root` (``.git`` or ``pyproject.toml``; else `start`).
    interpolate: expand ``${NAME}`` in values, as python-dotenv's ``load_dotenv`` does: from
                 `environ` and the file's earlier lines, whichever wins by `override`.
                 Default ``False``, unlike python-dotenv: a secret is data, not a template,
                 and python-dotenv expands ``${...}`` even inside single quotes.
    environ:     where to load the variables, and to expand them from (default: ``os.environ``).

    Nothing is loaded when the file has a problem: `EnvFileNotFoundError`, `EnvSyntaxError`,
    `EnvFileUnreadableError` or `EnvPathOutsideProjectError`, naming the file (and line). Every
    name and value is checked (no NUL, no '=' in a name) before the first one is set.
    """
    start_dir, project_root = _start_and_root(start, root)
    if path is None:
        env_path = find_env_file(start=start_dir, root=project_root)
    else:
        env_path = _inside_project(start_dir / path, project_root)
    target = os.environ if environ is None else environ
    pairs = _assignments(env_path)
    values = _interpolated(pairs, target, override=override) if interpolate else dict(pairs)
    names_set, skipped, without_value = [], [], []
    for name, value in values.items():
        if value is None:
            without_value.append(name)
        elif name in target and not override:
            skipped.append(name)
        else:
            target[name] = value
            names_set.append(name)
    return EnvLoadResult(env_path, project_root, tuple(names_set), tuple(skipped), tuple(without_value))


def _interpolated(pairs: list[tuple[str, str | None]], environ: Mapping[str, str], *,
                  override: bool) -> dict[str, str | None]:
    """The file's values with ``${NAME}`` and ``${NAME:-default}`` expanded, line by line (a name set
    twice is seen twice: ``P=a`` then ``P=${P}:b`` gives ``a:b``), as python-dotenv 1.2.4's
    ``resolve_variables`` does, but from `environ` rather than always ``os.environ``: with
    `override` the file's earlier lines win over `environ`, without it `environ` wins (the value kept)."""
    done: dict[str, str | None] = {}
    for name, value in pairs:
        known = {**environ, **done} if override else {**done, **environ}
        done[name] = None if value is None else "".join(
            atom.resolve(known) for atom in parse_variables(value))
    return done


def is_git_ignored(path: StrPath) -> bool:
    """True if git ignores `path` (it need not exist yet), asked with ``git check-ignore``.

    A file git already tracks is *not* ignored, whatever ``.gitignore`` says: adding a rule
    does not untrack it (``git rm --cached <file>`` does). Raises `GitCheckError` when git is
    missing or `path` is outside any git work tree.
    """
    absolute = Path(path).absolute()
    # Resolve the folder, not the file: a symlinked .env is judged by its own name.
    target = absolute.parent.resolve() / absolute.name
    folder = next((parent for parent in target.parents if parent.is_dir()), target)  # "/" has no parent
    try:
        done = subprocess.run(["git", "check-ignore", "-q", "--", str(target)], cwd=folder,
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitCheckError("git is not installed or not on PATH: install git to check "
                            f"whether {target} is ignored", target) from None
    if done.returncode in (0, 1):
        return done.returncode == 0
    raise GitCheckError(f"git check-ignore failed for {target}: {done.stderr.strip()}", target)


def env_drift(env: StrPath | Mapping[str, object], example: StrPath | Mapping[str, object]) -> EnvDrift:
    """Compare the variable names of `env` and `example`: files, or mappings such as ``os.environ``."""
    env_names, example_names = _names(env), _names(example)
    return EnvDrift(
        missing_from_example=tuple(name for name in env_names if name not in example_names),
        missing_from_env=tuple(name for name in example_names if name not in env_names),
    )


def _names(source: StrPath | Mapping[str, object]) -> tuple[str, ...]:
    if isinstance(source, Mapping):
        return tuple(source)
    return tuple(dict(_assignments(Path(source).absolute())))


def _start_and_root(start: StrPath | None, root: StrPath | None) -> tuple[Path, Path]:
    start_dir = Path(start if start is not None else os.getcwd()).resolve()
    return start_dir, Path(root).resolve() if root is not None else find_project_root(start_dir)


def _folders_up_to(start: Path, root: Path) -> Iterator[Path]:
    for folder in (start, *start.parents):
        yield folder
        if folder == root:
            return


def _inside_project(path: Path, root: Path) -> Path:
    """`path` made absolute; it (and, for a symlink, its target) must lie inside `root`."""
    absolute = Path(os.path.normpath(path.absolute()))
    try:
        target = absolute.resolve()
    except (RuntimeError, OSError):  # a symlink loop: RuntimeError before Python 3.13, OSError since
        raise EnvFileUnreadableError(f"{absolute} cannot be read: too many levels of symbolic links "
                                     "(a symlink that points back to itself)", absolute) from None
    if not (absolute.is_relative_to(root) and target.is_relative_to(root)):
        raise EnvPathOutsideProjectError(
            f"{absolute} is outside the project root {root}; pass root= to allow another folder",
            absolute)
    return absolute


def read_env_values(path: StrPath) -> dict[str, str | None]:
    """The variables of a ``.env`` file as written (no ``${NAME}`` expansion), checked as `load_env`
    checks them: UTF-8 with no NUL, every line parses, every name plain. ``None`` for a bare ``NAME``.

    Raises the errors `read_env_file` raises, `EnvSyntaxError`, or `EnvFileUnreadableError` for a name.
    """
    return dict(_assignments(Path(path)))


def _assignments(path: Path) -> list[tuple[str, str | None]]:
    """The file's variables, after checking that every line parses and every name can be set (a
    quoted name such as ``'A=B'`` parses, and ``os.environ`` refuses it; see `_plain_name`)."""
    text = read_env_file(path)
    statements = list(_statements(text))
    bad_lines = tuple(line for line, binding in statements if binding.error)
    if bad_lines:
        which = "line" if len(bad_lines) == 1 else "lines"
        raise EnvSyntaxError(
            f"{path}, {which} {', '.join(map(str, bad_lines))}: python-dotenv cannot parse this; on its "
            "own it would skip it with only a logged warning (the text is not shown: it may hold a "
            "secret). Look for a missing '=', an unclosed quote, or a space inside the name.",
            path, bad_lines)
    unsettable = next((line for line, binding in statements if not _plain_name(binding.key or "")), None)
    if unsettable is not None:
        raise EnvFileUnreadableError(
            f"{path}, line {unsettable}: a variable name that holds '=', whitespace or an invisible "
            "character (a zero-width space, a line break) cannot be set in the environment or would "
            "set a name nobody reads; nothing was loaded. Give the variable a plain name.",
            path, unsettable)
    # In file order, a name set twice kept twice (dotenv_values(interpolate=False) gives dict() of
    # these); from the one parse, as python-dotenv's parser is slow on long files.
    return [(binding.key, binding.value) for _, binding in statements if binding.key is not None]


def _plain_name(name: str) -> bool:
    """No '=' (``os.environ`` refuses it), no whitespace and nothing invisible (such a name sets a
    variable that differs from the one the code reads, e.g. a zero-width space before the name)."""
    return not any(ch == "=" or ch.isspace() or not ch.isprintable() for ch in name)


def _statements(text: str) -> Iterator[tuple[int, Binding]]:
    """(true line number, binding) for each statement python-dotenv's parser finds in `text`."""
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        leading_blank = original[: len(original) - len(original.lstrip())]
        yield binding.original.line + len(_NEWLINE.findall(leading_blank)), binding


def read_env_file(path: StrPath) -> str:
    """The text of a ``.env`` file: UTF-8, a leading UTF-8 byte-order mark dropped (Windows
    PowerShell 5's ``Set-Content -Encoding utf8`` writes one; python-dotenv 1.2.4 drops it too,
    in ``dotenv/parser.py``), and line ends made ``\n`` as Python's text mode makes them (python-dotenv
    opens the file so: a quoted value over several lines of a Windows file holds ``\n``, not ``\r\n``).

    Raises `EnvFileNotFoundError` or `EnvFileUnreadableError` naming the file (and line), with no
    part of the file on the error or its chain. A file in UTF-16 (Windows PowerShell 5's ``>``) or
    Latin-1, or one holding a NUL character, is refused: python-dotenv, pydantic-settings and
    Docker Compose all read ``.env`` files as UTF-8.
    """
    path = Path(path)
    data = _read_bytes(path)
    wide = next((name for bom, name in _WIDE_BOMS.items() if data.startswith(bom)), None)
    if wide:
        raise EnvFileUnreadableError(f"{path} is saved as {wide} (a byte-order mark says so), not UTF-8. "
                                     f"{_RESAVE}.", path, 1)
    text = _utf8_or_none(data.removeprefix(codecs.BOM_UTF8))
    if text is None:  # raised here, not in an except block: the decode error holds the whole file
        line = _first_bad_utf8_line(data)
        raise EnvFileUnreadableError(f"{path}, line {line}: not UTF-8 text (saved as Latin-1 or "
                                     f"Windows-1252?). {_RESAVE}.", path, line)
    if "\x00" in text:
        line = len(_NEWLINE.findall(text[: text.index("\x00")])) + 1
        raise EnvFileUnreadableError(f"{path}, line {line}: a NUL character, which no environment "
                                     "variable can hold (saved as UTF-16 without a byte-order mark?). "
                                     f"{_RESAVE}.", path, line)
    return _NEWLINE.sub("\n", text)


def _utf8_or_none(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _first_bad_utf8_line(data: bytes) -> int:
    """The line of the first byte that is not UTF-8, lines ending as python-dotenv's parser counts
    them (LF, CRLF or CR alone: bytes UTF-8 never uses inside a character)."""
    for number, line in enumerate(_NEWLINE_BYTES.split(data), 1):
        if _utf8_or_none(line) is None:
            return number
    return 1


def _is_file_or_fifo(path: Path) -> bool:
    """A regular file or a named pipe (what python-dotenv 1.2.4's ``_is_file_or_fifo`` accepts)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EnvFileNotFoundError(f"{path} does not exist", path) from None
    except PermissionError:
        raise EnvFileUnreadableError(
            f"{path}: permission denied. Make it readable by your user only: chmod 600 {path}",
            path) from None
    except OSError as err:
        raise EnvFileUnreadableError(f"{path} cannot be read: {err.strerror}", path) from None
    return data
