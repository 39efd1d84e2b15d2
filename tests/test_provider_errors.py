"""Tests for helpers.provider_errors: every kind read from an SDK exception built from an answer shaped
like the provider's, the quota codes pinned one by one, and no message text ever repeated."""

from __future__ import annotations

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import fake_key
from helpers.mock_provider import FakeProvider
from helpers.provider_errors import (
    MAX_RETRY_AFTER,
    QUOTA_CODES,
    ErrorKind,
    classify_error,
    describe_error,
    error_code,
    missing_scopes,
    parse_retry_after,
    quota_meaning,
)

KEY = fake_key("openai-project", 3)
SCOPE_401 = ("You have insufficient permissions for this operation. Missing scopes: api.model.read. "
             "Check that you have the correct role in your organization (Reader, Writer, Owner) and "
             "project (Member, Owner), and if you're using a restricted API key, that it has the "
             "necessary scopes.")


def sdk_error(status: int, body: object, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    """The exception the real SDK raises for this answer (it builds it from the response)."""
    def answer(request: httpx2.Request) -> httpx2.Response:
        if isinstance(body, str):
            return httpx2.Response(status, text=body, headers=headers)
        return httpx2.Response(status, json=body, headers=headers)

    client = openai.OpenAI(api_key=KEY, base_url="https://provider.invalid/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(answer)))
    with pytest.raises(openai.APIStatusError) as caught:
        client.models.list()
    return caught.value


def openai_error(status: int, message: str, type_: str | None, code: str | None) -> openai.APIStatusError:
    return sdk_error(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})


@pytest.mark.parametrize(("error", "kind"), [
    (lambda: openai_error(401, "Incorrect API key provided: sk-proj-****abcd.", "invalid_request_error",
                          "invalid_api_key"), ErrorKind.INVALID_KEY),
    (lambda: openai_error(403, "You are not allowed to sample from this model", "invalid_request_error",
                          None), ErrorKind.INVALID_KEY),
    (lambda: openai_error(401, SCOPE_401, "invalid_request_error", None), ErrorKind.MISSING_SCOPE),
    (lambda: openai_error(403, SCOPE_401, "invalid_request_error", None), ErrorKind.MISSING_SCOPE),
    (lambda: sdk_error(401, {"error": SCOPE_401}), ErrorKind.MISSING_SCOPE),  # a bare string body
    (lambda: sdk_error(403, {"type": "error", "error": {"type": "permission_error", "message":
                       "OAuth token does not meet scope requirement user:profile"}}),
     ErrorKind.MISSING_SCOPE),
    (lambda: openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded"),
     ErrorKind.RATE_LIMIT),
    (lambda: openai_error(429, "Too many requests", None, None), ErrorKind.RATE_LIMIT),
    (lambda: openai_error(429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
     ErrorKind.QUOTA),
    (lambda: openai_error(429, "quota", "insufficient_quota", "a_code_of_next_year"), ErrorKind.QUOTA),
    (lambda: openai_error(429, "quota", None, "project_spend_limit_exceeded"), ErrorKind.QUOTA),
    (lambda: sdk_error(402, {"error": {"code": 402, "message": "Insufficient credits."}}), ErrorKind.QUOTA),
    (lambda: sdk_error(400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                       "You have reached your specified API usage limits. You will regain access on "
                       "2026-04-01 at 00:00 UTC."}}), ErrorKind.QUOTA),
    (lambda: sdk_error(400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                       "Your credit balance is too low to access the Anthropic API."}}), ErrorKind.QUOTA),
    (lambda: openai_error(400, "max_tokens is too large", "invalid_request_error", None), ErrorKind.REQUEST),
    (lambda: openai_error(404, "The model does not exist", "invalid_request_error", "model_not_found"),
     ErrorKind.REQUEST),
    (lambda: openai_error(409, "conflict", None, None), ErrorKind.REQUEST),
    (lambda: openai_error(422, "unprocessable", None, None), ErrorKind.REQUEST),
    (lambda: openai_error(408, "timeout", None, None), ErrorKind.TRANSIENT),
    (lambda: openai_error(500, "server error", "server_error", None), ErrorKind.TRANSIENT),
    (lambda: sdk_error(503, "<html>Service Unavailable</html>"), ErrorKind.TRANSIENT),
], ids=lambda value: value if isinstance(value, str) else "")
def test_each_answer_is_read_as_its_kind(error, kind) -> None:
    assert classify_error(error()) is kind


