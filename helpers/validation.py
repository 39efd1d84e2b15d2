"""Check an API key before relying on it: spot copy-paste mistakes, then ask the provider.

`diagnose_key` looks at the value alone, with no request: empty, whitespace or quotes pasted
along, invisible or "smart" characters, a placeholder copied from ``.env.example``, a whole
``NAME=value`` line, a ``Bearer`` prefix, or a key whose shape belongs to another provider.

`check_key` makes the cheapest authenticated call there is (``models.list``) and tells apart
what a plain ``True``/``False`` check mixes up::

    check_key(key)                                      # KeyCheck.VALID, INVALID, RATE_LIMITED, ...
    check_key(key, client_factory=provider.client)      # against the tutorial's FakeProvider
    check_keys(pool_keys)                               # {fingerprint: KeyCheck}

A 429 means the key works (wait, or top up the budget); a network error or a 5xx says nothing
about the key at all. Only 401 and 403 mean the provider refuses the key. Nothing this module
returns or raises contains the key: results are enum members, findings are fixed sentences, and
several keys are reported by `helpers.key_formats.fingerprint`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

import openai

from helpers.key_formats import KEY_FORMATS, find_keys, fingerprint

ClientFactory = Callable[[str], Any]  # builds a client with `models.list()`, e.g. openai.OpenAI

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
# Whole-value placeholders: "your-openai-api-key-here", "<your key>", "${OPENAI_API_KEY}", "sk-xxxx",
# "sk-...". Real keys are random characters and never look like this.
_PLACEHOLDER = re.compile(
    r"""(?ix)^(?:
        .*\byour[-_\s].* | .*[-_\s]here | <.*> | \$\{.*\} | \{\{.*\}\} | (?:sk-)?[x*]{4,}
        | .*(?:\.\.\.|\u2026).* | change[-_]?me | replace[-_]?me | placeholder | todo | none | null
    )$""")
_ASSIGNMENT = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*[=:]")
# Shapes that say where a key stands (Bearer, URL, assignment) or that several providers share:
# they tell nothing about which provider issued a key.
_NOT_PROVIDER_SPECIFIC = {"sk-generic", "jwt", "bearer", "url-key", "assigned-key"}


class KeyCheck(Enum):
    """What the provider (or, for MALFORMED, the value itself) says about a key."""

    VALID = "valid"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    UNREACHABLE = "unreachable"
    MALFORMED = "malformed"

    @property
    def advice(self) -> str:
        """One line saying what this outcome means and what to do about it."""
        return _ADVICE[self]


_ADVICE = {
    KeyCheck.VALID: "the provider accepted the key",
    KeyCheck.INVALID: "the provider refused the key: 401 (revoked, mistyped, another provider's) or "
                      "403 (no permission for this call, e.g. a restricted key); check the dashboard",
    KeyCheck.RATE_LIMITED: "the key works but is over its rate limit (429): wait for Retry-After, "
                           "do not replace the key",
    KeyCheck.QUOTA_EXHAUSTED: "the key works but its budget is spent (429 insufficient_quota): "
                              "waiting will not help; add credit or raise the limit",
    KeyCheck.UNREACHABLE: "no verdict: the provider could not be reached or did not answer "
                          "(network, timeout, 5xx); the key may be fine, try again later",
    KeyCheck.MALFORMED: "not sent: the value has a copy-paste mistake (see diagnose_key)",
}


def diagnose_key(value: str | None, *, expected_provider: str | None = None,
                 placeholders: Iterable[str] = ()) -> list[str]:
    """Copy-paste mistakes in `value`, as sentences that never quote it. Makes no request.

    expected_provider: the provider this variable is for (``"openai"``, ``"anthropic"``, ...,
                       matched against `helpers.key_formats.KEY_FORMATS`): a key of another
                       provider's shape is reported. A shape the catalogue does not know is
                       never a finding (providers change their formats).
    placeholders:      values to treat as "never filled in", e.g. those of ``.env.example``
                       (common placeholder forms such as ``your-...-here`` are always caught).
    An empty list means nothing looks wrong; only the provider can say the key is valid.
    """
    if expected_provider is not None and expected_provider.strip().lower() not in _provider_names():
        raise ValueError(f"unknown expected_provider {expected_provider!r}; choose from: "
                         f"{', '.join(sorted(_provider_names()))}")
    findings = _copy_paste_mistakes(value, placeholders)
    if value and expected_provider:
        findings += _provider_mismatch(value.strip().strip(_QUOTES), expected_provider)
    return findings


def check_key(api_key: str | None, *, client_factory: ClientFactory | None = None,
              placeholders: Iterable[str] = ()) -> KeyCheck:
    """Ask the provider about `api_key` with one ``models.list`` call, and say what it answered.

    client_factory: ``client_factory(api_key)`` builds the client to ask; the default is a real
                    ``openai.OpenAI`` with no retries and a 10 s timeout (a check should answer
                    quickly, and a retried 429 would only hide the answer). Any client of the
                    ``openai`` SDK works: OpenAI-compatible providers via ``base_url``, or
                    ``FakeProvider.client``.
    A value with a copy-paste mistake (see `diagnose_key`) is `KeyCheck.MALFORMED`, and is not
    sent anywhere. A key of an unfamiliar shape is sent: only the provider knows its formats.
    """
    if api_key is None or _copy_paste_mistakes(api_key, placeholders):
        return KeyCheck.MALFORMED
    factory = client_factory or _default_client
    try:
        factory(api_key).models.list()
    except openai.RateLimitError as err:
        return KeyCheck.QUOTA_EXHAUSTED if _error_code(err) == "insufficient_quota" else KeyCheck.RATE_LIMITED
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        return KeyCheck.INVALID
    except (openai.APIConnectionError, openai.APIStatusError):
        # Connection errors, timeouts, 5xx and any other status: nothing is known about the key.
        return KeyCheck.UNREACHABLE
    return KeyCheck.VALID


def check_keys(api_keys: Iterable[str], *, client_factory: ClientFactory | None = None,
               placeholders: Iterable[str] = ()) -> dict[str, KeyCheck]:
    """`check_key` for each key of a pool, reported by fingerprint (a key listed twice is checked once)."""
    results: dict[str, KeyCheck] = {}
    for api_key in api_keys:
        fp = fingerprint(api_key)
        if fp not in results:
            results[fp] = check_key(api_key, client_factory=client_factory, placeholders=placeholders)
    return results


def _default_client(api_key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, max_retries=0, timeout=10.0)


def _error_code(err: openai.APIStatusError) -> str | None:
    code = getattr(err, "code", None)
    if code is None and isinstance(err.body, dict):
        code = err.body.get("code") or err.body.get("type")
    return code


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
    known = {p.strip().strip(_QUOTES) for p in placeholders if p and p.strip()}
    if core in known or _PLACEHOLDER.match(core):
        findings.append("a placeholder, not a key: replace it with your real key (this one was "
                        "copied from a template such as .env.example)")
    return findings


def _odd_characters(value: str) -> list[str]:
    """Invisible and non-ASCII characters (zero-width spaces, smart quotes) copied from documents."""
    odd = [(i, ch) for i, ch in enumerate(value, 1) if not ch.isascii() or not ch.isprintable()]
    if not odd:
        return []
    position, ch = odd[0]
    name = unicodedata.name(ch, f"U+{ord(ch):04X}")
    more = f" and {len(odd) - 1} more" if len(odd) > 1 else ""
    return [f"a non-ASCII or invisible character ({name}) at position {position}{more}: "
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
