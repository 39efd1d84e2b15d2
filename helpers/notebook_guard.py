"""An IPython extension that keeps API keys out of what a notebook shows and what IPython records.

Load it in the first cell of a notebook::

    %load_ext helpers.notebook_guard

From then on every key shape known to `helpers.key_formats`, and every known secret value, is
replaced by a marker such as ``[REDACTED openai-project 1ae21d3c]`` in:

* everything a cell shows: stdout and stderr (``print``, logging, threads, ``!echo``, output
  written straight to the file descriptors by ``os.system`` or a subprocess), ``display()``
  output of *every* MIME type (``raw=True`` displays of ``application/xml``,
  ``application/x-yaml``, vendor types...) and its metadata, the last expression's value, errors
  (type, message and traceback still show), ``%env``, the ``key?`` help pager;
* the Jupyter server's console (container logs): in a kernel, what is written to the file
  descriptors is also echoed there by ipykernel; the guard redacts that copy too;
* IPython's history database (``$IPYTHONDIR/profile_default/history.sqlite``): each cell's input
  (and output, with ``HistoryManager.db_log_output``) is written there redacted, once the cell has
  finished, so a value set in the cell itself (``os.environ["DB_PASS"] = ...``) is known by then.
  A *new* kernel running ``%history -g`` finds no key;
* the log file of ``%logstart`` (inputs, and outputs with ``-o``): written redacted at the end
  of each cell;
* IPython's record of outputs (``%notebook FILE``).

Known secret values are the values of environment variables whose names hold a secret word
(`is_secret_name`: ``OPENAI_API_KEY``, ``OPENAI_API_KEY_PROD``, ``MY_KEY_OLD``, ``X_APIKEY``,
``DB_PASS``, ``GITHUB_PAT``, ``HF_TOKEN_2``...; not ``KEYBOARD`` nor ``SSH_KEY_PATH``), read
again for every output, plus any value passed to `register_secret`. Values shorter than
`MIN_ENV_SECRET_LENGTH` characters are skipped (``DEBUG_KEY=1`` would turn every ``1`` into a
marker).

How: in a Jupyter kernel everything a cell shows leaves as a message sent through
``ip.kernel.session.send``, which the guard wraps (IPython re-assigns ``sys.stdout`` around each
cell, so patching streams would be undone). The descriptor-level echo to the console goes
through a pipe of the guard's (see `FdRelay`). In a terminal IPython there is no kernel: the
guard wraps ``sys.stdout`` and ``sys.stderr`` (and their ``.buffer``) while each cell runs, and
the streams of logging handlers that were set up before it was loaded.

One message, one preparation: the known secrets are prepared once per message, and a message
with no anchor of any key shape and no known value anywhere (the usual case) is passed on
untouched after one pass over its text. Redacting costs up to a microsecond per character when
key-like text is present; so that no message can stall the kernel, a message's text that may hold
a key beyond `SCAN_BUDGET` characters is withheld rather than shown unredacted.

What it cannot do:

* clean outputs or history written before it was loaded, or the cell's *source* in the notebook
  file: a key typed into a cell is in the ``.ipynb`` whatever this extension does;
* see a key split across outputs (``print(key[:10]); print(key[10:])``) or transformed (base64,
  reversed): only whole keys and whole known values are recognised;
* guard widget (comm) messages, debugger messages, files the code writes, or logging to files
  (use `helpers.redaction.install_redaction` for logging);
* in a terminal IPython: output written to the file descriptors (``!cmd``, ``os.system``, a
  subprocess) goes to the terminal unredacted: redirecting a terminal would break interactive
  programs;
* change the values themselves: ``key``, ``_``, ``In`` and ``Out`` still hold the key in the kernel.

It is a safety net for mistakes, not a licence to print keys.

Needs: redaction.py, key_formats.py; IPython (the host it is loaded into; this module imports
nothing from it, so it can be imported and tested without IPython).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import re
import string
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, TextIO

from .key_formats import might_contain_key
from .redaction import redact

__all__ = [
    "env_secrets", "FdRelay", "forget_registered_secrets", "GuardError", "is_secret_name",
    "known_secrets", "load_ipython_extension", "MessageRedactor", "MIN_ENV_SECRET_LENGTH",
    "OUTPUT_MESSAGES", "redact_content", "redact_message", "redact_text", "redact_value",
    "RedactingBuffer", "RedactingStream", "register_secret", "SCAN_BUDGET",
    "SecretValueError", "unload_ipython_extension", "WITHHELD", "WITHHELD_LARGE",
]

logger = logging.getLogger(__name__)

MIN_ENV_SECRET_LENGTH = 6
SCAN_BUDGET = 1_500_000  # characters per message that may be scanned for key shapes
_STRING_COST = 64  # what checking one string costs, counted in characters against the budget
# Words that make a variable name secret, wherever they stand in the name, and last words that
# say the variable holds something *about* a secret (where it is), not the secret.
_SECRET_WORDS = frozenset({
    "key", "keys", "apikey", "secretkey", "accesskey", "privatekey", "token", "tokens",
    "authtoken", "accesstoken", "secret", "secrets", "password", "passwords", "passwd", "pass",
    "pwd", "passphrase", "pat", "credential", "credentials",
})
_NOT_THE_VALUE = frozenset({"path", "file", "dir", "name", "names", "arn", "url", "env", "var", "type"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# Messages whose whole content can carry what user code printed, returned or typed.
OUTPUT_MESSAGES = frozenset({
    "stream", "display_data", "update_display_data", "execute_result", "error", "execute_reply",
    "inspect_reply", "input_request", "history_reply",
})
WITHHELD = "[output withheld: helpers.notebook_guard could not redact it]"
WITHHELD_LARGE = "[output withheld: {size} characters that may hold a key, too long to redact]"
WITHHELD_BINARY = "[{mimetype} output withheld: it holds a key]"
_TEXT_LIKE = ("json", "xml", "javascript", "yaml", "csv", "svg")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_GUARD_MARK = "_notebook_guard_original"

_registered: set[str] = set()
_registered_lock = threading.Lock()


class GuardError(Exception):
    """Base class of this module's errors."""


