"""Spot copy-paste mistakes in a key before it is used: one check, shared by settings and validation.

`diagnose_key` looks at the value alone, with no request: empty, whitespace or quotes pasted
along, invisible or "smart" characters, look-alike letters from another alphabet, a placeholder
copied from ``.env.example``, a whole ``NAME=value`` line, a ``Bearer`` prefix, or a key whose
shape belongs to another provider. Its findings are fixed sentences that never quote the value.

What each mistake does if the key is sent anyway (openai 3.51.0 over a real connection, httpx2
2.16.2, h11 0.16.0; ``tests/test_mock_provider.py`` checks it against a local HTTP server):

- a line break (newline, carriage return, vertical tab) anywhere, a NUL, or a space or tab at the
  end: the HTTP library (h11) refuses the header, and the SDK raises
  ``APIConnectionError("Connection error.")`` whose chained
  ``LocalProtocolError: Illegal header value b'Bearer sk-...'`` holds the whole key;
- a non-ASCII character (typographic quote, zero-width space, BOM, a Cyrillic look-alike): the SDK
  raises ``UnicodeEncodeError`` before sending, and its ``.object`` is the whole header, key included;
- a space or tab at the start or inside, plain ASCII quotes, another control character: the
  request is sent, and the provider answers 401.

All of these are findings here, so nothing of the kind is ever sent.

Placeholders are matched against the whole value, never a part of it: a real key that happens to
start with ``none`` or ``todo`` is a key.

Needs: ``key_formats.py`` (the catalogue, to tell which provider a shape belongs to).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .key_formats import KEY_FORMATS, find_keys

__all__ = [
    "diagnose_key", "is_malformed", "is_placeholder", "KeyHygieneError", "NotAKeyValueError", "reveal",
    "SecretValue",
    "UnknownProviderError",
]


class KeyHygieneError(Exception):
    """Base class of this module's errors."""


class UnknownProviderError(KeyHygieneError, ValueError):
    """`expected_provider` names no provider of the catalogue."""


class NotAKeyValueError(KeyHygieneError, TypeError):
    """The value to check is neither a string nor a secret wrapper such as pydantic's ``SecretStr``."""


@runtime_checkable
class SecretValue(Protocol):
    """A wrapper that hides a secret until asked, like pydantic's ``SecretStr``."""

    def get_secret_value(self) -> str: ...


_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
# Whole-value placeholders (always used with fullmatch): "your-openai-api-key-here",
# "REPLACE_WITH_YOUR_KEY", "<your key>", "${OPENAI_API_KEY}", "sk-xxxx", "sk-proj-XXXX...",
# "sk-ant-api03-xxxx", "AKIA" and 16 X's, "None". Real keys are random characters and never
# look like this.
_PLACEHOLDER = re.compile(
    r"""(?ix)(?:
        (?:.*[-_\s<{(\[])?your[-_\s].*                 # your-key-here, REPLACE_WITH_YOUR_KEY
        | .*[-_\s]here                                # key-goes-here, INSERT_KEY_HERE
        | <.*> | \{\{.*\}\}                          # <key>, {{ key }}
        | [a-z0-9_-]{0,16}?[x*\u2022]{4,}(?:[-_.\u2026][x*\u2022]*)*   # sk-xxxx, AKIAXXXX..., hf_****
        | .*(?:\.\.\.|\u2026).*                          # sk-..., sk-proj-abc...xyz
        | change[-_]?me | replace[-_]?me | placeholder | dummy | todo | tbd | fixme
        | none | null | nil | undefined
    )""")
# Another variable's value asked for but never filled in: nothing expanded ${VAR} or $VAR.
_REFERENCE = re.compile(r"\$\{.*\}|\$[A-Z_][A-Z0-9_]*", re.IGNORECASE)
# A variable's name given as its value: OPENAI_API_KEY=OPENAI_API_KEY, API_KEY, YOUR_TOKEN.
_VARIABLE_NAME = re.compile(r"(?:[A-Z][A-Z0-9]{0,11}_)+(?:KEY|TOKEN|SECRET)")  # short words, as names have
# NAME=value, or YAML's "NAME: value". Not base64's padding ("...Zg==") nor an "id:secret" key
# (some providers issue those): a key in a shape we do not know is not malformed.
_ASSIGNMENT = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*(?:\s*=(?![=\s]*$)|\s*:\s)")
# Shapes that say where a key stands (Bearer, URL, assignment) or that several providers share:
# they tell nothing about which provider issued a key.
_NOT_PROVIDER_SPECIFIC = {"sk-generic", "jwt", "bearer", "url-key", "assigned-key"}


