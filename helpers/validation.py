"""Check an API key before relying on it: spot copy-paste mistakes, then ask the provider.

`diagnose_key` (from ``key_hygiene.py``) looks at the value alone, with no request: whitespace or
quotes pasted along, invisible characters, a placeholder, another provider's shape.

`check_key` makes the cheapest authenticated call there is (``models.list``) and tells apart
what a plain ``True``/``False`` check mixes up::

    check_key(key)                                      # KeyCheck.VALID, INVALID, RATE_LIMITED, ...
    check_key(settings.openai_api_key)                  # a SecretStr works too
    check_key(key, client_factory=provider.client)      # against the tutorial's FakeProvider
    check_key_report(key).reason                        # why: which code, which scope, which answer
    check_keys(pool_keys)                               # {fingerprint: KeyCheck}

A 429 rate limit means the key works (wait); a spent budget means it works too, but waiting will
not help (the code says which limit: `helpers.provider_errors.QUOTA_CODES`). A 401 naming
"Missing scopes" is a good key restricted from this one call: ``models.list`` needs "Models: Read"
(scope ``api.model.read``) on a restricted OpenAI key. A network error, a 5xx, or a 200 that is not
the API's JSON (a proxy's HTML block page, a captive portal, a wrong ``base_url``) says nothing
about the key at all. Nothing this module returns or raises contains the key: outcomes are enum
members, reasons are fixed sentences with status and code (never the provider's message, which
echoes part of the key), and several keys are reported by `helpers.key_formats.fingerprint`.

Needs: ``key_formats.py``, ``key_hygiene.py``, ``provider_errors.py``; the ``openai`` and ``httpx2``
libraries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

import httpx2
import openai

from .key_formats import fingerprint
from .key_hygiene import SecretValue, diagnose_key, reveal
from .provider_errors import ErrorKind, classify_error, describe_error, missing_scopes, quota_meaning

__all__ = [
    "check_key", "check_key_report", "check_keys", "ClientFactory", "diagnose_key", "KeyCheck", "KeyReport",
]

ClientFactory = Callable[[str], openai.OpenAI]  # e.g. openai.OpenAI, or FakeProvider(...).client


class KeyCheck(Enum):
    """What the provider (or, for MALFORMED, the value itself) says about a key."""

    VALID = "valid"
    INVALID = "invalid"
    MISSING_SCOPE = "missing_scope"
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
                      "403 (not allowed here); replace it, or check the dashboard",
    KeyCheck.MISSING_SCOPE: "the key is valid but restricted: it lacks the permission this check needs "
                            "(models.list needs 'Models: Read', scope api.model.read); grant it, or "
                            "rely on the key only for the calls it may make; do not replace the key",
    KeyCheck.RATE_LIMITED: "the key works but is over its rate limit (429): wait for Retry-After, "
                           "do not replace the key",
    KeyCheck.QUOTA_EXHAUSTED: "the key works but a budget is spent (429 insufficient_quota; 402 at "
                              "OpenRouter; 400 'usage limits' at Anthropic): waiting will not help; the "
                              "reason says which limit: add credit or raise it (for a project's spend "
                              "limit, a key of another project works)",
    KeyCheck.UNREACHABLE: "no verdict: the provider could not be reached or did not answer as an API "
                          "(network, timeout, 5xx, an HTML page or no JSON, a wrong base_url); the key "
                          "may be fine: check base_url and try again later",
    KeyCheck.MALFORMED: "not sent: the value has a copy-paste mistake (see diagnose_key)",
}
# When several values share a fingerprint (a key, and the same key with a newline), `check_keys`
# reports the most serious outcome, so a damaged copy is never hidden by a clean one.
_SERIOUSNESS = [KeyCheck.VALID, KeyCheck.UNREACHABLE, KeyCheck.RATE_LIMITED, KeyCheck.QUOTA_EXHAUSTED,
                KeyCheck.MISSING_SCOPE, KeyCheck.INVALID, KeyCheck.MALFORMED]


@dataclass(frozen=True)
class KeyReport:
    """An outcome and the reason for it: status and code, never the key or the provider's message."""

    outcome: KeyCheck
    reason: str

    @property
    def advice(self) -> str:
        return self.outcome.advice


def check_key(api_key: str | SecretValue | None, *, client_factory: ClientFactory | None = None,
              placeholders: Iterable[str] = ()) -> KeyCheck:
    """Ask the provider about `api_key` with one ``models.list`` call, and say what it answered.

    api_key:        a ``str`` or a ``SecretStr``; ``None`` (not set) is MALFORMED.
    client_factory: ``client_factory(api_key)`` builds the client to ask; the default is a real
                    ``openai.OpenAI`` with no retries and a 10 s timeout (a check should answer
                    quickly, and a retried 429 would only hide the answer). Any client of the
                    ``openai`` SDK works: OpenAI-compatible providers via ``base_url``, or
                    ``FakeProvider.client``.
    A value with a copy-paste mistake (see `diagnose_key`) is `KeyCheck.MALFORMED`, and is not
    sent anywhere. A key of an unfamiliar shape is sent: only the provider knows its formats.
    `check_key_report` gives the same outcome with its reason.
    """
    return check_key_report(api_key, client_factory=client_factory, placeholders=placeholders).outcome


