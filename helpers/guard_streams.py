"""Where the notebook guard redacts: kernel messages, terminal streams and file descriptors.

* `GuardedSend` replaces a kernel session's ``send``: everything a cell shows in a notebook
  leaves the kernel through it (IPython re-assigns ``sys.stdout`` around each cell, so patching
  streams would be undone). It also joins a key written in pieces (`split_unfinished`).
* `RedactingStream` and `RedactingBuffer` wrap a terminal's ``sys.stdout`` / ``sys.stderr`` and
  their ``.buffer``, and the streams of logging handlers set up before the guard.
* `FdRelay` redacts what is written to a file descriptor: in a kernel, ipykernel echoes every
  byte written to descriptors 1 and 2 to the Jupyter server's console (container logs).

Needs: ``message_redaction.py`` (and through it ``redaction.py``, ``secret_values.py``,
``redacted_values.py``, ``quick_check.py``, ``key_formats.py``).
"""

from __future__ import annotations

import logging
import os
import string
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TextIO

from .message_redaction import (
    OUTPUT_MESSAGES,
    MessageRedactor,
    known_secrets,
    redact_content,
    redact_message,
)

__all__ = [
    "console_handlers", "FdRelay", "guard_session", "GuardedSend", "MAX_HELD", "RedactingBuffer",
    "RedactingStream", "relay_console_descriptors", "split_unfinished", "unguard_session",
    "unwrap_std_streams", "wrap_std_streams",
]

# --- in a kernel: wrap session.send ------------------------------------------------------------

_KEYISH = string.ascii_letters + string.digits + "._~+/=%-"  # every character of every key shape
_GLUE = " \t\"':=?&"  # what stands between a context word (Bearer, api_key, ?key) and its key
MAX_HELD = 4096
_RELAY_CHUNK = 1 << 18  # bytes a relay passes on at once when no line ends


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
    """The msg_id of the request a message answers. `parent` is the request's header or the whole
    request: jupyter_client's messages repeat their header's msg_id at the top."""
    return str(parent.get("msg_id", "")) if isinstance(parent, dict) else ""


class GuardedSend:
    """`Session.send` that redacts output messages and joins stream text split across messages.

    ipykernel 7.4 sends stream output as whole messages (iostream.py, ``OutStream._flush``) and
    statuses, displays and errors by type (kernelbase.py). The unfinished end of a stream message
    is held until the next output of the same request, or its ``idle`` status.
    """

    def __init__(self, session: Any, original: Callable[..., Any]) -> None:
        self.session, self.original = session, original
        self._lock = threading.RLock()
        self._held: dict[tuple[str, str], tuple[str, Any, Any, dict[str, Any]]] = {}
        self._finished: list[str] = []  # requests whose idle status has gone (last 100)

    def __call__(self, stream: Any, msg_or_type: Any, content: dict[str, Any] | None = None,
                 *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if isinstance(msg_or_type, dict):
                msg_type = msg_or_type["header"].get("msg_type")  # Session needs a header too
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
        self.original(stream, self.session.msg("stream", content, parent=parent), **extra)


def guard_session(session: Any) -> None:
    """Make a kernel session redact what it sends (once: guarding twice changes nothing)."""
    if not isinstance(session.send, GuardedSend):
        session.send = GuardedSend(session, session.send)


def unguard_session(session: Any) -> None:
    """Send what is held back, and give the session its own ``send`` again."""
    guarded = session.send
    if not isinstance(guarded, GuardedSend):
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
    """One write to a stream or a descriptor, redacted (withheld if too much to read)."""
    return MessageRedactor(known_secrets()).text(text)


def _redact_written_bytes(data: bytes) -> bytes:
    """`_redact_written` for bytes: those that are not UTF-8 pass as they are."""
    text = data.decode("utf-8", errors="surrogateescape")  # pragma: no mutate - "UTF-8" or none: one codec
    return _redact_written(text).encode("utf-8", errors="surrogateescape")  # pragma: no mutate - same


def _split_unfinished_bytes(data: bytes) -> tuple[bytes, bytes]:
    """`split_unfinished` for UTF-8 bytes; bytes that are not UTF-8 pass as they are, never held back."""
    shown, held = split_unfinished(data.decode(errors="surrogateescape"))  # str and bytes default to UTF-8
    return shown.encode(errors="surrogateescape"), held.encode()


class RedactingBuffer:
    """A binary stream (``sys.stdout.buffer``) that redacts what is written to it."""

    def __init__(self, wrapped: BinaryIO) -> None:
        self.wrapped = wrapped

    def write(self, data: bytes) -> int:
        self.wrapped.write(_redact_written_bytes(bytes(data)))
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


def wrap_std_streams() -> None:
    """Put a `RedactingStream` around ``sys.stdout`` and ``sys.stderr`` (not twice)."""
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), RedactingStream):
            setattr(sys, name, RedactingStream(getattr(sys, name)))


def unwrap_std_streams() -> None:
    """Write what the wrappers hold back, and give ``sys.stdout`` / ``sys.stderr`` back."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, RedactingStream):
            stream.release()
            setattr(sys, name, stream.wrapped)


def console_handlers() -> list[logging.StreamHandler[Any]]:
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
            if not ready:
                self._send(pending)
                pending = b""
            elif len(pending) > _RELAY_CHUNK:  # a long line goes out in pieces, never half a key
                shown, pending = _split_unfinished_bytes(pending)
                self._send(shown)
            elif newline:
                self._send(complete + newline)
                pending = rest
        self._send(pending)
        os.close(self._read_end)
        os.close(self._destination)

    def _send(self, data: bytes) -> None:
        if not data:
            return
        cleaned = _redact_written_bytes(data)
        while cleaned:
            cleaned = cleaned[os.write(self._destination, cleaned):]


def relay_console_descriptors() -> list[FdRelay]:
    """In ipykernel: relay the descriptors that lead to the server's console (POSIX only)."""
    if os.name != "posix":
        return []
    fds = {getattr(stream, "_original_stdstream_copy", None) for stream in (sys.stdout, sys.stderr)}
    return [FdRelay(fd) for fd in sorted(fd for fd in fds if isinstance(fd, int))]
