"""Keep API keys out of logs: redact key shapes and known secret values from every log record.

`redact` replaces every key shape from `helpers.key_formats` and every known secret value with a
marker that keeps the kind of secret and an id (two lines about the same key can be matched) and
nothing of the secret itself::

    [REDACTED openai-project 1ae21d3c]      a provider key: its public fingerprint
    [REDACTED known-secret ~5e0c27d9]       anything else: an id keyed for this process only

The public fingerprint (``key_formats.fingerprint``, as key_pool and the checklist print it) is
shown only for keys found by a provider's shape whose characters carry at least 64 bits: only
those are out of reach of a brute-force search of an 8-hex-digit SHA-256 prefix. Known secrets
(passwords, PINs), values found by their context alone (``Bearer x``, ``?key=x``) and short or
repetitive keys get a ``~`` id: a keyed BLAKE2 hash with a random key made once per process, so
lines of one run still match each other and nobody can test guesses against the log.

`install_redaction()` puts one `RedactingFilter` on the *handlers* of the root logger. A filter on
a logger sees only the records logged on that very logger: records of child loggers (``app.db``)
and of libraries (``openai``, ``httpx2``, ``botocore``) propagate to their ancestors' handlers
without passing their ancestors' filters. Handler filters see them all.

The filter cleans everything a formatter can print: the message rendered with its arguments, the
exception and its traceback, ``stack_info``, the logger and thread names, and every ``extra``
field at any depth (strings, bytes, containers, dict keys, namedtuples, any object whose ``str()``
or ``repr()`` shows a secret, such as an ``httpx2.URL`` with ``?key=``). A record is never lost:
bad arguments or an unprintable value are written as a safe text, and only a bug in redaction
itself withholds the record's content (`FALLBACK`). Values known at run time (a secret read from a
store) are added for every filter with `register_secrets`.

Handlers added after `install_redaction()` (``logging.basicConfig``, ``dictConfig``, a library's
own handler) are not covered until you call `install_redaction()` again (it is idempotent) or
`protect_handler(handler)`.

Needs: ``key_formats.py`` (the catalogue); the standard library only.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
import os
import re
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache
from typing import Protocol
from urllib.parse import quote, quote_plus

from .key_formats import KEY_FORMATS, find_keys, fingerprint

__all__ = [
    "FALLBACK", "KNOWN_SECRET", "RedactedValue", "RedactingFilter", "RedactionError", "SecretValues",
    "SecretsArgumentError", "estimated_bits", "forget_secrets", "install_redaction", "marker",
    "protect_handler", "redact", "redact_key_shapes", "register_secrets", "secrets_from", "spellings",
    "uninstall_redaction",
]

KNOWN_SECRET = "known-secret"
FALLBACK = "[log record withheld: redaction failed with {error}]"
PUBLIC_FINGERPRINT_BITS = 64
_SHAPES = frozenset(fmt.name for fmt in KEY_FORMATS if not fmt.context)  # found by shape, not context
# The attributes of a fresh record: any other attribute came from ``extra=``. A formatter adds two.
_PLAIN_ATTRIBUTES = frozenset(vars(logging.LogRecord("name", logging.INFO, "path", 1, "msg", None, None)))
_STANDARD_ATTRIBUTES = _PLAIN_ATTRIBUTES | {"message", "asctime"}
_PLAIN_COUNT = len(_PLAIN_ATTRIBUTES)
_NAMES = ("name", "threadName")  # of the logger and the thread, which a program may make up
_TRACEBACK_FORMATTER = logging.Formatter()
_MAX_NESTING = 100  # deeper than this, a value is judged by its printed form, not rebuilt
_PLAIN_TYPES = (int, float, bool, type(None))


class RedactionError(Exception):
    """Base class of this module's errors."""


class SecretsArgumentError(RedactionError, TypeError):
    """One string given where a list of secret values belongs (it would redact each character)."""


