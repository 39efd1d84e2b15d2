"""Known secret values and the markers that replace secrets: `redact(text, secrets)`.

`redact` replaces every key shape from `helpers.key_formats` and every known secret value with a
marker that keeps the kind of secret and an id (two lines about the same key can be matched) and
nothing of the secret itself::

    [REDACTED openai-project 1ae21d3c]      a provider key: its public fingerprint
    [REDACTED known-secret ~5e0c27d9]       anything else: an id keyed for this process only

The public fingerprint (``key_formats.fingerprint``, as key_pool and the checklist print it) is
shown only for keys found by a provider's shape that carry at least 64 bits by `estimated_bits`: only
those are out of reach of a brute-force search of an 8-hex-digit SHA-256 prefix. Known secrets
(passwords, PINs), values found by their context alone (``Bearer x``, ``?key=x``) and short or
repetitive keys get a ``~`` id: a keyed BLAKE2 hash with a random key made once per process, so
lines of one run still match each other and nobody can test guesses against the log.

A known value is redacted however a log line spells it (`spellings`: escaped by ``repr``, JSON,
``bytes``, percent-encoded in a URL as ``quote_plus`` writes a database password, HTML). Values
come from `SecretValues(secrets)`, from `secrets_from(settings)` (every ``SecretStr`` inside), and
from `register_secrets([value])`, which code that learns a secret at run time (a secret store)
calls so that every `redact()` and every log filter redacts it from then on.

Needs: ``key_formats.py`` (the catalogue), ``quick_check.py`` (the cheap test that most texts
pass untouched); the standard library only.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Protocol
from urllib.parse import quote, quote_plus

from .key_formats import KEY_FORMATS, find_keys, fingerprint
from .quick_check import QuickCheck

__all__ = [
    "KNOWN_SECRET", "PUBLIC_FINGERPRINT_BITS", "RedactionError", "RevealsSecret", "Secret", "SecretValues",
    "SecretsArgumentError", "estimated_bits", "forget_secrets", "marker", "redact", "redact_key_shapes",
    "register_secrets", "secrets_from", "spellings",
]

KNOWN_SECRET = "known-secret"
PUBLIC_FINGERPRINT_BITS = 64
_SHAPES = frozenset(fmt.name for fmt in KEY_FORMATS if not fmt.context)  # found by shape, not context
# Every match of a key format holds one of its anchors, in the lower-cased text, followed by what
# the format's `after_anchor` says (as `key_formats.might_contain_key` checks).
_ANCHORS = frozenset((anchor, getattr(fmt, "after_anchor", ""))
                     for fmt in KEY_FORMATS for anchor in fmt.anchors)


class RedactionError(Exception):
    """Base class of this module's errors."""


class SecretsArgumentError(RedactionError, TypeError):
    """One string given where a list of secret values belongs (it would redact each character)."""


class RevealsSecret(Protocol):
    """pydantic's ``SecretStr`` and ``SecretBytes``, or anything else that hides a value the same way."""

    def get_secret_value(self) -> str | bytes: ...


Secret = str | bytes | RevealsSecret


# -- markers -------------------------------------------------------------------------------------

def marker(kind: str, secret: str) -> str:
    """The text that stands in for a redacted secret: its kind and an id that cannot reveal it."""
    return f"[REDACTED {kind} {_marker_id(kind, secret)}]"


@lru_cache(maxsize=4096)  # a key logged on every request costs one dictionary look-up
def _marker_id(kind: str, secret: str) -> str:
    if kind in _SHAPES and estimated_bits(secret) >= PUBLIC_FINGERPRINT_BITS:
        return fingerprint(secret)
    return _keyed_id(secret)


def _keyed_id(secret: str) -> str:
    """``~`` and 8 hex digits of a BLAKE2 hash keyed with this process's random key."""
    keyed = hashlib.blake2b(secret.encode(errors="surrogatepass"), key=_process_key(), digest_size=4)
    return "~" + keyed.hexdigest()


@cache
def _process_key() -> bytes:
    return os.urandom(32)


def estimated_bits(secret: str) -> float:
    """A rough upper estimate of a value's randomness in bits.

    Its length times the entropy of its characters, discounted by the share of its three-character
    pieces that repeat, so ``ab12ab12...`` counts for little although it uses four characters evenly.
    """
    counts, length = Counter(secret), len(secret)
    bits = -sum(n * math.log2(n / length) for n in counts.values())
    pieces = [secret[i:i + 3] for i in range(length - 2)]
    return bits * len(set(pieces)) / len(pieces) if pieces else 0.0


