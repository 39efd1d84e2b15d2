"""Tests for helpers.validation: each KeyCheck outcome from answers shaped like the providers', the
reason behind it, answers that are not the API's JSON, SecretStr, and no key ever shown."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from helpers.key_formats import fake_key, fingerprint
from helpers.mock_provider import OPENAI_QUOTA_BEHAVIOURS, FakeProvider
from helpers.validation import KeyCheck, KeyReport, check_key, check_key_report, check_keys, diagnose_key

KEY = fake_key("openai-project", 1)


def provider_with(behaviour: str) -> FakeProvider:
    return FakeProvider({KEY: behaviour})


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("ok", KeyCheck.VALID),
    ("invalid", KeyCheck.INVALID),
    ("forbidden", KeyCheck.INVALID),
    ("missing_scope", KeyCheck.MISSING_SCOPE),
    ("rate_limited", KeyCheck.RATE_LIMITED),
    *((code, KeyCheck.QUOTA_EXHAUSTED) for code in OPENAI_QUOTA_BEHAVIOURS),
    ("insufficient_credits", KeyCheck.QUOTA_EXHAUSTED),
    ("usage_limits", KeyCheck.QUOTA_EXHAUSTED),
    ("server_error", KeyCheck.UNREACHABLE),
    ("unreachable", KeyCheck.UNREACHABLE),
])
def test_check_key_tells_each_provider_answer_apart(behaviour: str, expected: KeyCheck) -> None:
    provider = provider_with(behaviour)
    assert check_key(KEY, client_factory=provider.client) is expected
    assert [r.path for r in provider.requests] == ["/v1/models"]


@pytest.mark.parametrize(("behaviour", "words"), [
    ("quota_exhausted", "older answer"),
    ("credit_balance_exhausted", "no prepaid credit"),
    ("organization_spend_limit_exceeded", "every key of the organization"),
    ("project_spend_limit_exceeded", "a key of another project still works"),
    ("organization_usage_limit_exceeded", "usage tier"),
    ("insufficient_credits", "OpenRouter"),
    ("usage_limits", "Anthropic"),
])
def test_the_reason_says_which_budget_is_spent_and_what_brings_access_back(behaviour, words) -> None:
    report = check_key_report(KEY, client_factory=provider_with(behaviour).client)
    assert report.outcome is KeyCheck.QUOTA_EXHAUSTED
    assert words in report.reason
    assert "waiting will not help" in report.advice


def test_a_missing_scope_is_not_an_invalid_key_and_the_advice_names_the_scope() -> None:
    report = check_key_report(KEY, client_factory=provider_with("missing_scope").client)
    assert report.outcome is KeyCheck.MISSING_SCOPE
    assert report.reason == "AuthenticationError 401: the key lacks the scope api.model.read"
    assert "Models: Read" in report.advice and "api.model.read" in report.advice


def test_the_reasons_never_hold_the_key_nor_the_providers_message() -> None:
    for behaviour in ("invalid", "forbidden", "missing_scope", "rate_limited", "project_spend_limit_exceeded",
                      "insufficient_credits", "usage_limits", "server_error", "unreachable"):
        report = check_key_report(KEY, client_factory=provider_with(behaviour).client)
        assert KEY[:12] not in report.reason and KEY[-4:] not in report.reason
        assert "You have" not in report.reason and "Incorrect API key" not in report.reason


def test_a_key_the_provider_does_not_know_is_invalid() -> None:
    provider = FakeProvider({})
    assert check_key(fake_key("openai-project", 2), client_factory=provider.client) is KeyCheck.INVALID


# -- answers that are not the API's JSON ------------------------------------------------------------

def answering(response: Callable[[httpx2.Request], httpx2.Response]) -> Callable[[str], openai.OpenAI]:
    """A client factory whose every request gets `response(request)`."""
    def factory(api_key: str) -> openai.OpenAI:
        transport = httpx2.MockTransport(response)
        return openai.OpenAI(api_key=api_key, base_url="https://proxy.invalid/v1", max_retries=0,
                             http_client=httpx2.Client(transport=transport))
    return factory


BLOCK_PAGE = "<!DOCTYPE html><html><body><h1>Access denied by your organisation's proxy</h1></body></html>"


@pytest.mark.parametrize(("status", "headers", "body", "words"), [
    (200, {"content-type": "text/html"}, BLOCK_PAGE, "HTML page"),
    (200, {"content-type": "application/json"}, BLOCK_PAGE, "HTML page"),  # a portal that lies
    (200, {"content-type": "text/html; charset=utf-8"}, "Access denied by policy", "HTML page"),
    (200, {"content-type": "text/html"}, "", "empty body"),
    (200, {"content-type": "application/json"}, "  \n", "empty body"),
    (200, {"content-type": "application/json"}, '{"object": "list", "data": [', "not valid JSON"),
    (200, {"content-type": "application/json"}, "\udcff".encode("utf-8", "surrogatepass"), "not valid JSON"),
    (200, {"content-type": "application/json"}, '{"status": "ok"}', "not a list of models"),
    (200, {"content-type": "application/json"}, '{"data": "none"}', "not a list of models"),
    (200, {"content-type": "application/json"}, "[]", "not a list of models"),
    (200, {"content-type": "application/json"}, "null", "not a list of models"),
    (200, {"content-type": "text/plain"}, "OK", "not valid JSON"),
    (204, {}, "", "status 204"),
])
def test_a_success_that_is_not_a_model_list_is_unreachable_and_says_why(status, headers, body, words) -> None:
    content = body if isinstance(body, bytes) else body.encode()
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        status, headers=headers, content=content)))
    assert report.outcome is KeyCheck.UNREACHABLE
    assert words in report.reason and "base_url" in report.reason


def test_a_404_html_page_from_a_wrong_base_url_is_unreachable() -> None:
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        404, headers={"content-type": "text/html"}, content=b"<html>Not Found</html>")))
    assert report.outcome is KeyCheck.UNREACHABLE and "404" in report.reason


def test_a_401_whose_body_is_a_bare_string_naming_missing_scopes_is_a_missing_scope() -> None:
    # As seen from GET /v1/models with a token lacking api.model.read: {"error": "<text>"}.
    text = ("You have insufficient permissions for this operation. Missing scopes: api.model.read. Check "
            "that you have the correct role in your organization (Reader, Writer, Owner) and project "
            "(Viewer, Member, Owner), and if you're using a restricted API key, that it has the necessary "
            "scopes.")
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        401, json={"error": text})))
    assert report.outcome is KeyCheck.MISSING_SCOPE and report.reason.endswith("api.model.read")


@pytest.fixture
def html_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that answers every request with a proxy's block page."""
    class BlockPage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = BLOCK_PAGE.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BlockPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.claims
