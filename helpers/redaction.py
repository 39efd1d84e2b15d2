"""Keep API keys out of logs: redact key shapes and known secret values from every log record.

`redact` replaces every key shape from `helpers.key_formats` and every known secret value with a
marker that keeps the format and a fingerprint (two lines about the same key can be matched) and
nothing of the key itself::

    [REDACTED openai-project 1ae21d3c]

`install_redaction()` puts one `RedactingFilter` on the *handlers* of the root logger. A filter on
a logger sees only the records logged on that very logger: records of child loggers (``app.db``)
and of libraries (``openai``, ``httpx2``, ``botocore``) propagate to their ancestors' handlers
without passing their ancestors' filters. Handler filters see them all.

The filter cleans the whole record, not only ``msg``: the message rendered with its arguments,
the exception and its traceback, ``stack_info`` and the string values of ``extra`` fields. It
never raises: a record it cannot clean is replaced by a safe text, never passed on in clear.

Handlers added after `install_redaction()` (``logging.basicConfig``, ``dictConfig``, a library's
own handler) are not covered until you call `install_redaction()` again (it is idempotent) or
`protect_handler(handler)`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .key_formats import find_keys, fingerprint

KNOWN_SECRET = "known-secret"
FALLBACK = "[record dropped by redaction: {error}]"
_MAX_DEPTH = 6  # how deep secrets_from and extra-field redaction look inside nested objects
# The attributes of a fresh record: any other attribute came from ``extra=``. A formatter adds two.
_PLAIN_ATTRIBUTES = frozenset(vars(logging.LogRecord("name", logging.INFO, "path", 1, "msg", None, None)))
_STANDARD_ATTRIBUTES = _PLAIN_ATTRIBUTES | {"message", "asctime"}
_TRACEBACK_FORMATTER = logging.Formatter()


def marker(kind: str, secret: str) -> str:
    """The text that stands in for a redacted secret: its kind and fingerprint."""
    return f"[REDACTED {kind} {fingerprint(secret)}]"


class SecretValues:
    """A fixed set of known secret values, prepared once so that each search is cheap.

    Values are stripped; empty ones are ignored. ``repr`` shows fingerprints, never values.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        cleaned = {s.strip() for s in secrets if isinstance(s, str) and s.strip()}
        self.values: tuple[str, ...] = tuple(sorted(cleaned))
        # Each value also as repr() and JSON write it (a quote or a backslash comes out escaped,
        # e.g. in a KeyError or a JSON log line); every spelling is redacted as the value itself.
        self._spelled: dict[str, str] = {
            spelling: value
            for value in self.values
            for spelling in (repr(value)[1:-1], json.dumps(value)[1:-1], value)
        }
        # Longest first: where one secret contains another, the whole of the longer one goes.
        spellings = sorted(self._spelled, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, spellings))) if spellings else None

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"SecretValues({', '.join(fingerprint(v) for v in self.values)})"

    def union(self, secrets: Iterable[str]) -> SecretValues:
        """A new set holding these values and `secrets`."""
        return SecretValues((*self.values, *secrets))

    def redact(self, text: str) -> str:
        """`text` with every known value replaced by a marker."""
        if self._pattern is None or not self._pattern.search(text):  # the common case: no secret
            return text
        return self._pattern.sub(lambda m: marker(KNOWN_SECRET, self._spelled[m.group()]), text)


def redact_key_shapes(text: str) -> str:
    """`text` with every key shape of the catalogue replaced by a marker."""
    pieces, last = [], 0
    for key in find_keys(text):
        pieces += [text[last:key.start], marker(key.format.name, key.secret)]
        last = key.end
    return "".join(pieces) + text[last:] if pieces else text


def redact(text: str, secrets: Iterable[str] | SecretValues = ()) -> str:
    """`text` with every key shape and every value in `secrets` replaced by a marker."""
    known = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    return known.redact(redact_key_shapes(text))


def secrets_from(*sources: object) -> tuple[str, ...]:
    """Every secret value held in `sources`, ready for ``install_redaction(secrets=...)``.

    A secret is anything with a ``get_secret_value()`` method (pydantic's ``SecretStr`` and
    ``SecretBytes``), found in settings objects, mappings and sequences, nested or not. Duck
    typing keeps this module free of a pydantic import::

        install_redaction(secrets=secrets_from(settings))
    """
    found: list[str] = []
    for source in sources:
        _collect_secrets(source, found, seen=set(), depth=0)
    return tuple(dict.fromkeys(found))


def _collect_secrets(value: object, found: list[str], seen: set[int], depth: int) -> None:
    reveal = getattr(value, "get_secret_value", None)
    if callable(reveal):
        secret = reveal()
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", errors="replace")
        if isinstance(secret, str) and secret.strip():
            found.append(secret)
        return
    if depth >= _MAX_DEPTH or id(value) in seen or isinstance(value, (str, bytes, int, float, type)):
        return
    seen.add(id(value))
    if isinstance(value, Mapping):
        children: Iterable[object] = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = value
    elif hasattr(value, "__dict__"):
        children = vars(value).values()
    else:
        return
    for child in children:
        _collect_secrets(child, found, seen, depth + 1)