class SecretValueError(GuardError, ValueError):
    """A value given to `register_secret` that cannot be a secret (empty, not a string)."""


# --- which values are secret ------------------------------------------------------------------


def register_secret(value: object) -> None:
    """Treat `value` as a secret from now on, wherever it appears in a cell's output.

    Accepts a string or anything with ``get_secret_value()`` (pydantic's ``SecretStr``).
    """
    reveal = getattr(value, "get_secret_value", None)
    secret = reveal() if callable(reveal) else value
    if not isinstance(secret, str) or not secret.strip():
        raise SecretValueError("register_secret() needs a non-empty string (or SecretStr) value")
    with _registered_lock:
        _registered.add(secret)


def forget_registered_secrets() -> None:
    """Drop every value given to `register_secret` (environment variables still count)."""
    with _registered_lock:
        _registered.clear()


@functools.lru_cache(maxsize=4096)  # the same few dozen names are asked about for every output
def is_secret_name(name: str) -> bool:
    """Does this variable name say it holds a secret? ``X_API_KEY_PROD``, ``apiKey``, ``DB_PASS``."""
    words = [word.lower() for word in _WORD.findall(name)]
    return bool(words) and words[-1] not in _NOT_THE_VALUE and not _SECRET_WORDS.isdisjoint(words)


