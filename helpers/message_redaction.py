"""What the notebook guard redacts, and how: known secret values, and whole Jupyter messages.

`helpers.notebook_guard` redacts every output message of a kernel with the functions here:

* **known secret values**: values of environment variables whose names hold a secret word
  (`is_secret_name`: ``OPENAI_API_KEY``, ``OPENAI_API_KEY_PROD``, ``MY_KEY_OLD``, ``X_APIKEY``,
  ``DB_PASS``, ``GITHUB_PAT``, ``HF_TOKEN_2``...; not ``KEYBOARD`` nor ``SSH_KEY_PATH``), read
  again for every output, and values given to `register_secret`; on top of every key shape of
  `helpers.key_formats`;
* **every part of a message** that user code can fill: stream text, display data of *every*
  MIME type (``application/xml``, ``application/x-yaml``, ``application/vnd.foo+json``...),
  display and result metadata, error name, message and traceback, pager payloads. Binary data
  (base64 images, PDFs) cannot be redacted in place: an entry that holds a key is withheld.

`MessageRedactor` prepares the known secrets once per message, and passes a message that holds
no anchor of any key shape and no known value (the usual case) on untouched after one pass over
all of its text. So that no message can stall a kernel, whatever it holds, each message has two
budgets, measured on this project's 2-core machine: `READ_BUDGET` characters may be checked for
anchors (about 30 ns a character) and `SCAN_BUDGET` characters may be redacted (up to 0.4 us a
character for text crafted against `helpers.key_formats`, e.g. ``api_key:`` then megabytes of
spaces). Text beyond either budget is withheld with a notice, never shown unredacted: a message
of more than 12 million characters is withheld whole (Jupyter Server's default data-rate limit,
1 MB/s over 3 s, drops such output anyway).

Needs: ``redaction.py`` (and through it ``secret_values.py``, ``redacted_values.py``,
``quick_check.py``, ``key_formats.py``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .key_formats import might_contain_key
from .redaction import redact

__all__ = [
    "env_secrets", "forget_registered_secrets", "GuardError", "is_secret_name", "known_secrets",
    "MessageRedactor", "MIN_ENV_SECRET_LENGTH", "OUTPUT_MESSAGES", "READ_BUDGET", "redact_bundle",
    "redact_content", "redact_message", "redact_text", "redact_value", "register_secret",
    "SCAN_BUDGET", "SecretValueError", "WITHHELD", "WITHHELD_ITEMS", "WITHHELD_LARGE",
]

logger = logging.getLogger(__name__)

MIN_ENV_SECRET_LENGTH = 6
READ_BUDGET = 12_000_000  # characters per message that may be checked for anchors and known values
SCAN_BUDGET = 1_000_000  # characters per message that may be redacted (scanned for key shapes)
# What handling one string costs beyond its characters, counted in characters of each budget.
_STRING_COST = 64
_SCAN_STRING_COST = 32
# Words that make a variable name secret, wherever they stand in the name (singular only:
# MAX_TOKENS is a count), and last words that say the variable holds something *about* a
# secret (where it is, how long it lives), not the secret itself.
_SECRET_WORDS = frozenset({
    "key", "apikey", "secretkey", "accesskey", "privatekey", "token", "authtoken", "accesstoken",
    "apitoken", "secret", "clientsecret", "password", "passwd", "pass", "pwd", "passphrase", "pat",
})
_NOT_THE_VALUE = frozenset({
    "path", "file", "dir", "name", "arn", "url", "env", "var", "type", "id", "header", "prefix",
    "ttl", "timeout", "length", "version",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# Messages whose whole content can carry what user code printed, returned or typed.
OUTPUT_MESSAGES = frozenset({
    "stream", "display_data", "update_display_data", "execute_result", "error", "execute_reply",
    "inspect_reply", "input_request", "history_reply",
})
WITHHELD = "[output withheld: helpers.notebook_guard could not redact it]"
WITHHELD_LARGE = "[output withheld: {size} characters that may hold a key, too much to redact]"
WITHHELD_ITEMS = "[output withheld: {count} more items that may hold a key, too much to redact]"
WITHHELD_BINARY = "[{mimetype} output withheld: it holds a key]"
_TEXT_LIKE = ("json", "xml", "javascript", "yaml", "csv", "svg")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")

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

    def __init__(self, secrets: Iterable[str] = (), budget: int = SCAN_BUDGET,
                 read_budget: int = READ_BUDGET) -> None:
        values = sorted({s for s in secrets if isinstance(s, str) and s.strip()})
        self._cores = [(max(_ALNUM_RUN.findall(value), key=len, default=""), value) for value in values]
        self.budget, self.read_budget = budget, read_budget

    @classmethod
    def unbounded(cls, secrets: Iterable[str]) -> MessageRedactor:
        """A redactor that never withholds: for IPython's own records (history, log file)."""
        return cls(secrets, budget=sys.maxsize, read_budget=sys.maxsize)

    def needs_redaction(self, text: str) -> bool:
        """False when `text` surely holds neither a key shape nor a known value (cheap)."""
        return might_contain_key(text) or any(core in text for core, _ in self._cores)

    def _affordable(self, text: str) -> bool:
        """Can `text` be read within the budgets left? If so, count it as read."""
        if self.budget <= 0 or len(text) + _STRING_COST > self.read_budget:
            return False
        self.read_budget -= len(text) + _STRING_COST
        return True

    def text(self, text: str) -> str:
        """`text` redacted; withheld, unread, if it does not fit in what is left of the budgets."""
        if not self._affordable(text):
            return WITHHELD_LARGE.format(size=len(text))
        if not self.needs_redaction(text):
            return text
        if len(text) > self.budget:
            return WITHHELD_LARGE.format(size=len(text))
        self.budget -= len(text) + _SCAN_STRING_COST
        return redact_text(text, [value for core, value in self._cores if core in text])

    def value(self, value: Any) -> Any:
        """`value` (a string, or JSON-like lists and dicts of them) with every secret redacted."""
        if isinstance(value, str):
            return self.text(value)
        spent = self.budget <= 0 or self.read_budget <= _STRING_COST
        if spent and isinstance(value, list | tuple | dict):
            return WITHHELD_ITEMS.format(count=len(value))
        if isinstance(value, list | tuple):
            return self._items(value)
        if isinstance(value, dict):
            return {self.value(key): self.bundle(item) if key == "data" and isinstance(item, dict)
                    else self.value(item) for key, item in value.items()}
        return value

    def _items(self, items: list[Any] | tuple[Any, ...]) -> list[Any]:
        redacted = []
        for done, item in enumerate(items):
            if self.budget <= 0 or self.read_budget <= _STRING_COST:  # one notice for the rest
                redacted.append(WITHHELD_ITEMS.format(count=len(items) - done))
                break
            redacted.append(self.value(item))
        return redacted

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
                name = self.value(mimetype)  # before the data, which may spend the budget
                redacted[name] = self.value(data)
        return redacted

    def _binary_holds_secret(self, data: str | bytes) -> bool:
        """Base64 text (or bytes) of an image or file: is a key in its text or its bytes?"""
        texts = [data] if isinstance(data, str) else []
        decoded = _decoded_text(data)
        if decoded is not None:
            texts.append(decoded)
        return any(self.text(text) != text for text in texts)

    def strings_need_redaction(self, value: Any) -> bool:
        """Could anything in `value` need redacting? One pass over all of its text together."""
        # NUL is no part of any key, anchor or known-value core, so nothing matches across pieces.
        joined = "\x00".join(_strings_in(value))
        return not self._affordable(joined) or self.needs_redaction(joined)


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
            if (decoded := _decoded_text(data)) is not None:
                yield decoded
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


def _decoded_text(data: str | bytes) -> str | None:
    """`_decoded` as text, one character per byte, for the key shapes to be looked for in it."""
    decoded = _decoded(data)
    return None if decoded is None else decoded.decode("latin-1")  # pragma: no mutate - "LATIN-1": same codec


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