# -- known values ---------------------------------------------------------------------------------

def _lowered_pieces(value: str) -> list[str]:
    """Lower-cased pieces of `value` that ``text.lower()`` holds wherever `value` is in ``text``.

    ``str.lower`` maps each character on its own but for a capital sigma, whose lower case depends
    on what follows it: the value is cut there.
    """
    pieces = [piece.lower() for piece in re.split("[\u03a3\u03c3\u03c2]", value)]
    longest = max(pieces, key=len)  # pragma: no mutate - any piece would do; the longest is rarest
    return [longest] if longest else ["\u03c3", "\u03c2"]


# How a log line may write a value: escaped by repr() (a KeyError, %r), ascii(), JSON (with and
# without ensure_ascii), inside bytes, HTML-escaped, percent-encoded in a URL (a database password
# built with quote_plus). Pinned one by one by tests that encode independently.
_WRITTEN_AS: tuple[Callable[[str], str], ...] = (
    lambda v: repr(v)[1:-1],
    lambda v: ascii(v)[1:-1],
    lambda v: json.dumps(v)[1:-1],
    lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    lambda v: repr(v.encode("utf-8", "replace"))[2:-1],
    quote,
    lambda v: quote(v, safe=""),
    quote_plus,
    lambda v: quote_plus(v, safe="/"),
    html.escape,  # last: after the URL encodings, which fail on a lone surrogate
)
_PERCENT_ESCAPE = re.compile("%[0-9A-F]{2}")


def spellings(value: str) -> set[str]:
    """`value` and each way `_WRITTEN_AS` writes it, with percent-escapes in upper and lower case."""
    written = {value}
    for write in _WRITTEN_AS:
        try:
            written.add(write(value))
        except UnicodeEncodeError:  # a lone surrogate: nothing can write the value that way
            continue
    return written | {_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), w) for w in written}


def _revealed(secrets: Iterable[Secret], argument: str) -> list[str]:
    """The stripped, non-empty values of `secrets` as text."""
    if isinstance(secrets, (str, bytes)):
        raise SecretsArgumentError(
            f"{argument} must be a list of values, not one string: write {argument}=[value]")
    values = []
    for secret in secrets:
        reveal = getattr(secret, "get_secret_value", None)
        value = reveal() if callable(reveal) else secret
        if not isinstance(value, (str, bytes)):
            raise SecretsArgumentError(
                f"{argument} holds a {type(secret).__name__}: give strings or SecretStr")
        # Bytes that are not UTF-8 are still a value to redact (with replacement characters).
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        if text.strip():
            values.append(text.strip())
    return values


@lru_cache(maxsize=64)
def _quick_check(words: frozenset[tuple[str, str]]) -> Callable[[str], bool]:
    """One `QuickCheck` per set of words: building one costs a few hundred microseconds."""
    return QuickCheck(words).found_in


class SecretValues:
    """A fixed set of known secret values, prepared once so that each search is cheap.

    Values are stripped; empty ones are ignored; ``SecretStr`` and bytes are accepted. Each value
    is also redacted as `spellings` writes it. ``repr`` shows the ids of their markers only.
    """

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self.values: tuple[str, ...] = tuple(sorted(set(_revealed(secrets, "secrets"))))
        self._spelled = {spelling: value for value in self.values for spelling in spellings(value)}
        # Longest first: where one secret contains another, the whole of the longer one goes.
        ordered = sorted(self._spelled, key=lambda s: (-len(s), s))
        self._exact = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        # might_hold_secret(text) is False when the text surely holds no key and none of these
        # values: no key anchor and no value's lower-cased piece is in text.lower().
        words = {*_ANCHORS, *((piece, "") for s in self._spelled for piece in _lowered_pieces(s))}
        self.might_hold_secret: Callable[[str], bool] = _quick_check(frozenset(words))
        self._merged: tuple[SecretValues, SecretValues] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"SecretValues({', '.join(_keyed_id(value) for value in self.values)})"

    def union(self, secrets: Iterable[Secret]) -> SecretValues:
        """A new set holding these values and `secrets`."""
        return SecretValues((*self.values, *_revealed(secrets, "secrets")))

    def with_registered(self) -> SecretValues:
        """These values and those given to `register_secrets` so far."""
        registered = _REGISTRY.values
        if not registered.values:
            return self
        merged = self._merged
        if merged is None or merged[0] is not registered:
            merged = self._merged = (registered, self.union(registered.values))
        return merged[1]

    def redact(self, text: str) -> str:
        """`text` with every key shape and every one of these values replaced by a marker."""
        # (Skipping the quick check gives the same text, only slower.)
        return self.redact_found(text) if self.might_hold_secret(text) else text  # pragma: no mutate

    def redact_found(self, text: str) -> str:
        """`redact` without the quick check: for a text that passed it."""
        text = redact_key_shapes(text)
        if self._exact is None:
            return text
        return self._exact.sub(lambda m: marker(KNOWN_SECRET, self._spelled[m.group()]), text)