def test_over_a_real_socket_the_sdk_alone_crashes_on_an_html_page_and_check_key_does_not(html_server) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=html_server, max_retries=0)
    with pytest.raises(AttributeError):  # openai 3.51.0 parses the page as a str, then fails on it
        client.models.list()
    report = check_key_report(KEY, client_factory=lambda key: openai.OpenAI(
        api_key=key, base_url=html_server, max_retries=0))
    assert report.outcome is KeyCheck.UNREACHABLE and "HTML page" in report.reason


# -- values that are not sent -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "   ", f" {KEY}", f"{KEY}\n", f'"{KEY}"', f"'{KEY}'",
                                   "your-openai-api-key-here", "sk-...", "<your key>", "sk-proj-XXXX...",
                                   "REPLACE_WITH_YOUR_KEY", "sk-ant-api03-xxxx", "None",
                                   f"OPENAI_API_KEY={KEY}", f"Bearer {KEY}", KEY[:20] + "\u200b" + KEY[20:],
                                   KEY[:20] + "\u0430" + KEY[21:]])
def test_a_malformed_value_is_reported_without_any_request(value: str | None) -> None:
    provider = provider_with("ok")
    assert check_key(value, client_factory=provider.client) is KeyCheck.MALFORMED
    assert provider.requests == []


def test_a_malformed_report_gives_the_findings_as_its_reason() -> None:
    report = check_key_report(KEY + "\n", client_factory=provider_with("ok").client)
    assert report.reason.startswith("leading or trailing whitespace")


@settings(max_examples=150)
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40))
def test_any_value_is_either_malformed_or_sent_and_answered(value: str) -> None:
    # Through the fake, which refuses what a real connection refuses: no UnicodeEncodeError and no
    # connection error ever comes out of check_key, and a value it sends reaches the provider whole.
    provider = FakeProvider({value: "ok"})
    outcome = check_key(value, client_factory=provider.client)
    assert outcome in (KeyCheck.MALFORMED, KeyCheck.VALID)
    assert len(provider.requests) == (outcome is KeyCheck.VALID)


