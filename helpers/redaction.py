"""Keep API keys out of logs: redact key shapes and known secret values from every log record.

`install_redaction()` puts one `RedactingFilter` on the *handlers* of the root logger. A filter on
a logger sees only the records logged on that very logger: records of child loggers (``app.db``)
and of libraries (``openai``, ``httpx2``, ``botocore``) propagate to their ancestors' handlers
without passing their ancestors' filters. Handler filters see them all::

    install_redaction(secrets=secrets_from(settings))
    logging.getLogger("app").info("using %s", key)     # -> using [REDACTED openai-project 1ae21d3c]

The filter cleans everything a formatter can print: the message rendered with its arguments, the
exception and its traceback, ``stack_info``, the logger's, thread's and process's names, and every
``extra`` field at any depth (strings, bytes, containers, dict keys, namedtuples, and any object
whose ``str()`` or ``repr()`` shows a secret, such as an ``httpx2.URL`` with ``?key=``). Markers,
known values and `register_secrets` (values learnt at run time) come from `helpers.secret_values`.

A record is never lost: arguments that do not fit the message and values that cannot be printed
are written as a safe note; only a bug in redaction itself withholds the record's content
(`FALLBACK`), rather than writing it in clear. The common record (no secret, no ``extra``, no
exception) costs a render, one `QuickCheck` and a few look-ups: ``python -m benchmarks.redaction``.

Handlers added after `install_redaction()` (``logging.basicConfig``, ``dictConfig``, a library's
own handler) are not covered until you call `install_redaction()` again (it is idempotent) or
`protect_handler(handler)`.

Needs: ``secret_values.py`` (markers, known values; it needs ``key_formats.py`` and
``quick_check.py``), ``redacted_values.py`` (``extra`` values); the standard library only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .redacted_values import RedactedValue, clean_value, printed
from .secret_values import (
    _REGISTRY,
    KNOWN_SECRET,
    Secret,
    SecretValues,
    forget_secrets,
    marker,
    redact,
    redact_key_shapes,
    register_secrets,
    secrets_from,
)

__all__ = [
    "FALLBACK", "RedactingFilter", "install_redaction", "protect_handler", "uninstall_redaction",
    # from helpers.secret_values and helpers.redacted_values, for one import line in notebooks:
    "KNOWN_SECRET", "RedactedValue", "SecretValues", "forget_secrets", "marker", "redact",
    "redact_key_shapes", "register_secrets", "secrets_from",
]

FALLBACK = "[log record withheld: redaction failed with {error}]"
# The attributes of a fresh record: any other attribute came from ``extra=``. A formatter adds two.
_PLAIN_ATTRIBUTES = frozenset(vars(logging.LogRecord("name", logging.INFO, "path", 1, "msg", None, None)))
_STANDARD_ATTRIBUTES = _PLAIN_ATTRIBUTES | {"message", "asctime"}
_PLAIN_COUNT = len(_PLAIN_ATTRIBUTES)
_NAMES = ("name", "threadName", "processName")  # names a program may make up (not code locations)
_TRACEBACK_FORMATTER = logging.Formatter()


# -- the filter ------------------------------------------------------------------------------------------

class _NoArgs(tuple[object, ...]):
    """Empty ``args`` that also say "cleaned by this filter": each filter has its own instance."""


class RedactingFilter(logging.Filter):
    """A handler filter that redacts key shapes and known secret values from whole records.

    It renders ``msg % args`` itself, redacts the result and stores it back as ``msg`` with no
    ``args``; it formats the exception into ``exc_text`` (redacted) and clears ``exc_info``; it
    replaces each ``extra`` value that shows a secret. It always lets the record through.
    """

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        super().__init__()
        self.secrets = SecretValues(secrets)
        self._cleaned = _NoArgs()
        self._refresh_known()

    def add_secrets(self, secrets: Iterable[Secret]) -> None:
        """Redact these values too (e.g. keys loaded after logging was set up)."""
        self.secrets = self.secrets.union(secrets)  # one assignment: safe for logging threads
        self._refresh_known()

    def redact(self, text: str) -> str:
        """`text` with key shapes, this filter's and the registered values replaced by markers."""
        return self.secrets.with_registered().redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Every record passes here: the common case (no extra, no exception, nothing that looks
        # like a secret) costs one render, one quick check and a few look-ups.
        if record.args is self._cleaned:  # another handler's turn: cleaned already, let it through
            return True
        try:
            if self._registered is not _REGISTRY.values:  # pragma: no mutate - refreshing more: only slower
                self._refresh_known()
            known = self._known
            try:
                text = record.getMessage()
            except Exception as error:  # bad arguments: write them safely rather than lose the record
                text = _unmerged_message(record, error)
            if known.might_hold_secret(text):
                text = known.redact_found(text)
            record.msg, record.args = text, self._cleaned
            if len(record.__dict__) != _PLAIN_COUNT or record.exc_info or record.exc_text \
                    or record.stack_info:
                _clean_the_rest(record, known)
            seen = self._clean_names
            if record.name not in seen or record.threadName not in seen or record.processName not in seen:
                self._check_names(record, known)
        except Exception as error:  # logging must never raise, nor fall back to clear text
            _replace_with_fallback(record, error)
        return True

    def _refresh_known(self) -> None:
        """This filter's values and the registered ones, after `register_secrets` changed them."""
        # (Any other value in _registered makes the next record refresh again: only slower.)
        registered = _REGISTRY.values  # pragma: no mutate
        self._known: SecretValues = self.secrets.with_registered()
        self._clean_names: set[object] = set()  # logger and thread names seen clean (since the last change)
        self._registered = registered  # pragma: no mutate

    def _check_names(self, record: logging.LogRecord, known: SecretValues) -> None:
        """The logger's, thread's and process's names: cleaned, and remembered when clean."""
        # Bounded (names made up at run time); the exact bound changes no output.
        if len(self._clean_names) > 4096:  # pragma: no mutate
            self._clean_names.clear()
        fields = record.__dict__
        for name in _NAMES:
            value = fields.get(name)
            cleaned = known.redact(value) if isinstance(value, str) else value
            if cleaned is value:  # remembered clean (a name never remembered is only checked again)
                self._clean_names.add(value)  # pragma: no mutate
            else:
                fields[name] = cleaned


def _clean_the_rest(record: logging.LogRecord, known: SecretValues) -> None:
    """What few records have: a cached rendering, an exception, a stack, ``extra`` fields."""
    fields = record.__dict__
    if "message" in fields:  # an earlier handler has formatted this record already
        record.message = record.msg
    if record.exc_info or record.exc_text or record.stack_info:
        _clean_traces(record, known)
    for name in fields.keys() - _STANDARD_ATTRIBUTES:
        fields[name] = clean_value(fields[name], known)


def _clean_traces(record: logging.LogRecord, known: SecretValues) -> None:
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = known.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = known.redact(record.stack_info)


def _unmerged_message(record: logging.LogRecord, error: Exception) -> str:
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    shown = ", ".join(printed(arg, repr) for arg in args)
    return f"{printed(record.msg)} [arguments not merged, {type(error).__name__}: {shown}]"


def _replace_with_fallback(record: logging.LogRecord, error: Exception) -> None:
    """Turn a record that could not be cleaned into one that holds nothing of its content."""
    text = FALLBACK.format(error=type(error).__name__)
    record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
    record.stack_info = None
    for name in vars(record).keys() - _STANDARD_ATTRIBUTES:
        setattr(record, name, text)
    if "message" in vars(record):
        record.message = text


# -- installing --------------------------------------------------------------------------------------

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


def install_redaction(
    logger: logging.Logger | None = None, secrets: Iterable[Secret] = ()
) -> RedactingFilter:
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
