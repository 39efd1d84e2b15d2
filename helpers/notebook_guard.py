"""An IPython extension that keeps API keys out of what a notebook cell shows.

Load it in the first cell of a notebook::

    %load_ext helpers.notebook_guard

From then on every key shape known to `helpers.key_formats`, and every known secret value, is
replaced by a marker such as ``[REDACTED openai-project 1ae21d3c]`` in everything a cell shows:

* stdout and stderr (``print``, logging to the console, a thread's output, ``!echo``);
* ``display()`` output: text/plain, text/html, text/markdown, application/json and other text
  formats (images and other binary formats are left alone);
* the value of the cell's last expression;
* errors: the error still shows (its type, message and traceback), without the secret;
* IPython's own record of each cell's outputs, which ``%notebook FILE`` exports.

Known secret values are the values of environment variables whose names end in ``_KEY``,
``_TOKEN``, ``_SECRET`` or ``_PASSWORD`` (optionally followed by ``_1``, ``_2``, ... as in key
pools), read again for every output, so a key loaded from ``.env`` after this extension is still
covered; plus any value passed to `register_secret`. Values shorter than
`MIN_ENV_SECRET_LENGTH` characters are skipped (``DEBUG_KEY=1`` would turn every ``1`` into a
marker).

How: in a Jupyter kernel everything a cell shows leaves the kernel as a message sent through
``ip.kernel.session.send``: the extension wraps that one method and redacts the content of the
messages that carry output. (Patching ``sys.stdout`` or the kernel's per-thread output hooks
would miss output written from other threads or flushed later.) In a plain IPython terminal
there is no kernel: the extension then wraps ``sys.stdout`` and ``sys.stderr`` while each cell
runs, which covers prints, the last expression's value and tracebacks.

What it cannot do:

* clean outputs saved before it was loaded, or the cell's *source*: a key typed into a cell is
  in the notebook file whatever this extension does;
* see a key split across outputs (``print(key[:10]); print(key[10:])``) or transformed
  (base64, reversed): only whole keys and whole known values are recognised;
* guard widget (comm) messages, files the code writes, or logs sent elsewhere (use
  `helpers.redaction.install_redaction` for logging);
* change the values themselves: ``key``, ``_`` and ``Out`` still hold the key in the kernel.

It is a safety net for mistakes, not a licence to print keys.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from .redaction import redact

__all__ = [
    "env_secrets", "forget_registered_secrets", "known_secrets", "load_ipython_extension",
    "MIN_ENV_SECRET_LENGTH", "OUTPUT_FIELDS", "redact_bundle", "redact_content", "redact_message",
    "redact_text", "redact_value", "RedactingStream", "register_secret", "SECRET_NAME",
    "unload_ipython_extension", "WITHHELD",
]

SECRET_NAME = re.compile(r"_(?:KEY|TOKEN|SECRET|PASSWORD)(?:_\d+)?$", re.IGNORECASE)
MIN_ENV_SECRET_LENGTH = 6

# Fields of each outgoing message type that can carry what user code printed or returned.
OUTPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "stream": ("text",),
    "display_data": ("data",),
    "update_display_data": ("data",),
    "execute_result": ("data",),
    "error": ("evalue", "traceback"),
    "execute_reply": ("evalue", "traceback", "user_expressions", "payload"),  # payload: `key?`
    "inspect_reply": ("data",),
}
WITHHELD = "[output withheld: helpers.notebook_guard could not redact it]"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GUARD_MARK = "_notebook_guard_original"

_registered: set[str] = set()
_registered_lock = threading.Lock()


# --- which values are secret ------------------------------------------------------------------


def register_secret(value: Any) -> None:
    """Treat `value` as a secret from now on, wherever it appears in a cell's output.

    Accepts a string or anything with ``get_secret_value()`` (pydantic's ``SecretStr``).
    """
    secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("register_secret() needs a non-empty string (or SecretStr) value")
    with _registered_lock:
        _registered.add(secret)


def forget_registered_secrets() -> None:
    """Drop every value given to `register_secret` (environment variables still count)."""
    with _registered_lock:
        _registered.clear()


def env_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of the variables in `environ` (default: ``os.environ``) whose names mark a secret."""
    environ = os.environ if environ is None else environ
    found = set()
    for name in list(environ):  # a snapshot: another thread may change the environment
        value = environ.get(name) or ""
        if SECRET_NAME.search(name) and len(value.strip()) >= MIN_ENV_SECRET_LENGTH:
            found.add(value)
    return found


def known_secrets() -> set[str]:
    """Every value the guard redacts besides key shapes: secret variables and registered values."""
    with _registered_lock:
        registered = set(_registered)
    return env_secrets() | registered


# --- redacting outputs -------------------------------------------------------------------------


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`redact`, also where colour codes (tracebacks, coloured logs) sit inside a key."""
    cleaned = redact(text, secrets)
    if "\x1b" not in cleaned:
        return cleaned
    plain = _ANSI_ESCAPE.sub("", cleaned)
    plain_cleaned = redact(plain, secrets)
    # A key still visible once the colours are gone: give up the colours, keep the secret out.
    return cleaned if plain_cleaned == plain else plain_cleaned


def _is_binary_mimetype(mimetype: str) -> bool:
    """image/png, application/pdf, ...: base64 data, where no key can be read."""
    is_text = mimetype.startswith("text/") or mimetype.endswith(("json", "+xml", "javascript"))
    return "/" in mimetype and not is_text


def redact_bundle(bundle: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A display's mimetype -> data mapping, redacted; binary entries pass as they are (fast)."""
    return {mimetype: data if _is_binary_mimetype(mimetype) else redact_value(data, secrets)
            for mimetype, data in bundle.items()}


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (a string, or JSON-like lists and dicts of them) with every secret redacted."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list | tuple):
        return [redact_value(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact_value(key, secrets): redact_value(item, secrets) for key, item in value.items()}
    return value


def _withheld(value: Any) -> Any:
    """What is shown instead of an output that could not be redacted: a notice, never the text."""
    if isinstance(value, dict):
        return {"text/plain": WITHHELD}
    return [WITHHELD] if isinstance(value, list) else WITHHELD


def _redact_field(name: str, value: Any, secrets: Iterable[str]) -> Any:
    if name == "data" and isinstance(value, dict):
        return redact_bundle(value, secrets)
    return redact_value(value, secrets)


def redact_content(msg_type: str, content: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A copy of a message's `content` with secrets redacted from the fields that carry output."""
    fields = [name for name in OUTPUT_FIELDS.get(msg_type, ()) if name in content]
    if not fields:
        return content
    secrets = tuple(secrets)
    try:
        redacted = {name: _redact_field(name, content[name], secrets) for name in fields}
    except Exception:  # a bug here must hide the output, not let it through in clear
        redacted = {name: _withheld(content[name]) for name in fields}
    return {**content, **redacted}


def redact_message(msg: dict[str, Any], secrets: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy of a Jupyter message dict (header, content, ...) with its output redacted."""
    msg_type = msg.get("header", {}).get("msg_type", "")
    if msg_type not in OUTPUT_FIELDS:
        return msg
    secrets = known_secrets() if secrets is None else secrets
    return {**msg, "content": redact_content(msg_type, msg.get("content") or {}, secrets)}


# --- in a kernel: wrap session.send ------------------------------------------------------------


def _guarded_send(original: Callable[..., Any]) -> Callable[..., Any]:
    """`Session.send` that redacts output messages, whether given as a type or as a whole message."""

    def send(stream: Any, msg_or_type: Any, content: dict[str, Any] | None = None,
             *args: Any, **kwargs: Any) -> Any:
        if isinstance(msg_or_type, dict):
            msg_or_type = redact_message(msg_or_type)
        elif msg_or_type in OUTPUT_FIELDS and content:
            content = redact_content(msg_or_type, content, known_secrets())
        return original(stream, msg_or_type, content, *args, **kwargs)

    setattr(send, _GUARD_MARK, original)
    return send


def _guard_session(session: Any) -> None:
    if not hasattr(session.send, _GUARD_MARK):
        session.send = _guarded_send(session.send)


def _unguard_session(session: Any) -> None:
    original = getattr(session.send, _GUARD_MARK, None)
    if original is None:
        return
    if getattr(original, "__self__", None) is session and original.__func__ is type(session).send:
        del session.send  # back to the class's own method, exactly as before
    else:
        session.send = original


# --- in a terminal: wrap sys.stdout and sys.stderr while a cell runs ---------------------------


class RedactingStream:
    """A text stream that redacts everything written to it before passing it on."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def write(self, text: str) -> int:
        self.wrapped.write(redact_text(text, known_secrets()))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _wrap_std_streams(*_: Any) -> None:
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), RedactingStream):
            setattr(sys, name, RedactingStream(getattr(sys, name)))


def _unwrap_std_streams(*_: Any) -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, RedactingStream):
            setattr(sys, name, stream.wrapped)


# --- IPython's own record of outputs (used by %notebook FILE and %history -o) -----------------


def _redact_history(result: Any) -> None:
    """Redact what IPython kept of the cell that just ran (a ``post_run_cell`` callback)."""
    from IPython import get_ipython  # imported here: importing this module needs no IPython

    history = getattr(get_ipython(), "history_manager", None)
    count = getattr(result, "execution_count", None)  # None when the cell is not in history
    if history is None or count is None:
        return
    secrets = known_secrets()
    for output in history.outputs.get(count, []):
        output.bundle = redact_bundle(output.bundle, secrets)
    if count in history.exceptions:
        history.exceptions[count] = redact_value(history.exceptions[count], secrets)
    if count in history.output_hist_reprs:
        history.output_hist_reprs[count] = redact_text(history.output_hist_reprs[count], secrets)


# --- the extension -----------------------------------------------------------------------------


def _kernel_session(ip: Any) -> Any | None:
    return getattr(getattr(ip, "kernel", None), "session", None)


_CALLBACKS = (
    ("pre_run_cell", _wrap_std_streams),
    ("post_run_cell", _unwrap_std_streams),
    ("post_run_cell", _redact_history),
)


def _register_once(ip: Any, event: str, callback: Callable[..., None]) -> None:
    if callback not in ip.events.callbacks[event]:
        ip.events.register(event, callback)


def load_ipython_extension(ip: Any) -> None:
    """Start redacting this shell's output (``%load_ext helpers.notebook_guard``). Idempotent."""
    _register_once(ip, "post_run_cell", _redact_history)
    session = _kernel_session(ip)
    if session is not None:
        _guard_session(session)
        return
    _register_once(ip, "pre_run_cell", _wrap_std_streams)
    _register_once(ip, "post_run_cell", _unwrap_std_streams)
    _wrap_std_streams()  # the rest of the cell that loads the extension is covered too


def unload_ipython_extension(ip: Any) -> None:
    """Stop redacting (``%unload_ext helpers.notebook_guard``): output shows as it did before."""
    for event, callback in _CALLBACKS:
        if callback in ip.events.callbacks[event]:
            ip.events.unregister(event, callback)
    session = _kernel_session(ip)
    if session is not None:
        _unguard_session(session)
    _unwrap_std_streams()

