"""Check an API key before relying on it: spot copy-paste mistakes, then ask the provider.

`diagnose_key` (from ``key_hygiene.py``) looks at the value alone, with no request: whitespace or
quotes pasted along, invisible characters, a placeholder, another provider's shape.

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

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

import openai

from .key_formats import fingerprint
from .key_hygiene import diagnose_key, is_malformed

__all__ = ["check_key", "check_keys", "ClientFactory", "diagnose_key", "KeyCheck"]

ClientFactory = Callable[[str], Any]  # builds a client with `models.list()`, e.g. openai.OpenAI

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
    if api_key is None or is_malformed(api_key, placeholders):
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