def test_a_secret_str_is_checked_like_its_value() -> None:
    provider = provider_with("ok")
    assert check_key(SecretStr(KEY), client_factory=provider.client) is KeyCheck.VALID
    assert check_key(SecretStr(KEY + "\n"), client_factory=provider.client) is KeyCheck.MALFORMED
    assert check_keys([SecretStr(KEY)], client_factory=provider.client) == {fingerprint(KEY): KeyCheck.VALID}


def test_an_unfamiliar_shape_is_not_malformed_and_goes_to_the_provider() -> None:
    odd_key = "newprovider-FAKE-7f3a9c2e1b8d4f6a0c5e"
    provider = FakeProvider({odd_key: "ok"})
    assert diagnose_key(odd_key) == []
    assert check_key(odd_key, client_factory=provider.client) is KeyCheck.VALID
    assert len(provider.requests) == 1


def test_placeholders_from_the_template_are_malformed() -> None:
    template_value = "put-the-key-in-this-spot"
    provider = FakeProvider({template_value: "ok"})
    assert check_key(template_value, client_factory=provider.client) is KeyCheck.VALID
    assert check_key(template_value, client_factory=provider.client,
                     placeholders=[template_value]) is KeyCheck.MALFORMED


# -- several keys -------------------------------------------------------------------------------------

def test_check_keys_reports_a_pool_by_fingerprint_and_checks_duplicates_once() -> None:
    good, revoked, busy = (fake_key("openai-project", seed) for seed in (10, 11, 12))
    provider = FakeProvider({good: "ok", revoked: "invalid", busy: "rate_limited"})
    results = check_keys([good, revoked, busy, good, ""], client_factory=provider.client)
    assert results == {
        fingerprint(good): KeyCheck.VALID,
        fingerprint(revoked): KeyCheck.INVALID,
        fingerprint(busy): KeyCheck.RATE_LIMITED,
        fingerprint(""): KeyCheck.MALFORMED,
    }
    assert len(provider.requests) == 3
    assert not any(key in repr(results) for key in (good, revoked, busy))


POOL = {fake_key("openai-project", seed): behaviour for seed, behaviour in enumerate(
    ["ok", "invalid", "missing_scope", "rate_limited", "project_spend_limit_exceeded", "server_error"], 20)}
GOOD = next(iter(POOL))
VALUES = [*POOL, f"{GOOD}\n", f" {GOOD}", GOOD, "", "your-openai-api-key-here"]


@given(st.permutations(VALUES))
def test_check_keys_gives_the_same_verdict_whatever_the_order(values: list[str]) -> None:
    provider = FakeProvider(POOL)
    results = check_keys(values, client_factory=provider.client)
    assert results == check_keys(VALUES, client_factory=FakeProvider(POOL).client)
    # The key and its copy with a newline share a fingerprint: the damaged copy is not hidden.
    assert results[fingerprint(GOOD)] is KeyCheck.MALFORMED
    assert len(provider.requests) == len(POOL)


def test_every_outcome_has_advice() -> None:
    assert all(outcome.advice for outcome in KeyCheck)
    assert {outcome.name for outcome in KeyCheck} == {"VALID", "INVALID", "MISSING_SCOPE", "RATE_LIMITED",
                                                      "QUOTA_EXHAUSTED", "UNREACHABLE", "MALFORMED"}


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """A real local server answering every request with a 429 rate limit; it records each path."""
    paths: list[str] = []

    class RateLimited(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            body = (b'{"error": {"message": "Rate limit reached", "type": "requests", '
                    b'"code": "rate_limit_exceeded"}}')
            self.send_response(429)
            self.send_header("content-type", "application/json")
            self.send_header("retry-after", "0.01")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", paths
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_client_asks_once_and_never_retries_a_429(counting_server, monkeypatch) -> None:
    url, paths = counting_server
    monkeypatch.setenv("OPENAI_BASE_URL", url)  # the default client is a plain openai.OpenAI
    assert check_key(KEY) is KeyCheck.RATE_LIMITED
    assert paths == ["/v1/models"]  # the SDK's default (max_retries=2) would have asked three times


# -- each reason, word for word ---------------------------------------------------------------------

WHERE = "check base_url, and whether a proxy or a captive portal sits in between"
HTML_PAGE = ("200 with an HTML page, not the API's JSON (a proxy's block page, a captive portal, a website): "
             + WHERE)


def test_a_model_list_is_valid_and_the_reason_counts_the_models() -> None:
    models = {"object": "list", "data": [{"id": "m-1", "object": "model"}, {"id": "m-2", "object": "model"}]}
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        200, json=models)))
    assert report == KeyReport(KeyCheck.VALID, "200: the provider listed 2 models")


