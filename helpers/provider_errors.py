"""What a provider's error says about the key that made the request: one reading, shared.

The status code alone misleads. A 429 is a rate limit (wait a few seconds) *or* a spent budget
(waiting will not help); a 401 is a bad key *or* a good, restricted key without the permission
this one call needs. `classify_error` reads the ``openai`` SDK's exception (status, error ``type``,
``code`` and, where providers give nothing else, the message) and answers with an `ErrorKind`::

    try:
        client.models.list()
    except openai.APIError as err:
        classify_error(err)       # ErrorKind.QUOTA, ErrorKind.MISSING_SCOPE, ...
        quota_meaning(err)        # for QUOTA: which limit, and what brings access back

The kinds, and what the provider answered:

- ``INVALID_KEY``: 401 (revoked, mistyped, another provider's key), or 403. Replace the key.
- ``MISSING_SCOPE``: 401/403 "Missing scopes: ..." (OpenAI) or "does not meet scope requirement"
  (Anthropic), or OpenAI's 403 ``model_not_found`` "Project ... does not have access to model ...":
  a good key, restricted from this one call. Grant the scope or the model, or use the key elsewhere.
- ``QUOTA``: a spent budget; waiting will not help. A 429 of type ``insufficient_quota`` whatever its
  code (see `QUOTA_CODES`), or a known quota code; 402 (OpenRouter); 400 "usage limits" or "credit
  balance is too low" (Anthropic).
- ``RATE_LIMIT``: any other 429: wait for ``Retry-After``.
- ``TRANSIENT``: 408, 5xx, a connection error or a timeout: nothing is known about the key.
- ``UNSENDABLE``: the HTTP library refused to write a header (a newline or control character in it):
  the request never left.
- ``REQUEST``: any other status (400, 404, 422, ...), and OpenAI's 403
  ``unsupported_country_region_territory`` (the caller's network, not the key): about the request,
  the same with every key.

`parse_retry_after` reads how long a 429 asks to wait, from ``retry-after-ms`` or ``Retry-After``,
capped at `MAX_RETRY_AFTER` (120 s). The cap is the SDK's: openai 3.51.0 honours a ``Retry-After``
only between 0 and ``MAX_RETRY_AFTER_DELAY`` = 120 s (``openai/_constants.py``, used by
``_calculate_retry_timeout`` in ``openai/_base_client.py``) and does not retry at all above it
(``_should_retry``). So an absurd value (``1e308``, ``inf``, a date in the year 99999) never means
"forever", and an unreadable one (``nan``, garbage) means "no header".

Where the facts come from (re-check after an upgrade):

- OpenAI's quota codes: "Troubleshooting API usage and spend limits",
  https://help.openai.com/en/articles/6614457 (``error.type`` stays ``insufficient_quota``; read
  ``error.code``); the same codes are documented in the SDK, ``openai/types/beta/session_turn_error.py``
  (openai 3.51.0).
- Missing scopes: OpenAI answers 401 with type ``invalid_request_error``, ``code`` null and the message
  "You have insufficient permissions for this operation. Missing scopes: api.responses.write. ..."
  (as quoted in github.com/bytedance/trae-agent/issues/162); ``GET /v1/models`` names
  ``api.model.read`` ("Models: Read" on a restricted key; github.com/marcusquinn/aidevops/issues/24564).
- OpenRouter: 402 ``{"error": {"code": 402, "message": "Insufficient credits. ..."}}`` (openrouter.ai
  docs, Python SDK errors, PaymentRequiredResponseError). Anthropic: 400 ``invalid_request_error``
  "You have reached your specified API usage limits. You will regain access on ..."
  (github.com/anthropics/claude-code/issues/2127) and "Your credit balance is too low to access the
  Anthropic API." (github.com/anthropics/anthropic-sdk-typescript/issues/618).
- 403s that are not about the key: ``{"code": "unsupported_country_region_territory", "type":
  "request_forbidden", "message": "Country, region, or territory not supported"}``
  (github.com/nalgeon/pokitoki/issues/42) and ``model_not_found`` "Project `proj_...` does not have
  access to model `gpt-4o-mini`" (github.com/Aider-AI/aider/issues/1903).
- The SDK (openai 3.51.0, ``_exceptions.py``): ``APIError.code`` is ``str(body["code"])``, so
  OpenRouter's number 402 arrives as ``"402"``; ``_client.py`` unwraps ``body["error"]``.

Nothing here returns or logs a message text: `describe_error` gives type, status and code only,
because a provider's 401 message echoes part of the key.

Needs: the ``openai`` and ``httpx2`` libraries.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from enum import StrEnum

import httpx2
import openai

__all__ = [
    "classify_error", "describe_error", "error_code", "ErrorKind", "MAX_RETRY_AFTER", "missing_scopes",
    "parse_retry_after", "QUOTA_CODES", "quota_meaning",
]

MAX_RETRY_AFTER = 120.0  # seconds: the SDK's MAX_RETRY_AFTER_DELAY (openai/_constants.py, 3.51.0)


class ErrorKind(StrEnum):
    """What an error says about the key; see the table in the module docstring."""

    INVALID_KEY = "invalid_key"
    MISSING_SCOPE = "missing_scope"
    QUOTA = "quota"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    UNSENDABLE = "unsendable"
    REQUEST = "request"


# OpenAI's codes for a 429 of type insufficient_quota, and what brings access back.
QUOTA_CODES: dict[str, str] = {
    "insufficient_quota": "the budget is spent (OpenAI's older answer, which does not say which "
                          "limit): add credit or raise the limit in the billing settings",
    "credit_balance_exhausted": "the organization has no prepaid credit left: add credit; every key "
                                "of the organization stops until then",
    "organization_spend_limit_exceeded": "the organization reached the hard spend limit set on it: "
                                         "raise it, or wait for the monthly reset; every key of the "
                                         "organization stops until then",
    "project_spend_limit_exceeded": "the project reached its hard spend limit: raise that project's "
                                    "limit or wait for the monthly reset; a key of another project "
                                    "still works",
    "organization_usage_limit_exceeded": "the organization reached the usage limit OpenAI assigned "
                                         "to it (its usage tier): ask for an increase, or wait for "
                                         "the monthly reset",
}
_OPENROUTER_CREDITS = ("the account, or this key's own credit limit, has no credit left (OpenRouter "
                       "402): add credits or raise the key's limit")
_ANTHROPIC_LIMITS = ("the workspace reached its usage limit or has no credit left (Anthropic 400): "
                     "raise the limit or add credit; the provider's message says when access returns")
_UNKNOWN_QUOTA = "a spending or usage limit is reached: check the billing settings; waiting will not help"

# OpenAI's 403 codes that do not mean a bad key: a blocked country (every key gets it from there), and
# a model the key's project may not use (the key works for the others).
_NOT_THE_KEY_403 = {"unsupported_country_region_territory": ErrorKind.REQUEST,
                    "model_not_found": ErrorKind.MISSING_SCOPE}
_ANTHROPIC_QUOTA_TEXT = re.compile(r"specified API usage limits|credit balance is too low", re.I)
_SCOPE = r"[a-z][a-z_]*(?:[.:][a-z_]+)+"  # api.model.read, user:profile: never a key (no "-", no digits)
_MISSING_SCOPES = re.compile(rf"missing scopes?:\s*({_SCOPE}(?:\s*,\s*{_SCOPE})*)"
                             rf"|does not meet scope requirement\s+({_SCOPE})", re.I)


def classify_error(error: BaseException) -> ErrorKind | None:
    """What `error` says about the key, or ``None`` if it is not an answer from (or a failed request
    to) a provider: an exception of your own code, say."""
    if not isinstance(error, openai.APIError):
        return None
    if isinstance(error, openai.APIConnectionError):
        return ErrorKind.UNSENDABLE if _refused_locally(error) else ErrorKind.TRANSIENT
    status = getattr(error, "status_code", None)
    if not isinstance(status, int):
        return ErrorKind.REQUEST  # an API error without a status: nothing says the key is to blame
    if status == 403 and error.code in _NOT_THE_KEY_403:
        return _NOT_THE_KEY_403[error.code]
    if status in (401, 403):
        return ErrorKind.MISSING_SCOPE if missing_scopes(error) else ErrorKind.INVALID_KEY
    if _is_quota(error, status):
        return ErrorKind.QUOTA
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status == 408 or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.REQUEST


def error_code(error: BaseException) -> str | None:
    """The provider's error ``code`` (``"project_spend_limit_exceeded"``), else its ``type``."""
    code = getattr(error, "code", None) or getattr(error, "type", None)
    return code if isinstance(code, str) else None


