"""Tests for helpers.validation: each KeyCheck outcome, each diagnose_key finding, no key ever shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import KEY_FORMATS, fake_key, fingerprint
from helpers.mock_provider import FakeProvider
from helpers.validation import KeyCheck, check_key, check_keys, diagnose_key

KEY = fake_key("openai-project", 1)


def provider_with(behaviour: str) -> FakeProvider:
    return FakeProvider({KEY: behaviour})


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("ok", KeyCheck.VALID),
    ("invalid", KeyCheck.INVALID),
    ("forbidden", KeyCheck.INVALID),
    ("rate_limited", KeyCheck.RATE_LIMITED),
    ("quota_exhausted", KeyCheck.QUOTA_EXHAUSTED),
    ("server_error", KeyCheck.UNREACHABLE),
    ("unreachable", KeyCheck.UNREACHABLE),
])
def test_check_key_tells_each_provider_answer_apart(behaviour: str, expected: KeyCheck) -> None:
    provider = provider_with(behaviour)
    assert check_key(KEY, client_factory=provider.client) is expected
    assert [r.path for r in provider.requests] == ["/v1/models"]


def test_a_key_the_provider_does_not_know_is_invalid() -> None:
    provider = FakeProvider({})
    assert check_key(fake_key("openai-project", 2), client_factory=provider.client) is KeyCheck.INVALID


@pytest.mark.parametrize("value", [None, "", "   ", f" {KEY}", f"{KEY}\n", f'"{KEY}"', f"'{KEY}'",
                                   "your-openai-api-key-here", "sk-...", "<your key>",
                                   f"OPENAI_API_KEY={KEY}", f"Bearer {KEY}", KEY[:20] + "\u200b" + KEY[20:]])
def test_a_malformed_value_is_reported_without_any_request(value: str | None) -> None:
    provider = provider_with("ok")
    assert check_key(value, client_factory=provider.client) is KeyCheck.MALFORMED
    assert provider.requests == []


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


@pytest.mark.parametrize(("value", "words"), [
    (None, "missing"),
    ("", "empty"),
    (f"{KEY} ", "trailing whitespace"),
    (f"{KEY[:30]}\n{KEY[30:]}", "whitespace inside"),
    (f'"{KEY}"', "quote"),
    (f"\u201c{KEY}\u201d", "quote"),
    (KEY[:9] + "\u200b" + KEY[9:], "ZERO WIDTH SPACE"),
    ("your-openai-api-key-here", "placeholder"),
    ("sk-xxxxxxxxxxxx", "placeholder"),
    (f"export OPENAI_API_KEY={KEY}", "NAME=value"),
    (f"Bearer {KEY}", "Bearer"),
])
def test_diagnose_key_names_each_copy_paste_mistake(value: str | None, words: str) -> None:
    findings = diagnose_key(value)
    assert any(words in finding for finding in findings), findings


def test_diagnose_key_reads_placeholders_from_a_template() -> None:
    template_value = "anthropic-key-goes-in-this-spot"
    assert diagnose_key(template_value) == []
    findings = diagnose_key(template_value, placeholders=[template_value])
    assert findings and "placeholder" in findings[0]


def test_diagnose_key_spots_another_providers_key() -> None:
    anthropic_key = fake_key("anthropic", 3)
    findings = diagnose_key(anthropic_key, expected_provider="openai")
    assert len(findings) == 1 and "Anthropic" in findings[0] and "openai" in findings[0]
    assert diagnose_key(anthropic_key, expected_provider="anthropic") == []
    assert diagnose_key(fake_key("sk-32", 3), expected_provider="deepseek") == []
    assert diagnose_key(fake_key("sk-32", 3), expected_provider="DashScope") == []


def test_an_unknown_expected_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="choose from: .*openai"):
        diagnose_key(KEY, expected_provider="opnai")


def test_generic_shapes_are_not_a_provider_mismatch() -> None:
    assert diagnose_key(fake_key("sk-generic", 1), expected_provider="openai") == []


@pytest.mark.parametrize("fmt", [f for f in KEY_FORMATS if not f.context], ids=lambda f: f.name)
def test_each_clean_fake_key_has_no_finding_for_its_own_provider(fmt) -> None:
    provider = fmt.provider.split("/")[0]
    expected = None if fmt.name in {"sk-generic", "jwt"} else provider
    assert diagnose_key(fmt.fake(5), expected_provider=expected) == []


key_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2100), min_size=12, max_size=60)


@given(core=key_text, pad=st.sampled_from(["", " ", "\n", '"', "'", "\u200b"]))
def test_no_finding_ever_quotes_the_value(core: str, pad: str) -> None:
    value = pad + core + pad
    for finding in diagnose_key(value, expected_provider="openai"):
        assert core.strip() not in finding or len(core.strip()) < 4