def test_a_403_is_a_missing_scope_only_when_it_names_one() -> None:
    plain_403 = openai_error(403, "You have insufficient permissions for this operation.",
                             "invalid_request_error", "insufficient_permissions")
    assert classify_error(plain_403) is ErrorKind.INVALID_KEY
    # Text after "Missing scopes:" that is not shaped like a scope is not read as one.
    assert classify_error(openai_error(401, f"Missing scopes: {KEY}", None, None)) is ErrorKind.INVALID_KEY


def test_connection_errors_are_transient_and_a_refused_header_is_unsendable() -> None:
    provider = FakeProvider({KEY: "unreachable"})
    with pytest.raises(openai.APIConnectionError) as refused_connection:
        provider.client(KEY).models.list()
    assert classify_error(refused_connection.value) is ErrorKind.TRANSIENT
    with pytest.raises(openai.APIConnectionError) as refused_header:
        provider.client(KEY + "\n").models.list()
    assert classify_error(refused_header.value) is ErrorKind.UNSENDABLE
    timeout = openai.APITimeoutError(request=httpx2.Request("GET", "https://provider.invalid/v1/models"))
    assert classify_error(timeout) is ErrorKind.TRANSIENT


@pytest.mark.parametrize("error", [ValueError("not from a provider"), KeyError("x"), UnicodeEncodeError(
    "ascii", "Bearer \u200b", 7, 8, "ordinal not in range(128)")])
def test_exceptions_that_are_not_provider_answers_have_no_kind(error) -> None:
    assert classify_error(error) is None


def test_an_api_error_without_a_status_is_not_blamed_on_the_key() -> None:
    error = openai.APIError("odd", httpx2.Request("GET", "https://provider.invalid/v1/models"), body=None)
    assert classify_error(error) is ErrorKind.REQUEST


def test_a_body_the_sdk_could_not_parse_is_about_the_request() -> None:
    response = httpx2.Response(200, request=httpx2.Request("GET", "https://provider.invalid/v1/models"))
    assert classify_error(openai.APIResponseValidationError(response, body="<html>")) is ErrorKind.REQUEST


# Pinned here by hand, from https://help.openai.com/en/articles/6614457 (not generated from QUOTA_CODES).
@pytest.mark.parametrize(("code", "words"), [
    ("insufficient_quota", "older answer"),
    ("credit_balance_exhausted", "no prepaid credit"),
    ("organization_spend_limit_exceeded", "hard spend limit set on it"),
    ("project_spend_limit_exceeded", "a key of another project still works"),
    ("organization_usage_limit_exceeded", "usage limit OpenAI assigned"),
])
def test_each_openai_quota_code_is_a_quota_and_says_what_it_means(code, words) -> None:
    error = openai_error(429, "You exceeded your current quota", "insufficient_quota", code)
    assert classify_error(error) is ErrorKind.QUOTA
    assert words in quota_meaning(error)
    assert code in QUOTA_CODES and words in QUOTA_CODES[code]
    assert classify_error(openai_error(429, "quota", "tokens", code)) is ErrorKind.QUOTA  # by code alone


def test_quota_meaning_for_other_providers_and_for_a_code_nobody_knows() -> None:
    credits = sdk_error(402, {"error": {"code": 402, "message": "Insufficient credits."}})
    assert "OpenRouter" in quota_meaning(credits)
    limits = sdk_error(400, {"error": {"type": "invalid_request_error",
                                       "message": "Your credit balance is too low"}})
    assert "Anthropic" in quota_meaning(limits)
    unknown = openai_error(429, "quota", "insufficient_quota", "a_code_of_next_year")
    assert "waiting will not help" in quota_meaning(unknown)


def test_missing_scopes_are_listed_one_by_one() -> None:
    several = openai_error(401, "Missing scopes: api.model.read, api.files.write. Check ...", None, None)
    assert missing_scopes(several) == ("api.model.read", "api.files.write")
    assert missing_scopes(openai_error(401, SCOPE_401, None, None)) == ("api.model.read",)
    assert missing_scopes(openai_error(401, "Incorrect API key provided", None, "invalid_api_key")) == ()


def test_describe_error_gives_class_status_and_code_never_the_message() -> None:
    error = openai_error(401, f"Incorrect API key provided: {KEY[:8]}****{KEY[-4:]}.",
                         "invalid_request_error", "invalid_api_key")
    assert describe_error(error) == "AuthenticationError 401 invalid_api_key"
    credits = sdk_error(402, {"error": {"code": 402, "message": "Insufficient credits."}})
    assert describe_error(credits) == "APIStatusError 402"  # OpenRouter's code repeats the status
    assert describe_error(ValueError(KEY)) == "ValueError"