@dataclass
class _Registry:
    """The values `register_secrets` added: one immutable set, replaced whole (safe for threads)."""

    values: SecretValues


_REGISTRY = _Registry(SecretValues())


def register_secrets(secrets: Iterable[Secret]) -> None:
    """Redact these values from now on, everywhere: every `RedactingFilter` and every `redact()`.

    For code that learns a secret at run time (a secret store, a token refresh)::

        register_secrets([value])
    """
    _REGISTRY.values = _REGISTRY.values.union(secrets)


def forget_secrets(secrets: Iterable[Secret]) -> None:
    """Stop redacting values added by `register_secrets` (tests; a value that was never secret)."""
    gone = set(_revealed(secrets, "secrets"))
    _REGISTRY.values = SecretValues(v for v in _REGISTRY.values.values if v not in gone)


def redact_key_shapes(text: str) -> str:
    """`text` with every key shape of the catalogue replaced by a marker."""
    pieces, last = [], 0
    for key in find_keys(text):
        pieces += [text[last:key.start], marker(key.format.name, key.secret)]
        last = key.end
    return "".join(pieces) + text[last:] if pieces else text  # pragma: no mutate - the same text either way


def redact(text: str, secrets: Iterable[Secret] | SecretValues = ()) -> str:
    """`text` with every key shape, every value in `secrets` and every registered value replaced.

    Called again and again with the same `secrets`, it prepares them once (see `SecretValues`).
    """
    known = secrets if isinstance(secrets, SecretValues) else _prepared(tuple(_revealed(secrets, "secrets")))
    return known.with_registered().redact(text)


@lru_cache(maxsize=64)
def _prepared(values: tuple[str, ...]) -> SecretValues:
    return SecretValues(values)



# -- secrets held by settings objects ----------------------------------------------------------------

_NOT_CONTAINERS = (str, bytes, bytearray, int, float, complex, type, types.ModuleType, types.FunctionType,
                   types.BuiltinFunctionType, types.MethodType)


def secrets_from(*sources: object) -> tuple[str, ...]:
    """Every secret value held in `sources`, ready for ``install_redaction(secrets=...)``.

    A secret is anything with a ``get_secret_value()`` method (pydantic's ``SecretStr`` and
    ``SecretBytes``), found at any depth in settings objects (pydantic models, dataclasses with or
    without slots, plain objects), mappings (keys too) and collections. Duck typing keeps this
    module free of a pydantic import::

        install_redaction(secrets=secrets_from(settings))
    """
    found: list[str] = []
    seen: set[int] = set()
    waiting = list(reversed(sources))
    while waiting:  # a loop, not recursion: no depth limit, no RecursionError
        value = waiting.pop()
        reveal = getattr(value, "get_secret_value", None)
        if callable(reveal):
            secret = reveal()
            text = secret.decode(errors="replace") if isinstance(secret, bytes) else secret
            if isinstance(text, str) and text.strip():
                found.append(text.strip())
        elif not isinstance(value, _NOT_CONTAINERS) and id(value) not in seen:
            seen.add(id(value))
            waiting += reversed(_parts(value))
    return tuple(dict.fromkeys(found))


def _parts(value: object) -> list[object]:
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    parts = list(vars(value).values()) if hasattr(value, "__dict__") else []
    for cls in type(value).__mro__:  # @dataclass(slots=True) and other classes with __slots__
        slots = getattr(cls, "__slots__", ())
        for name in [slots] if isinstance(slots, str) else slots:
            try:
                parts.append(getattr(value, name))
            except AttributeError:  # a slot never assigned
                continue
    return parts