def reveal(value: str | SecretValue | None) -> str | None:
    """The plain text of `value`: a ``str`` as it is, a ``SecretStr`` unwrapped, ``None`` kept."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, SecretValue):
        secret = value.get_secret_value()
        if isinstance(secret, str):
            return secret
    raise NotAKeyValueError(f"expected a key as str or SecretStr, got {type(value).__name__}")


def diagnose_key(value: str | SecretValue | None, *, expected_provider: str | None = None,
                 placeholders: Iterable[str] = ()) -> list[str]:
    """Copy-paste mistakes in `value`, as sentences that never quote it. Makes no request.

    value:             the key, as a ``str`` or a ``SecretStr`` (``None`` means "not set").
    expected_provider: the provider this variable is for (``"openai"``, ``"anthropic"``, ...,
                       matched against `helpers.key_formats.KEY_FORMATS`): a key of another
                       provider's shape is reported. A shape the catalogue does not know is
                       never a finding (providers change their formats).
    placeholders:      values to treat as "never filled in", e.g. those of ``.env.example``
                       (common placeholder forms such as ``your-...-here`` are always caught).
    An empty list means nothing looks wrong; only the provider can say the key is valid.
    """
    if expected_provider is not None and expected_provider.strip().lower() not in _provider_names():
        raise UnknownProviderError(f"unknown expected_provider {expected_provider!r}; choose from: "
                                   f"{', '.join(sorted(_provider_names()))}")
    text = reveal(value)
    findings = _copy_paste_mistakes(text, placeholders)
    if text and expected_provider:
        findings += _provider_mismatch(text.strip().strip(_QUOTES), expected_provider)
    return findings


def is_malformed(value: str | SecretValue | None, placeholders: Iterable[str] = ()) -> bool:
    """True when `value` cannot be a key as it stands: what makes `check_key` answer MALFORMED."""
    return bool(_copy_paste_mistakes(reveal(value), placeholders))


def _copy_paste_mistakes(value: str | None, placeholders: Iterable[str]) -> list[str]:
    """The findings that make a value MALFORMED: it cannot be a key as it stands."""
    if value is None:
        return ["missing: the variable is not set"]
    if not value.strip():
        return ["empty: the variable is set but holds no key" + (" (only whitespace)" if value else "")]
    findings = []
    if value != value.strip():
        findings.append("leading or trailing whitespace (a space or newline came with the paste)")
    core = value.strip().strip(_QUOTES).strip()
    bearer = core.lower().startswith("bearer ")
    if any(ch.isspace() for ch in value.strip()) and not bearer:
        findings.append("whitespace inside the value (a line break or space in the middle)")
    if value.strip()[0] in _QUOTES or value.strip()[-1] in _QUOTES:
        findings.append("quote characters around the value: remove them (in a .env file, quote "
                        "the whole value or nothing)")
    findings += _odd_characters(value.strip())
    if bearer:
        findings.append("starts with 'Bearer ': give the key alone, the SDK adds the prefix")
    elif _ASSIGNMENT.match(core):
        findings.append("holds a whole NAME=value line: keep only the value after '='")
    if _REFERENCE.fullmatch(core):
        findings.append("a reference to another variable that nothing expanded, not a key: a .env "
                        "file read as written (as `docker run --env-file` reads one) keeps ${NAME} "
                        "as it is: write the key itself")
    elif _is_placeholder(core, placeholders):
        findings.append("a placeholder, not a key: replace it with your real key (this one was "
                        "copied from a template such as .env.example)")
    return findings


def is_placeholder(value: str | SecretValue | None, placeholders: Iterable[str] = ()) -> bool:
    """True when `value` is a template's placeholder (``your-...-here``, ``sk-proj-XXXX...``,
    ``<your key>``, one of `placeholders`), not a key that was never filled in by mistake."""
    text = reveal(value)
    return text is not None and _is_placeholder(text.strip().strip(_QUOTES).strip(), placeholders)


def _is_placeholder(core: str, placeholders: Iterable[str]) -> bool:
    known = {p.strip().strip(_QUOTES) for p in placeholders if p and p.strip()}
    shapes = (_PLACEHOLDER, _REFERENCE, _VARIABLE_NAME)
    return core in known or any(shape.fullmatch(core) for shape in shapes)


def _odd_characters(value: str) -> list[str]:
    """Invisible and non-ASCII characters (zero-width spaces, smart quotes, look-alike letters).

    Where they stand is said as start, end or inside, not as a position: the message must not
    depend on the key (a position would tell its length).
    """
    odd = [(i, ch) for i, ch in enumerate(value) if not ch.isascii() or not ch.isprintable()]
    if not odd:
        return []
    position, ch = odd[0]
    name = unicodedata.name(ch, f"U+{ord(ch):04X}")
    where = "at the start" if position == 0 else "at the end" if position == len(value) - 1 else "inside"
    more = f" and {len(odd) - 1} more" if len(odd) > 1 else ""
    if unicodedata.category(ch).startswith(("L", "N")):  # Cyrillic "а" looks like Latin "a"
        return [f"a non-ASCII look-alike character ({name}) {where}{more}: keys are plain ASCII; "
                "retype the key or copy it again from the provider's dashboard"]
    return [f"a non-ASCII or invisible character ({name}) {where}{more}: "
            "retype the key or copy it again from the provider's dashboard"]


def _provider_mismatch(value: str, expected: str) -> list[str]:
    matches = find_keys(value)
    if len(matches) != 1 or matches[0].end - matches[0].start != len(value):
        return []
    fmt = matches[0].format
    if fmt.name in _NOT_PROVIDER_SPECIFIC or _provider_matches(fmt.provider, expected):
        return []
    return [f"has the shape of a key from {fmt.provider} ({fmt.name}), but this setting is for "
            f"{expected}: check that the key went into the right variable"]


def _provider_matches(provider: str, expected: str) -> bool:
    """``"deepseek"`` matches ``"DeepSeek/DashScope"``; ``"openai"`` matches ``"OpenAI"``."""
    names = {part.strip().lower() for part in provider.split("/")}
    return expected.strip().lower() in names


def _provider_names() -> set[str]:
    """Names `diagnose_key(expected_provider=...)` accepts, from the catalogue: openai, deepseek, ..."""
    return {part.strip().lower() for fmt in KEY_FORMATS if fmt.name not in _NOT_PROVIDER_SPECIFIC
            for part in fmt.provider.split("/")}