def test_error_code_prefers_the_code_and_falls_back_to_the_type() -> None:
    assert error_code(openai_error(429, "q", "insufficient_quota", "project_spend_limit_exceeded")) == \
        "project_spend_limit_exceeded"
    assert error_code(openai_error(401, SCOPE_401, "invalid_request_error", None)) == "invalid_request_error"
    assert error_code(ValueError("x")) is None


@pytest.mark.claims
def test_the_sdk_reads_openrouters_numeric_code_as_a_string_and_unwraps_the_error_object() -> None:
    # openai 3.51.0: _exceptions.APIError sets code = str(body["code"]); _client unwraps body["error"].
    credits = sdk_error(402, {"error": {"code": 402, "message": "Insufficient credits."}})
    assert credits.code == "402" and credits.body == {"code": 402, "message": "Insufficient credits."}
    assert type(credits) is openai.APIStatusError  # no class of its own for 402


# -- Retry-After -------------------------------------------------------------------------------

NOW = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # milliseconds win
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "soon", "retry-after": "7"}, 7.0),
        ({"retry-after-ms": "nan", "retry-after": "7"}, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),  # an HTTP date, 30 s after `now`
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "119.5"}, 119.5),
        ({"retry-after": "121"}, MAX_RETRY_AFTER),  # capped, as long as the SDK ever waits
        ({"retry-after": "1e308"}, MAX_RETRY_AFTER),
        ({"retry-after-ms": "1e308"}, MAX_RETRY_AFTER),
        ({"retry-after": "1e999"}, MAX_RETRY_AFTER),  # overflows to inf
        ({"retry-after": "inf"}, MAX_RETRY_AFTER),
        ({"retry-after": "-inf"}, 0.0),
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, MAX_RETRY_AFTER),
        ({"retry-after": "Wed, 21 Oct 99999 07:28:00 GMT"}, MAX_RETRY_AFTER),  # past datetime's range
        ({"retry-after": "nan"}, None),
        ({"retry-after": "tomorrow-ish"}, None),
        ({"retry-after": ""}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, seconds) -> None:
    assert parse_retry_after(headers, now=NOW) == seconds


@given(st.dictionaries(st.sampled_from(["retry-after", "Retry-After", "retry-after-ms"]),
                       st.one_of(st.text(max_size=40), st.floats().map(repr), st.integers().map(str),
                                 st.integers(0, 10**6).map(lambda year: f"Wed, 21 Oct {year} 07:28:00 GMT")),
                       max_size=2),
       st.floats(0, 1e6))
def test_parse_retry_after_never_raises_and_stays_between_zero_and_the_cap(headers, cap) -> None:
    seconds = parse_retry_after(headers, now=NOW, cap=cap)
    assert seconds is None or 0.0 <= seconds <= cap


@pytest.mark.claims
def test_the_cap_is_the_sdks_own_longest_retry_after() -> None:
    from openai._constants import MAX_RETRY_AFTER_DELAY  # openai 3.51.0, used in _base_client.py

    assert MAX_RETRY_AFTER == MAX_RETRY_AFTER_DELAY == 120


# -- 403s that are not about the key (answers quoted from public reports of the real API) ----------

COUNTRY_403 = {"error": {"code": "unsupported_country_region_territory",
                         "message": "Country, region, or territory not supported", "param": None,
                         "type": "request_forbidden"}}  # e.g. github.com/nalgeon/pokitoki/issues/42
MODEL_ACCESS_403 = ("Project `proj_FAKEa1b2c3d4e5f6g7h8i9j0` does not have access to model `gpt-4o-mini`")
# quoted from github.com/Aider-AI/aider/issues/1903 (type invalid_request_error, code model_not_found)


def test_a_403_for_the_callers_country_is_about_the_request_not_the_key() -> None:
    # Every key gets it from that network: retiring keys (or calling them invalid) would be wrong.
    assert classify_error(sdk_error(403, COUNTRY_403)) is ErrorKind.REQUEST


def test_a_403_for_a_model_the_keys_project_may_not_use_is_a_restriction_not_a_bad_key() -> None:
    error = openai_error(403, MODEL_ACCESS_403, "invalid_request_error", "model_not_found")
    assert type(error) is openai.PermissionDeniedError
    assert classify_error(error) is ErrorKind.MISSING_SCOPE
    assert missing_scopes(error) == ()  # no scope is named: nothing of the message is repeated