class _NoArgs(tuple):
    """Empty ``args`` that also say "cleaned by this filter": each filter has its own instance."""


class RedactingFilter(logging.Filter):
    """A handler filter that redacts key shapes and known secret values from whole records.

    It renders ``msg % args`` itself, redacts the result and stores it back as ``msg`` with no
    ``args``; it formats the exception into ``exc_text`` (redacted) and clears ``exc_info``, so
    formatters print the cleaned text. It always lets the record through.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = SecretValues(secrets)
        self._cleaned = _NoArgs()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Redact these values too (e.g. keys loaded after logging was set up)."""
        self.secrets = self.secrets.union(secrets)  # one assignment: safe for logging threads

    def redact(self, text: str) -> str:
        """`text` with key shapes and this filter's known values replaced by markers."""
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args is self._cleaned:  # a second handler of the same record: done already
            return True
        try:
            self._clean(record)
        except Exception as error:  # logging must never raise, nor fall back to clear text
            _replace_with_fallback(record, error)
        return True

    def _clean(self, record: logging.LogRecord) -> None:
        record.msg, record.args = self.redact(record.getMessage()), self._cleaned
        if "message" in vars(record):  # an earlier handler has formatted this record already
            record.message = record.msg
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        if len(vars(record)) > len(_PLAIN_ATTRIBUTES):  # a cheap test: most records have no extra
            for name in vars(record).keys() - _STANDARD_ATTRIBUTES:
                setattr(record, name, self._redact_value(getattr(record, name), depth=0))

    def _redact_value(self, value: Any, depth: int) -> Any:
        """Strings redacted; dicts, lists and tuples rebuilt with their strings redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, dict):
            return {k: self._redact_value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._redact_value(v, depth + 1) for v in value)
        return value


def _replace_with_fallback(record: logging.LogRecord, error: Exception) -> None:
    """Turn a record that could not be cleaned into one that holds nothing of its content."""
    text = FALLBACK.format(error=type(error).__name__)
    record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
    record.stack_info = None
    for name in vars(record).keys() - _STANDARD_ATTRIBUTES:
        setattr(record, name, text)
    if "message" in vars(record):
        record.message = text


def _filter_of(handler: logging.Handler) -> RedactingFilter | None:
    return next((f for f in handler.filters if isinstance(f, RedactingFilter)), None)


def protect_handler(
    handler: logging.Handler, redacting_filter: RedactingFilter | None = None
) -> RedactingFilter:
    """Make sure `handler` redacts; return the filter that does it.

    A handler that already has a `RedactingFilter` keeps it (and learns the secrets of
    `redacting_filter`, if given): calling this twice never stacks filters.
    """
    existing = _filter_of(handler)
    if existing is None:
        existing = redacting_filter or RedactingFilter()
        handler.addFilter(existing)
    elif redacting_filter is not None and redacting_filter is not existing:
        existing.add_secrets(redacting_filter.secrets.values)
    return existing


def _handlers_to_protect(logger: logging.Logger | None) -> list[logging.Handler]:
    if logger is not None:
        return list(logger.handlers)
    existing = list(logging.Logger.manager.loggerDict.values())  # also holds placeholders
    loggers = [logging.getLogger(), *(each for each in existing if isinstance(each, logging.Logger))]
    handlers = [handler for each in loggers for handler in each.handlers]
    if logging.lastResort is not None:  # what prints WARNING and above when no handler is set up
        handlers.append(logging.lastResort)
    return list(dict.fromkeys(handlers))


def install_redaction(logger: logging.Logger | None = None, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Put one shared `RedactingFilter` on the handlers of `logger`; return it.

    With no `logger`: the root logger's handlers, the handlers of every logger that exists so
    far, and ``logging.lastResort``, so records of every logger (``openai``, ``httpx2``,
    ``botocore``, your own) are cleaned wherever they are written. Idempotent: calling it again
    adds no second filter, only the new `secrets`, and covers handlers added since. Set up your
    handlers first (``basicConfig``, ``dictConfig``), then call this.
    """
    handlers = _handlers_to_protect(logger)
    shared = next((f for f in map(_filter_of, handlers) if f is not None), None) or RedactingFilter()
    shared.add_secrets(secrets)
    for handler in handlers:
        protect_handler(handler, shared)
    return shared


def uninstall_redaction(logger: logging.Logger | None = None) -> None:
    """Remove every `RedactingFilter` that `install_redaction(logger)` would have put in place."""
    for handler in _handlers_to_protect(logger):
        while (found := _filter_of(handler)) is not None:
            handler.removeFilter(found)


__all__ = [
    "FALLBACK", "KNOWN_SECRET", "RedactingFilter", "SecretValues", "install_redaction", "marker",
    "protect_handler", "redact", "redact_key_shapes", "secrets_from", "uninstall_redaction",
]
