"""What a log formatter prints of any value, redacted: `clean_value(value, known)`.

A value passed in ``extra=`` reaches the log however the formatter prints it: ``%(name)s`` calls
``str()``, ``%(name)r`` calls ``repr()``, a JSON formatter walks dicts and lists and calls ``str()``
on the rest. `clean_value` returns the value itself when none of those shows a secret (so a
record without secrets is written exactly as without redaction), else a copy that shows none:

* strings are redacted; numbers, booleans and None are kept;
* dicts (keys too), lists, tuples, sets, frozensets and namedtuples are rebuilt from cleaned parts,
  so a JSON formatter still sees their structure, and their printed whole is checked as well, for
  a secret that only its context reveals (``{"api_key": "..."}``);
* anything else (bytes, an ``httpx2.URL``, a dataclass, a value nested deeper than 100 levels) is
  judged by its ``str()`` and ``repr()``: when either shows a secret, a `RedactedValue` (a string
  whose ``repr`` is the redacted ``repr``) stands in for it. A value that cannot be printed is
  replaced by a note, so the formatter does not fail on it.

Needs: ``secret_values.py`` (`SecretValues` does the redacting; it needs ``key_formats.py`` and
``quick_check.py``); the standard library only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import cast

from .secret_values import SecretValues

__all__ = ["RedactedValue", "clean_value", "printed"]

_MAX_NESTING = 100  # deeper than this, a value is judged by its printed form, not rebuilt
_PLAIN_TYPES = (int, float, bool, type(None))


class RedactedValue(str):
    """What stands in for a value that showed a secret: its ``str()`` and its ``repr()``, redacted."""

    representation: str

    def __new__(cls, text: str, representation: str | None = None) -> RedactedValue:
        value = super().__new__(cls, text)
        value.representation = text if representation is None else representation
        return value

    def __repr__(self) -> str:
        return self.representation


def printed(value: object, show: Callable[[object], str] = str) -> str:
    """``str(value)`` or ``repr(value)``, or a note saying it cannot be printed."""
    try:
        return show(value)
    except Exception as error:
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def clean_value(value: object, known: SecretValues) -> object:
    """`value`, or a copy of it with nothing a formatter prints showing a secret.

    Containers are rebuilt with clean parts, so a JSON formatter still sees their structure; the
    printed whole is checked too, for a secret that only its context reveals (``{"api_key": x}``).
    """
    if type(value) is str:
        return known.redact(value)
    if type(value) in _PLAIN_TYPES:
        return value
    if _rebuilder(value) is None:
        return _clean_opaque(value, known)
    try:
        cleaned = _clean_part(value, known, depth=0, path=set())
    except Exception:  # e.g. a namedtuple whose class cannot be rebuilt: judge it as printed
        return _clean_opaque(value, known)
    whole = printed(cleaned, repr)
    redacted = known.redact(whole)
    if redacted != whole:
        return RedactedValue(known.redact(printed(cleaned)), redacted)
    return cleaned


def _clean_part(value: object, known: SecretValues, depth: int, path: set[int]) -> object:
    kind = type(value)
    if kind is str:
        return known.redact(value)  # type: ignore[arg-type]
    if kind in _PLAIN_TYPES:
        return value
    rebuild = _rebuilder(value)
    if rebuild is None or depth >= _MAX_NESTING:
        return _clean_opaque(value, known)
    if id(value) in path:  # a container that holds itself
        return RedactedValue("[...]")
    path.add(id(value))
    items = _items(value)
    parts = [_clean_part(part, known, depth + 1, path) for part in items]
    path.discard(id(value))
    return value if all(map(operator.is_, parts, items)) else rebuild(value, parts)


def _rebuilder(value: object) -> Callable[[object, list[object]], object] | None:
    """How to rebuild `value` from cleaned parts: for dicts, lists, tuples, sets and namedtuples."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _rebuild_namedtuple
    return _REBUILD.get(type(value))


def _items(value: object) -> list[object]:
    """The parts of a container; a dict's are its (key, value) pairs, cleaned as tuples."""
    if isinstance(value, dict):
        return list(value.items())
    return list(cast("Iterable[object]", value))  # pragma: no mutate - cast() does nothing at run time


def _rebuild_namedtuple(value: object, parts: list[object]) -> object:
    return type(value)._make(parts)  # type: ignore[attr-defined]


_REBUILD: dict[type, Callable[[object, list[object]], object]] = {
    dict: lambda value, parts: dict(parts),  # type: ignore[arg-type]
    list: lambda value, parts: parts,
    tuple: lambda value, parts: tuple(parts),
    set: lambda value, parts: set(parts),
    frozenset: lambda value, parts: frozenset(parts),
}


def _clean_opaque(value: object, known: SecretValues) -> object:
    """Any other object (bytes, URLs, dataclasses, deep nests): judged by what it prints."""
    text, representation = printed(value), printed(value, repr)
    clean_text, clean_repr = known.redact(text), known.redact(representation)
    if clean_text == text and clean_repr == representation and not text.startswith("<unprintable "):
        return value
    return RedactedValue(clean_text, clean_repr)