class RevealsSecret(Protocol):
    """pydantic's ``SecretStr`` and ``SecretBytes``, or anything else that hides a value the same way."""

    def get_secret_value(self) -> str | bytes: ...


Secret = str | bytes | RevealsSecret


# -- markers ---------------------------------------------------------------------------------------

def marker(kind: str, secret: str) -> str:
    """The text that stands in for a redacted secret: its kind and an id that cannot reveal it."""
    return f"[REDACTED {kind} {_marker_id(kind, secret)}]"


@lru_cache(maxsize=4096)  # a key logged on every request costs one dictionary look-up
def _marker_id(kind: str, secret: str) -> str:
    if kind in _SHAPES and estimated_bits(secret) >= PUBLIC_FINGERPRINT_BITS:
        return fingerprint(secret)
    keyed = hashlib.blake2b(secret.encode("utf-8", "surrogatepass"), key=_process_key(), digest_size=4)
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


# -- finding known values fast -----------------------------------------------------------------------

# Characters from the most to the least frequent in log lines (any other one is rarer still).
_BY_FREQUENCY = " etaoinsrhldcu0123456789/.:-m,=fpgwy'\"b()v[]{}k_xjqz"
_RARE = _BY_FREQUENCY.index("w")  # from here on, a character is rare enough to search for


def _rarity(char: str) -> int:
    found = _BY_FREQUENCY.find(char)
    return len(_BY_FREQUENCY) if found < 0 else found


Gate = tuple[re.Pattern[str], tuple[str, ...], tuple[tuple[str, re.Pattern[str]], ...]]


def _gate(words: Iterable[tuple[str, str]]) -> Gate:
    """What tells whether a lower-cased text holds any of `words` (each followed by its expression).

    Python's ``re`` tries an alternation at every position that starts one of its branches, and
    each try costs as much as scanning dozens of characters. So each word is looked for from its
    rarest character (the rest is checked around it); the few words made only of common
    characters (``asia``, ``secret``) get expressions of their own, which ``re`` finds with a fast
    substring search, or plain ``in`` tests.
    """
    distinct = {(w, after) for w, after in words if w}
    plain = {w for w, after in distinct if not after}
    needed = sorted((w, after) for w, after in distinct if not any(p in w and p != w for p in plain))
    # pivot character -> what follows it (and the check of the whole word) -> what may follow that
    tails: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    common_words, common_patterns = [], []
    for word, after in needed:
        pivot = max(range(len(word)), key=lambda i: _rarity(word[i]))
        if _rarity(word[pivot]) >= _RARE:
            behind = f"(?<={re.escape(word)})" if pivot else ""
            tails[word[pivot]][re.escape(word[pivot + 1:]) + behind].add(after)
        elif after:
            common_patterns.append((word, re.compile(f"{re.escape(word)}(?:{after})")))
        else:
            common_words.append(word)
    expression = "|".join(re.escape(char) + _either(
        [tail + _either(sorted(afters)) for tail, afters in sorted(ends.items())])
        for char, ends in sorted(tails.items()))
    return re.compile(expression or "(?!)"), tuple(common_words), tuple(common_patterns)


def _either(alternatives: list[str]) -> str:
    """An expression matching any of `alternatives` (nothing to match if one of them is empty)."""
    return "" if "" in alternatives else f"(?:{'|'.join(alternatives)})"


# Every match of a key format holds one of its anchors, in the lower-cased text, followed by what
# the format's `after_anchor` says (as `key_formats.might_contain_key` checks).
_ANCHORS = frozenset((anchor, getattr(fmt, "after_anchor", ""))
                     for fmt in KEY_FORMATS for anchor in fmt.anchors)


def _lowered_pieces(value: str) -> list[str]:
    """Lower-cased pieces of `value` that ``text.lower()`` holds wherever `value` is in ``text``.

    ``str.lower`` maps each character on its own but for a capital sigma, whose lower case depends
    on what follows it: the value is cut there.
    """
    pieces = [piece.lower() for piece in re.split("[\u03a3\u03c3\u03c2]", value)]
    longest = max(pieces, key=len)
    return [longest] if longest else ["\u03c3", "\u03c2"]