def check_key_report(api_key: str | SecretValue | None, *, client_factory: ClientFactory | None = None,
                     placeholders: Iterable[str] = ()) -> KeyReport:
    """`check_key`, with the reason for its outcome."""
    value = reveal(api_key)
    findings = diagnose_key(value, placeholders=placeholders)
    if value is None or findings:
        return KeyReport(KeyCheck.MALFORMED, "; ".join(findings))
    factory = client_factory or _default_client
    unencodable = False  # pragma: no mutate (only its truth is read: None is as false as False)
    try:
        answer = factory(value).models.with_raw_response.list()
    except openai.APIError as err:
        return _report_error(err)
    except UnicodeEncodeError:  # its .object holds the whole header: never re-raise it
        unencodable = True
    if unencodable:
        return KeyReport(KeyCheck.MALFORMED, "the key cannot be written in an HTTP header (not ASCII)")
    return _report_answer(answer.http_response)


def check_keys(api_keys: Iterable[str | SecretValue | None], *, client_factory: ClientFactory | None = None,
               placeholders: Iterable[str] = ()) -> dict[str, KeyCheck]:
    """`check_key` for each key of a pool, reported by fingerprint; a value listed twice is checked once.

    The verdict does not depend on the order of the keys: values that share a fingerprint (a key
    and the same key pasted with a newline) get the most serious outcome among them.
    """
    results: dict[str, KeyCheck] = {}
    checked: set[str] = set()
    placeholders = tuple(placeholders)
    for api_key in api_keys:
        value = reveal(api_key) or ""
        if value in checked:
            continue
        checked.add(value)
        outcome = check_key(value, client_factory=client_factory, placeholders=placeholders)
        fp = fingerprint(value)
        results[fp] = max(results.get(fp, KeyCheck.VALID), outcome, key=_SERIOUSNESS.index)
    return results


def _default_client(api_key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, max_retries=0, timeout=10.0)


def _report_error(err: openai.APIError) -> KeyReport:
    kind, described = classify_error(err), describe_error(err)
    if kind is ErrorKind.INVALID_KEY:
        return KeyReport(KeyCheck.INVALID, f"{described}: the provider refuses this key")
    if kind is ErrorKind.MISSING_SCOPE:
        scopes = ", ".join(missing_scopes(err))
        lacks = f"the key lacks the scope {scopes}" if scopes else "the key's project may not use this model"
        return KeyReport(KeyCheck.MISSING_SCOPE, f"{described}: {lacks}")
    if kind is ErrorKind.QUOTA:
        return KeyReport(KeyCheck.QUOTA_EXHAUSTED, f"{described}: {quota_meaning(err)}")
    if kind is ErrorKind.RATE_LIMIT:
        return KeyReport(KeyCheck.RATE_LIMITED, f"{described}: over the rate limit; wait for Retry-After")
    if kind is ErrorKind.UNSENDABLE:
        return KeyReport(KeyCheck.MALFORMED, "the HTTP library refused to send the key (a control "
                                             "character or whitespace a header cannot carry)")
    if kind is ErrorKind.TRANSIENT:
        return KeyReport(KeyCheck.UNREACHABLE, f"{described}: no answer about the key (network or server)")
    return KeyReport(KeyCheck.UNREACHABLE, f"{described}: an answer about the request, not the key "
                                           "(a 404 often means a wrong base_url)")


def _report_answer(response: httpx2.Response) -> KeyReport:
    """A 2xx/3xx answer is VALID only if it is the API's JSON model list."""
    # Equivalent mutants: httpx2 headers ignore case, and any default without "html" reads the same.
    body = response.content
    content_type = response.headers.get("content-type", "").lower()  # pragma: no mutate (see above)
    where = "check base_url, and whether a proxy or a captive portal sits in between"
    if response.status_code != 200:
        return KeyReport(KeyCheck.UNREACHABLE, f"status {response.status_code} instead of 200: {where}")
    if not body.strip():
        return KeyReport(KeyCheck.UNREACHABLE, f"200 with an empty body, not the API's JSON: {where}")
    if "html" in content_type or body.lstrip()[:1] == b"<":
        return KeyReport(KeyCheck.UNREACHABLE, "200 with an HTML page, not the API's JSON (a proxy's "
                                               f"block page, a captive portal, a website): {where}")
    try:
        data = json.loads(body)
    except ValueError:  # JSONDecodeError, or bytes that are not text
        return KeyReport(KeyCheck.UNREACHABLE, f"200 with a body that is not valid JSON: {where}")
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return KeyReport(KeyCheck.UNREACHABLE, f"200 with JSON that is not a list of models: {where}")
    return KeyReport(KeyCheck.VALID, f"200: the provider listed {len(data['data'])} models")