def quota_meaning(error: BaseException) -> str:
    """For a `ErrorKind.QUOTA` answer: which limit was reached and what brings access back."""
    status = getattr(error, "status_code", None)
    if status == 402:
        return _OPENROUTER_CREDITS
    if status == 400:
        return _ANTHROPIC_LIMITS
    code = getattr(error, "code", None)
    return QUOTA_CODES.get(code, _UNKNOWN_QUOTA) if isinstance(code, str) else _UNKNOWN_QUOTA


def missing_scopes(error: BaseException) -> tuple[str, ...]:
    """The scopes a 401/403 says the key lacks (``("api.model.read",)``), or ``()``.

    Only names that look like scopes are returned, never free text from the message.
    """
    match = _MISSING_SCOPES.search(_message(error))
    if match is None:
        return ()
    listed = match.group(1) or match.group(2)
    return tuple(scope.strip() for scope in listed.split(","))


def describe_error(error: BaseException) -> str:
    """``"RateLimitError 429 project_spend_limit_exceeded"``: class, status and code, no message."""
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None)
    parts = [type(error).__name__, status, code if code != str(status) else None]
    return " ".join(str(part) for part in parts if part)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None,
                      cap: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), 0 to `cap`.

    `now` is the wall-clock time (``time.time()``) used for the date form. A time in the past gives
    0; a longer wait than `cap` (``1e308``, ``inf``, a date past the year 9999) gives `cap`. Returns
    ``None`` when no header holds a usable value (missing, ``nan``, not a number nor a date).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        seconds = _number(lower.get(name))
        if seconds is not None:
            return min(max(seconds / divisor, 0.0), cap)
    return _seconds_until_date(lower.get("retry-after"), now, cap)


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _seconds_until_date(text: str | None, now: float | None, cap: float) -> float | None:
    parsed = email.utils.parsedate_tz(text) if text else None
    if parsed is None:
        return None
    try:
        moment = email.utils.mktime_tz(parsed)
    except (OverflowError, ValueError):  # a year past 9999: as far in the future as it gets
        return cap
    wall = time.time() if now is None else now
    return min(max(moment - wall, 0.0), cap)


def _is_quota(error: openai.APIError, status: int) -> bool:
    if status == 402:
        return True
    if status == 429:
        return error.type == "insufficient_quota" or error.code in QUOTA_CODES
    return status == 400 and bool(_ANTHROPIC_QUOTA_TEXT.search(_message(error)))


def _message(error: BaseException) -> str:
    """The provider's message: the SDK's text plus a body that is a bare string (some 401s are)."""
    body = getattr(error, "body", None)
    text = getattr(error, "message", "")
    return f"{text} {body}" if isinstance(body, str) else str(text)


def _refused_locally(error: openai.APIConnectionError) -> bool:
    """True when the HTTP library would not write the request (h11: "Illegal header value")."""
    cause: BaseException | None = error.__cause__
    while cause is not None:
        if isinstance(cause, httpx2.LocalProtocolError):
            return True
        cause = cause.__cause__
    return False