def spellings(value: str) -> set[str]:
    """`value` as the ways a log line can write it: escaped by repr, ascii, JSON, bytes, URLs, HTML."""
    written = {value, repr(value)[1:-1], ascii(value)[1:-1], json.dumps(value)[1:-1],
               json.dumps(value, ensure_ascii=False)[1:-1], repr(value.encode("utf-8", "replace"))[2:-1],
               html.escape(value), quote(value), quote(value, safe=""), quote_plus(value),
               quote_plus(value, safe="/")}
    lower_hex = {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), w) for w in written}
    return written | lower_hex


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
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text.strip():
            values.append(text.strip())
    return values


class SecretValues:
    """A fixed set of known secret values, prepared once so that each search is cheap.

    Values are stripped; empty ones are ignored; ``SecretStr`` and bytes are accepted. Each value
    is also redacted as `spellings` writes it. ``repr`` shows fingerprints, never values.
    """

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self.values: tuple[str, ...] = tuple(sorted(set(_revealed(secrets, "secrets"))))
        self._spelled = {spelling: value for value in self.values for spelling in spellings(value)}
        # Longest first: where one secret contains another, the whole of the longer one goes.
        ordered = sorted(self._spelled, key=lambda s: (-len(s), s))
        self._exact = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        gate = _gate([*_ANCHORS, *((piece, "") for s in self._spelled for piece in _lowered_pieces(s))])
        self._rare, self._common_words, self._common_patterns = gate
        self._merged: tuple[SecretValues, SecretValues] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"SecretValues({', '.join(fingerprint(v) for v in self.values)})"

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

    def might_hold_secret(self, text: str) -> bool:
        """False means `text` surely holds no key shape and none of these values."""
        lowered = text.lower()
        if self._rare.search(lowered) is not None:
            return True
        for word in self._common_words:  # noqa: SIM110 - a plain loop is faster than any() on a generator
            if word in lowered:
                return True
        for word, pattern in self._common_patterns:  # noqa: SIM110 - as above
            if word in lowered and pattern.search(lowered) is not None:
                return True
        return False

    def redact(self, text: str) -> str:
        """`text` with every key shape and every one of these values replaced by a marker."""
        return self.redact_found(text) if self.might_hold_secret(text) else text

    def redact_found(self, text: str) -> str:
        """`redact` without the quick check: for a text that passed it."""
        text = redact_key_shapes(text)
        if self._exact is None:
            return text
        return self._exact.sub(lambda m: marker(KNOWN_SECRET, self._spelled[m.group()]), text)


class _Registry:
    """The values `register_secrets` added: one immutable set, replaced whole (safe for threads)."""

    def __init__(self) -> None:
        self.values = SecretValues()


_REGISTRY = _Registry()


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
    return "".join(pieces) + text[last:] if pieces else text


def redact(text: str, secrets: Iterable[Secret] | SecretValues = ()) -> str:
    """`text` with every key shape, every value in `secrets` and every registered value replaced."""
    known = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    return known.with_registered().redact(text)


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
            if isinstance(secret, (str, bytes)):
                found += _revealed([secret], "sources")
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


# -- the filter ------------------------------------------------------------------------------------------