def env_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of the variables in `environ` (default: ``os.environ``) whose names mark a secret."""
    environ = os.environ if environ is None else environ
    found = set()
    for name in list(environ):  # a snapshot: another thread may change the environment
        value = environ.get(name) or ""
        if len(value.strip()) >= MIN_ENV_SECRET_LENGTH and is_secret_name(name):
            found.add(value)
    return found


def known_secrets() -> set[str]:
    """Every value the guard redacts besides key shapes: secret variables and registered values."""
    with _registered_lock:
        registered = set(_registered)
    return env_secrets() | registered


# --- redacting text ---------------------------------------------------------------------------


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`redact`, also where colour codes (tracebacks, coloured logs) sit inside a key."""
    cleaned = redact(text, secrets)
    if "\x1b" not in cleaned:
        return cleaned
    plain = _ANSI_ESCAPE.sub("", cleaned)
    plain_cleaned = redact(plain, secrets)
    # A key still visible once the colours are gone: give up the colours, keep the secret out.
    return cleaned if plain_cleaned == plain else plain_cleaned


class MessageRedactor:
    """The known secrets of one message, prepared once, and the message's scanning budget.

    Every spelling of a value that `redaction.redact` recognises (as ``repr()``, JSON or
    URL-encoding write it) keeps the value's longest run of ASCII letters and digits: a text
    without that run cannot hold the value, which one substring test tells.
    """

    def __init__(self, secrets: Iterable[str] = (), budget: int = SCAN_BUDGET) -> None:
        values = sorted({s for s in secrets if isinstance(s, str) and s.strip()})
        self._cores = [(max(_ALNUM_RUN.findall(value), key=len, default=""), value) for value in values]
        self.budget = budget

    def needs_redaction(self, text: str) -> bool:
        """False when `text` surely holds neither a key shape nor a known value (cheap)."""
        return might_contain_key(text) or any(core in text for core, _ in self._cores)

    def text(self, text: str) -> str:
        """`text` redacted; withheld unchecked if it is longer than the budget left.

        (Only messages that may hold a key get here: checking a huge text costs as much as
        redacting it, and once the budget is spent every further string is withheld.)
        """
        if self.budget <= 0 or len(text) > self.budget:
            return WITHHELD_LARGE.format(size=len(text))
        self.budget -= _STRING_COST
        if not self.needs_redaction(text):
            return text
        self.budget -= len(text)
        return redact_text(text, [value for core, value in self._cores if core in text])

    def value(self, value: Any) -> Any:
        """`value` (a string, or JSON-like lists and dicts of them) with every secret redacted."""
        if isinstance(value, str):
            return self.text(value)
        if self.budget <= 0 and isinstance(value, list | tuple | dict):
            return WITHHELD_LARGE.format(size=len(value))
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.value(key): self.bundle(item) if key == "data" and isinstance(item, dict)
                    else self.value(item) for key, item in value.items()}
        return value

    def bundle(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """A display's MIME type -> data mapping: text of every type redacted, binary checked."""
        redacted: dict[str, Any] = {}
        for mimetype, data in bundle.items():
            if _is_binary(mimetype, data):
                if self._binary_holds_secret(data):
                    redacted["text/plain"] = WITHHELD_BINARY.format(mimetype=self.text(str(mimetype)))
                    continue
                redacted[mimetype] = data
            else:
                redacted[self.value(mimetype)] = self.value(data)
        return redacted

    def _binary_holds_secret(self, data: str | bytes) -> bool:
        """Base64 text (or bytes) of an image or file: is a key in its text or its bytes?"""
        texts = [data] if isinstance(data, str) else []
        decoded = _decoded(data)
        if decoded is not None:
            texts.append(decoded.decode("latin-1"))
        return any(self.needs_redaction(text) and self.text(text) != text for text in texts)

    def strings_need_redaction(self, value: Any) -> bool:
        """Could anything in `value` need redacting? One pass over all of its text together."""
        pieces = _strings_in(value)
        # NUL is no part of any key, anchor or known-value core, so nothing matches across pieces.
        return self.needs_redaction("\x00".join(pieces))


def _strings_in(value: Any) -> list[str]:
    """Every string in a JSON-like value (keys too); binary display data as its decoded bytes."""
    found: list[str] = []
    _collect_strings(value, found)
    return found


def _collect_strings(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):  # the common case, without a call per item
                found.append(item)
            else:
                _collect_strings(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_strings(key, found)
            if key == "data" and isinstance(item, dict):
                found.extend(_bundle_strings(item))
            else:
                _collect_strings(item, found)


def _bundle_strings(bundle: dict[Any, Any]) -> Iterator[str]:
    for mimetype, data in bundle.items():
        yield from _strings_in(mimetype)
        if _is_binary(mimetype, data):
            if isinstance(data, str):
                yield data
            if (decoded := _decoded(data)) is not None:
                yield decoded.decode("latin-1")
        else:
            yield from _strings_in(data)


def _decoded(data: str | bytes) -> bytes | None:
    """`data` as base64 decodes it, or None if it is not base64 (bytes are returned as they are)."""
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_binary(mimetype: object, data: object) -> bool:
    """Base64 data of an image, a PDF, a file...: bytes, or base64 text of a non-text type.

    Every other entry (``text/*``, JSON, XML, YAML, vendor types, anything that is not valid
    base64) is text and is redacted as text.
    """
    if isinstance(data, bytes):
        return True
    if not isinstance(mimetype, str) or not isinstance(data, str):
        return False
    kind = mimetype.split(";")[0].strip().lower()
    textual = kind.startswith("text/") or any(word in kind for word in _TEXT_LIKE)
    return not textual and _decoded(data) is not None


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (a string, or JSON-like lists and dicts of them) with every secret redacted."""
    return MessageRedactor(secrets).value(value)


def redact_bundle(bundle: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A display's MIME type -> data mapping, redacted (binary data holding a key is withheld)."""
    return MessageRedactor(secrets).bundle(bundle)


def _withheld(value: Any) -> Any:
    """What is shown instead of an output that could not be redacted: a notice, never the text."""
    if isinstance(value, dict):
        return {"text/plain": WITHHELD}
    return [WITHHELD] if isinstance(value, list) else WITHHELD


_PROTOCOL_FIELDS = frozenset({"status", "execution_count", "name", "ename", "found", "cursor_pos"})


def redact_content(msg_type: str, content: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A copy of a message's `content` with secrets redacted wherever they are (same if none)."""
    if msg_type not in OUTPUT_MESSAGES:
        return content
    redactor = MessageRedactor(secrets)
    try:
        if not redactor.strings_need_redaction(content):
            return content
        redacted: dict[str, Any] = redactor.value(content)
        return redacted
    except Exception:  # a bug here must hide the output, not let it through in clear
        logger.exception("notebook_guard: output withheld")
        return {name: value if name in _PROTOCOL_FIELDS else _withheld(value)
                for name, value in content.items()}


def redact_message(msg: dict[str, Any], secrets: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy of a Jupyter message dict (header, content, ...) with its output redacted."""
    msg_type = msg.get("header", {}).get("msg_type", "")
    if msg_type not in OUTPUT_MESSAGES:
        return msg
    secrets = known_secrets() if secrets is None else secrets
    return {**msg, "content": redact_content(msg_type, msg.get("content") or {}, secrets)}


# --- in a kernel: wrap session.send ------------------------------------------------------------

_KEYISH = string.ascii_letters + string.digits + "._~+/=%-"  # every character of every key shape
_GLUE = " \t\"':="  # what stands between a context word (Bearer, api_key) and its key
MAX_HELD = 4096


def split_unfinished(text: str) -> tuple[str, str]:
    """`text` as (ready to show, unfinished end held back until more text comes).

    The unfinished end is a trailing run of key characters, with the context word before it
    (``Bearer ``, ``api_key = "``): the start of a key that the next write may finish. Frontends
    join consecutive stream outputs, so ``print(key[:20], end="")`` then ``print(key[20:])``
    would put the whole key in the saved notebook if each half were redacted alone.
    """
    body = text.rstrip(_KEYISH)
    if len(text) - len(body) > MAX_HELD:
        return text, ""
    glued = body.rstrip(_GLUE)
    if 0 < len(body) - len(glued) <= 8:
        word = glued.rstrip(_KEYISH)
        if len(glued) - len(word) <= 64:
            body = word
    return body, text[len(body):]


def _parent_id(parent: Any) -> str:
    header = parent.get("header", parent) if isinstance(parent, dict) else {}
    return str(header.get("msg_id", "")) if isinstance(header, dict) else ""


class _GuardedSend:
    """`Session.send` that redacts output messages and joins stream text split across messages.

    ipykernel 7.4 sends stream output as whole messages (iostream.py, ``OutStream._flush``) and
    statuses, displays and errors by type (kernelbase.py). The unfinished end of a stream message
    is held until the next output of the same request, or its ``idle`` status.
    """

    def __init__(self, original: Callable[..., Any]) -> None:
        self.original = original
        self.session = getattr(original, "__self__", None)
        self._lock = threading.RLock()
        self._held: dict[tuple[str, str], tuple[str, Any, Any, dict[str, Any]]] = {}
        self._finished: list[str] = []  # requests whose idle status has gone (last 100)
        setattr(self, _GUARD_MARK, original)

    def __call__(self, stream: Any, msg_or_type: Any, content: dict[str, Any] | None = None,
                 *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if isinstance(msg_or_type, dict):
                msg_type = msg_or_type.get("header", {}).get("msg_type", "")
                parent = msg_or_type.get("parent_header") or {}
                content_now = msg_or_type.get("content") or {}
            else:
                msg_type, parent, content_now = msg_or_type, kwargs.get("parent") or {}, content or {}
            if msg_type == "stream" and isinstance(content_now.get("text"), str):
                return self._stream(stream, msg_or_type, content, args, kwargs, parent, content_now)
            self.release(_parent_id(parent), idle=content_now.get("execution_state") == "idle")
            if isinstance(msg_or_type, dict):
                msg_or_type = redact_message(msg_or_type)
            elif msg_or_type in OUTPUT_MESSAGES and content:
                content = redact_content(msg_or_type, content, known_secrets())
            return self.original(stream, msg_or_type, content, *args, **kwargs)

    def _stream(self, stream: Any, msg_or_type: Any, content: dict[str, Any] | None, args: tuple[Any, ...],
                kwargs: dict[str, Any], parent: Any, stream_content: dict[str, Any]) -> Any:
        name, parent_id = str(stream_content.get("name", "")), _parent_id(parent)
        for other in [key for key in self._held if key[0] == parent_id and key[1] != name]:
            self._send_held(other)
        held = self._held.pop((parent_id, name), ("", None, None, {}))[0]
        ready, unfinished = split_unfinished(held + stream_content["text"])
        if unfinished:
            extra = {"ident": kwargs["ident"]} if "ident" in kwargs else {}
            self._held[(parent_id, name)] = (unfinished, stream, parent, extra)
        if not ready:
            return None
        new_content = redact_content("stream", {**stream_content, "text": ready}, known_secrets())
        if isinstance(msg_or_type, dict):
            return self.original(stream, {**msg_or_type, "content": new_content}, content, *args, **kwargs)
        return self.original(stream, msg_or_type, new_content, *args, **kwargs)

    def release(self, parent_id: str | None = None, idle: bool = False) -> None:
        """Send what is held for request `parent_id` (all of it if None), and for ended requests."""
        with self._lock:
            if idle and parent_id:
                self._finished = [*self._finished[-99:], parent_id]
            for key in list(self._held):
                if parent_id is None or key[0] == parent_id or (idle and key[0] in self._finished):
                    self._send_held(key)

    def _send_held(self, key: tuple[str, str]) -> None:
        text, stream, parent, extra = self._held.pop(key)
        content = redact_content("stream", {"name": key[1], "text": text}, known_secrets())
        if self.session is not None:
            self.original(stream, self.session.msg("stream", content, parent=parent), **extra)


def _guard_session(session: Any) -> None:
    if not isinstance(session.send, _GuardedSend):
        session.send = _GuardedSend(session.send)


def _unguard_session(session: Any) -> None:
    guarded = session.send
    if not isinstance(guarded, _GuardedSend):
        return
    guarded.release()
    original: Any = guarded.original
    session_class: Any = type(session)
    bound_to = getattr(original, "__self__", None)
    if bound_to is session and original.__func__ is session_class.send:
        delattr(session, "send")  # back to the class's own method, exactly as before
    else:
        session.send = original


# --- streams: a terminal's sys.stdout / sys.stderr, and logging handlers ------------------------


def _redact_written(text: str) -> str:
    """One write to a stream or a descriptor, redacted (withheld if huge and holding a key)."""
    redactor = MessageRedactor(known_secrets())
    return redactor.text(text) if redactor.needs_redaction(text) else text


class RedactingBuffer:
    """A binary stream (``sys.stdout.buffer``) that redacts what is written to it."""

    def __init__(self, wrapped: BinaryIO) -> None:
        self.wrapped = wrapped

    def write(self, data: bytes) -> int:
        text = bytes(data).decode("utf-8", errors="surrogateescape")
        cleaned = _redact_written(text)
        self.wrapped.write(cleaned.encode("utf-8", errors="surrogateescape"))
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


class RedactingStream:
    """A text stream that redacts everything written to it (and to its ``buffer``).

    The unfinished end of a write (`split_unfinished`) waits for the next write, a ``flush()``
    (``input()`` flushes its prompt) or `release`, so that a key written in two pieces is whole
    when it is redacted.
    """

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped
        self._unfinished = ""

    def write(self, text: str) -> int:
        ready, self._unfinished = split_unfinished(self._unfinished + text)
        if ready:
            self.wrapped.write(_redact_written(ready))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def release(self) -> None:
        """Write what is held back, redacted."""
        held, self._unfinished = self._unfinished, ""
        if held:
            self.wrapped.write(_redact_written(held))

    def flush(self) -> None:
        self.release()
        self.wrapped.flush()

    @property
    def buffer(self) -> RedactingBuffer:
        self.flush()  # text written before the bytes comes out before them
        return RedactingBuffer(self.wrapped.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _wrap_std_streams() -> None:
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), RedactingStream):
            setattr(sys, name, RedactingStream(getattr(sys, name)))


def _unwrap_std_streams() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, RedactingStream):
            stream.release()
            setattr(sys, name, stream.wrapped)


def _console_handlers() -> list[logging.StreamHandler[Any]]:
    """Logging handlers that write to this process's stdout or stderr (set up before the guard)."""
    consoles = {id(stream) for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}
    loggers = [logging.getLogger(), *(item for item in logging.Logger.manager.loggerDict.values()
                                      if isinstance(item, logging.Logger))]
    handlers = [handler for each in loggers for handler in each.handlers]
    return [handler for handler in dict.fromkeys(handlers)
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in consoles]


# --- in a kernel: the descriptor-level echo to the server's console ---------------------------


class FdRelay:
    """Redact everything written to file descriptor `fd`, wherever it comes from.

    `fd` is pointed at a pipe; a thread reads the pipe, redacts each line (a line without an end
    is sent after `flush_after` seconds of quiet) and writes it where `fd` used to lead. ipykernel
    7.4 (iostream.py, ``OutStream._watch_pipe_fd``) copies every byte written to descriptors 1 and
    2 (``os.system``, subprocesses, ``sys.__stdout__``) to ``_original_stdstream_copy``, the
    server's console, and hands that same descriptor to subprocesses given ``stdout=sys.stdout``;
    the guard relays that descriptor. POSIX only (``select`` on a pipe).
    """

    def __init__(self, fd: int, flush_after: float = 0.05) -> None:
        self.fd, self.flush_after = fd, flush_after
        self._destination = os.dup(fd)
        self._read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._thread = threading.Thread(target=self._pump, name=f"notebook-guard-fd{fd}", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Point `fd` back where it led; what is still in the pipe is redacted and sent on."""
        os.dup2(self._destination, self.fd)  # the pipe's last write end closes: the pump ends
        self._thread.join(timeout)

    def _pump(self) -> None:
        import select  # noqa: PLC0415 - POSIX only: imported where it is used

        pending = b""
        while True:
            ready, _, _ = select.select([self._read_end], [], [], self.flush_after)
            chunk = os.read(self._read_end, 65536) if ready else b""
            if ready and not chunk:  # end of file: every writer is gone
                break
            pending += chunk
            complete, newline, rest = pending.rpartition(b"\n")
            if not ready or len(pending) > SCAN_BUDGET:
                self._send(pending)
                pending = b""
            elif newline:
                self._send(complete + newline)
                pending = rest
        self._send(pending)
        os.close(self._read_end)
        os.close(self._destination)

    def _send(self, data: bytes) -> None:
        if not data:
            return
        text = data.decode("utf-8", errors="surrogateescape")
        cleaned = _redact_written(text).encode("utf-8", errors="surrogateescape")
        while cleaned:
            cleaned = cleaned[os.write(self._destination, cleaned):]


# --- what IPython records: history database, %logstart file, %notebook -------------------------


class _ShellGuard:
    """The guard of one shell: its callbacks, and what it holds back while a cell runs.

    While a cell runs, rows bound for the history database and writes to the ``%logstart`` file
    are held back; when the cell ends they are written redacted, with the secrets known by then.
    The history hooks replace two methods of IPython 9.18's ``HistoryManager`` on the instance
    (core/history.py: ``_writeout_input_cache`` and ``_writeout_output_cache``, called with the
    cache locks held, by the saving thread and by ``writeout_cache``).
    """

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.cell_running = False
        self.held: dict[str, list[Any]] = {"db_input_cache": [], "db_output_cache": []}
        self.held_log: list[tuple[str, str]] = []
        self.relays: list[FdRelay] = []
        self.patched_handlers: list[logging.StreamHandler[Any]] = []
        self.session = getattr(getattr(ip, "kernel", None), "session", None)

    # the cell lifecycle
    def pre_run_cell(self, *_: Any) -> None:
        self.cell_running = True
        if self.session is None:
            _wrap_std_streams()

    def post_run_cell(self, result: Any = None) -> None:
        try:
            self._redact_recorded_outputs(getattr(result, "execution_count", None))
            self.cell_running = False
            self._flush_history()
            self._flush_log()
        finally:
            self.cell_running = False
            if self.session is None:
                _unwrap_std_streams()

    # the history database
    def _writeout(self, cache_name: str, original: Callable[[Any], None]) -> Callable[[Any], None]:
        history = self.ip.history_manager

        def writeout(conn: Any) -> None:
            cache = getattr(history, cache_name)
            if self.cell_running:  # written when the cell ends, with the secrets known then
                self.held[cache_name].extend(cache)
                setattr(history, cache_name, [])
            else:
                redactor = MessageRedactor(known_secrets(), budget=sys.maxsize)
                setattr(history, cache_name, [tuple(redactor.value(list(row))) for row in cache])
            original(conn)

        setattr(writeout, _GUARD_MARK, original)
        return writeout

    def _flush_history(self) -> None:
        history = getattr(self.ip, "history_manager", None)
        if history is None or not any(self.held.values()):
            return
        for cache_name, lock_name in (("db_input_cache", "db_input_cache_lock"),
                                      ("db_output_cache", "db_output_cache_lock")):
            with getattr(history, lock_name):
                getattr(history, cache_name)[:0] = self.held[cache_name]
                self.held[cache_name] = []
        history.writeout_cache()

    # the %logstart file
    def _log_write(self, original: Callable[..., None]) -> Callable[..., None]:
        def log_write(data: str, kind: str = "input") -> None:
            self.held_log.append((data, kind))
            if not self.cell_running:
                self._flush_log()

        setattr(log_write, _GUARD_MARK, original)
        return log_write

    def _flush_log(self) -> None:
        log_write = getattr(self.ip.logger.log_write, _GUARD_MARK, None)
        held, self.held_log = self.held_log, []
        redactor = MessageRedactor(known_secrets(), budget=sys.maxsize)
        for data, kind in held:
            if log_write is not None:
                log_write(redactor.text(data) if isinstance(data, str) else data, kind)

    # IPython's record of outputs (%notebook FILE, %history -o)
    def _redact_recorded_outputs(self, count: int | None) -> None:
        history = getattr(self.ip, "history_manager", None)
        if history is None or count is None:  # None when the cell is not in history
            return
        redactor = MessageRedactor(known_secrets(), budget=sys.maxsize)
        for output in history.outputs.get(count, []):
            output.bundle = redactor.bundle(output.bundle)
        if count in history.exceptions:
            history.exceptions[count] = redactor.value(history.exceptions[count])
        if count in history.output_hist_reprs:
            history.output_hist_reprs[count] = redactor.text(history.output_hist_reprs[count])

    # installing and removing
    def install(self) -> None:
        events = self.ip.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)
        history = getattr(self.ip, "history_manager", None)
        if history is not None:
            for name in ("db_input_cache", "db_output_cache"):
                method = f"_writeout_{name[3:-6]}_cache"
                setattr(history, method, self._writeout(name, getattr(history, method)))
        self.ip.logger.log_write = self._log_write(self.ip.logger.log_write)
        if self.session is not None:
            _guard_session(self.session)
            self.relays = _relay_console_descriptors()
        else:
            for handler in _console_handlers():
                handler.setStream(RedactingStream(handler.stream))
                self.patched_handlers.append(handler)
            _wrap_std_streams()  # the rest of the cell that loads the extension is covered too
        self.cell_running = True  # the loading cell is running: its post_run_cell will flush

    def uninstall(self) -> None:
        events = self.ip.events
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            if callback in events.callbacks[event]:
                events.unregister(event, callback)
        self.cell_running = False
        self._flush_history()
        self._flush_log()
        history = getattr(self.ip, "history_manager", None)
        for name in ("_writeout_input_cache", "_writeout_output_cache"):
            if history is not None and hasattr(getattr(history, name), _GUARD_MARK):
                delattr(history, name)  # back to the class's own method
        self.ip.logger.log_write = getattr(self.ip.logger.log_write, _GUARD_MARK, self.ip.logger.log_write)
        if self.session is not None:
            _unguard_session(self.session)
        for relay in self.relays:
            relay.close()
        for handler in self.patched_handlers:
            if isinstance(handler.stream, RedactingStream):
                handler.stream.release()
                handler.setStream(handler.stream.wrapped)
        _unwrap_std_streams()


def _relay_console_descriptors() -> list[FdRelay]:
    """In ipykernel: relay the descriptors that lead to the server's console (POSIX only)."""
    if os.name != "posix":
        return []
    fds = {getattr(stream, "_original_stdstream_copy", None) for stream in (sys.stdout, sys.stderr)}
    return [FdRelay(fd) for fd in sorted(fd for fd in fds if isinstance(fd, int))]


# --- the extension -----------------------------------------------------------------------------

_guards: dict[int, _ShellGuard] = {}


def load_ipython_extension(ip: Any) -> None:
    """Start redacting this shell's output and records (``%load_ext helpers.notebook_guard``).

    Idempotent: loading it again changes nothing.
    """
    if id(ip) in _guards:
        return
    guard = _guards[id(ip)] = _ShellGuard(ip)
    guard.install()


def unload_ipython_extension(ip: Any) -> None:
    """Stop redacting (``%unload_ext helpers.notebook_guard``): output shows as it did before."""
    guard = _guards.pop(id(ip), None)
    if guard is not None:
        guard.uninstall()