@pytest.mark.parametrize(("headers", "body", "reason"), [
    ({"content-type": "application/json"}, b" \n<html><body>Blocked</body></html>",
     HTML_PAGE),
    ({}, b"<!doctype html><p>portal</p>",
     HTML_PAGE),
    ({}, b'{"data": 1}', f"200 with JSON that is not a list of models: {WHERE}"),
    ({"content-type": "application/json"}, b"", f"200 with an empty body, not the API's JSON: {WHERE}"),
])
def test_an_answer_that_is_not_a_model_list_gets_its_exact_reason(headers, body, reason) -> None:
    # A page that starts with whitespace before its "<", or has no content-type at all, is still a page.
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        200, headers=headers, content=body)))
    assert report == KeyReport(KeyCheck.UNREACHABLE, reason)


@pytest.mark.parametrize(("status", "reason"), [
    (500, "InternalServerError 500: no answer about the key (network or server)"),
    (503, "InternalServerError 503: no answer about the key (network or server)"),
    (404, "NotFoundError 404: an answer about the request, not the key (a 404 often means a wrong base_url)"),
    (422, "UnprocessableEntityError 422: an answer about the request, not the key "
          "(a 404 often means a wrong base_url)"),
])
def test_an_error_that_says_nothing_about_the_key_is_unreachable_with_its_reason(status, reason) -> None:
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(status, json={})))
    assert report == KeyReport(KeyCheck.UNREACHABLE, reason)


def test_every_missing_scope_is_named_in_the_reason() -> None:
    text = ("You have insufficient permissions for this operation. "
            "Missing scopes: api.model.read, api.files.read.")
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(
        401, json={"error": text})))
    assert report == KeyReport(KeyCheck.MISSING_SCOPE, "AuthenticationError 401: the key lacks the scope "
                                                       "api.model.read, api.files.read")


def test_a_value_with_several_mistakes_gets_every_finding_separated_by_semicolons() -> None:
    value = f' "{KEY}" '
    findings = diagnose_key(value)
    assert len(findings) >= 2
    assert check_key_report(value) == KeyReport(KeyCheck.MALFORMED, "; ".join(findings))


# -- requests the HTTP library will not send -------------------------------------------------------------

def test_a_request_that_cannot_be_encoded_is_malformed_not_sent_and_not_raised() -> None:
    # A key this module sends is ASCII (diagnose_key refuses the rest), so the header httpx2 cannot
    # encode here is another one of the client's: the outcome is the same, the request never leaves.
    sent: list[httpx2.Request] = []

    def factory(api_key: str) -> openai.OpenAI:
        client = answering(lambda request: sent.append(request) or httpx2.Response(200, json={"data": []}))
        return client(api_key).with_options(default_headers={"X-User": "Jos\u00e9"})

    report = check_key_report(KEY, client_factory=factory)
    assert report == KeyReport(KeyCheck.MALFORMED, "the key cannot be written in an HTTP header (not ASCII)")
    assert sent == []


def test_a_header_the_http_library_refuses_is_malformed_and_nothing_is_sent() -> None:
    provider = provider_with("ok")
    report = check_key_report(KEY, client_factory=lambda key: provider.client(
        key, default_headers={"X-Trace": "run-42\n"}))
    assert report == KeyReport(KeyCheck.MALFORMED, "the HTTP library refused to send the key (a control "
                                                   "character or whitespace a header cannot carry)")
    assert provider.requests == []


# -- check_keys passes everything on -------------------------------------------------------------------

def test_check_keys_treats_the_templates_placeholders_as_malformed_too() -> None:
    template_value = "put-the-key-in-this-spot"
    provider = FakeProvider({template_value: "ok", KEY: "ok"})
    results = check_keys([KEY, template_value], client_factory=provider.client,
                         placeholders=iter([template_value]))  # an iterator works: read once, used per key
    assert results == {fingerprint(KEY): KeyCheck.VALID, fingerprint(template_value): KeyCheck.MALFORMED}
    assert len(provider.requests) == 1


def test_the_default_client_never_retries_and_gives_up_after_10_s(counting_server, monkeypatch) -> None:
    url, _ = counting_server
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    built: list[openai.OpenAI] = []

    class Recorded(openai.OpenAI):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            built.append(self)

    monkeypatch.setattr(openai, "OpenAI", Recorded)
    assert check_key(KEY) is KeyCheck.RATE_LIMITED
    assert [(client.max_retries, client.timeout) for client in built] == [(0, 10.0)]