class RedactedValue(str):
    """What stands in for a value that showed a secret: its ``str()`` and its ``repr()``, redacted."""

    representation: str

    def __new__(cls, text: str, representation: str | None = None) -> RedactedValue:
        value = super().__new__(cls, text)
        value.representation = text if representation is None else representation
        return value

    def __repr__(self) -> str:
        return self.representation


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
        self._clean_names: set[object] = set()  # logger and thread names seen clean
        self._registered: SecretValues | None = None  # the registry that _known was made with
        self._known = self.secrets

    def add_secrets(self, secrets: Iterable[Secret]) -> None:
        """Redact these values too (e.g. keys loaded after logging was set up)."""
        self.secrets = self.secrets.union(secrets)  # one assignment: safe for logging threads
        self._registered = None  # _known is rebuilt with them at the next record

    def redact(self, text: str) -> str:
        """`text` with key shapes, this filter's and the registered values replaced by markers."""
        return self.secrets.with_registered().redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Every record passes here: the common case (no extra, no exception, nothing that looks
        # like a secret) costs one render, one quick check and a few look-ups.
        if record.args is self._cleaned:  # another handler's turn: cleaned already, let it through
            return True
        try:
            known = self._known if self._registered is _REGISTRY.values else self._refresh_known()
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
            if record.name not in self._clean_names or record.threadName not in self._clean_names:
                self._check_names(record, known)
        except Exception as error:  # logging must never raise, nor fall back to clear text
            _replace_with_fallback(record, error)
        return True

    def _refresh_known(self) -> SecretValues:
        """This filter's values and the registered ones, after `register_secrets` changed them."""
        registered = _REGISTRY.values
        self._known = self.secrets.with_registered()
        self._registered = registered
        return self._known

    def _check_names(self, record: logging.LogRecord, known: SecretValues) -> None:
        """The logger's and the thread's names: cleaned, and remembered when clean."""
        if len(self._clean_names) > 4096:  # bounded: names made up at run time
            self._clean_names.clear()
        fields = record.__dict__
        for name in _NAMES:
            value = fields.get(name)
            cleaned = known.redact(value) if isinstance(value, str) else value
            if cleaned is value:
                self._clean_names.add(value)
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
        fields[name] = _clean_value(fields[name], known)


def _clean_traces(record: logging.LogRecord, known: SecretValues) -> None:
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = known.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = known.redact(record.stack_info)


def _printed(value: object, show: Callable[[object], str] = str) -> str:
    """``str(value)`` or ``repr(value)``, or a note saying it cannot be printed."""
    try:
        return show(value)
    except Exception as error:
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def _unmerged_message(record: logging.LogRecord, error: Exception) -> str:
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    shown = ", ".join(_printed(arg, repr) for arg in args)
    return f"{_printed(record.msg)} [arguments not merged, {type(error).__name__}: {shown}]"


def _clean_value(value: object, known: SecretValues) -> object:
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
    printed = _printed(cleaned, repr)
    redacted = known.redact(printed)
    if redacted != printed:
        return RedactedValue(known.redact(_printed(cleaned)), redacted)
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
    parts = [_clean_part(part, known, depth + 1, path) for part in _items(value)]
    path.discard(id(value))
    if all(new is old for new, old in zip(parts, _items(value), strict=True)):
        return value
    return rebuild(value, parts)


def _rebuilder(value: object) -> Callable[[object, list[object]], object] | None:
    """How to rebuild `value` from cleaned parts: for dicts, lists, tuples, sets and namedtuples."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _rebuild_namedtuple
    return _REBUILD.get(type(value))


def _items(value: object) -> list[object]:
    if isinstance(value, dict):
        return [part for pair in value.items() for part in pair]
    return list(value)  # type: ignore[call-overload, no-any-return]


def _rebuild_dict(value: object, parts: list[object]) -> object:
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _rebuild_namedtuple(value: object, parts: list[object]) -> object:
    return type(value)._make(parts)  # type: ignore[attr-defined]


_REBUILD: dict[type, Callable[[object, list[object]], object]] = {
    dict: _rebuild_dict,
    list: lambda value, parts: parts,
    tuple: lambda value, parts: tuple(parts),
    set: lambda value, parts: set(parts),
    frozenset: lambda value, parts: frozenset(parts),
}


def _clean_opaque(value: object, known: SecretValues) -> object:
    """Any other object (bytes, URLs, dataclasses, deep nests): judged by what it prints."""
    text, representation = _printed(value), _printed(value, repr)
    clean_text, clean_repr = known.redact(text), known.redact(representation)
    if clean_text == text and clean_repr == representation and not text.startswith("<unprintable "):
        return value
    return RedactedValue(clean_text, clean_repr)


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