# -- the module's tables, pinned from outside (mutmut does not reach module-level constants) ----------

# One provider behaviour per outcome the provider can give, written out here, not read from the module.
BEHAVIOUR_FOR = {
    KeyCheck.VALID: "ok",
    KeyCheck.UNREACHABLE: "server_error",
    KeyCheck.RATE_LIMITED: "rate_limited",
    KeyCheck.QUOTA_EXHAUSTED: "project_spend_limit_exceeded",
    KeyCheck.MISSING_SCOPE: "missing_scope",
    KeyCheck.INVALID: "invalid",
}


@pytest.mark.parametrize("outcome", list(BEHAVIOUR_FOR), ids=lambda outcome: outcome.name)
def test_check_keys_reports_a_lone_key_with_its_own_outcome_and_a_damaged_copy_outweighs_it(outcome) -> None:
    provider = FakeProvider({KEY: BEHAVIOUR_FOR[outcome]})
    assert check_keys([KEY], client_factory=provider.client) == {fingerprint(KEY): outcome}
    for values in ([KEY, f"{KEY}\n"], [f"{KEY}\n", KEY]):
        assert check_keys(values, client_factory=provider.client) == {fingerprint(KEY): KeyCheck.MALFORMED}


# What each piece of advice must say, and what it must not (a swapped or shared entry breaks one).
ADVICE_SAYS = {
    KeyCheck.VALID: ("accepted", "replace"),
    KeyCheck.INVALID: ("replace it", "do not replace"),
    KeyCheck.MISSING_SCOPE: ("api.model.read", "replace it"),
    KeyCheck.RATE_LIMITED: ("Retry-After", "replace it"),
    KeyCheck.QUOTA_EXHAUSTED: ("waiting will not help", "Retry-After"),
    KeyCheck.UNREACHABLE: ("base_url", "replace"),
    KeyCheck.MALFORMED: ("diagnose_key", "provider"),
}


@pytest.mark.parametrize("outcome", list(KeyCheck), ids=lambda outcome: outcome.name)
def test_each_outcome_has_its_own_advice(outcome) -> None:
    says, never = ADVICE_SAYS[outcome]
    assert says in outcome.advice and never not in outcome.advice
    assert KeyReport(outcome, "any reason").advice == outcome.advice


# -- named in issue 18: look-alikes are caught, placeholder words inside a real key are not -----------

@pytest.mark.parametrize("char", ["\u0391", "\uff21", "\u00e9", "\u0430"],
                         ids=["greek-alpha", "fullwidth-A", "e-acute", "cyrillic-a"])
def test_a_printable_non_ascii_look_alike_is_malformed_and_never_sent(char) -> None:
    value = KEY[:20] + char + KEY[21:]
    provider = FakeProvider({value: "ok"})
    report = check_key_report(value, client_factory=provider.client)
    assert report.outcome is KeyCheck.MALFORMED and "look-alike" in report.reason
    assert provider.requests == []


@pytest.mark.parametrize("word", ["none", "None", "todo", "TODO", "null"])
def test_a_real_key_that_starts_with_a_placeholder_word_is_sent_not_called_a_placeholder(word) -> None:
    value = word + KEY.removeprefix("sk-proj-")
    provider = FakeProvider({value: "ok"})
    assert check_key(value, client_factory=provider.client) is KeyCheck.VALID
    assert len(provider.requests) == 1


def test_a_403_for_the_callers_country_is_no_verdict_on_the_key() -> None:
    body = {"error": {"code": "unsupported_country_region_territory", "param": None,
                      "message": "Country, region, or territory not supported", "type": "request_forbidden"}}
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(403, json=body)))
    assert report.outcome is KeyCheck.UNREACHABLE
    assert "unsupported_country_region_territory" in report.reason and "not the key" in report.reason


def test_a_403_naming_a_model_the_project_may_not_use_says_so_instead_of_an_empty_scope() -> None:
    body = {"error": {"message": "Project `proj_FAKEa1b2c3d4e5` does not have access to model `gpt-4o`",
                      "type": "invalid_request_error", "param": None, "code": "model_not_found"}}
    report = check_key_report(KEY, client_factory=answering(lambda request: httpx2.Response(403, json=body)))
    assert report.outcome is KeyCheck.MISSING_SCOPE
    assert report.reason == ("PermissionDeniedError 403 model_not_found: the key's project may not use "
                             "this model")
