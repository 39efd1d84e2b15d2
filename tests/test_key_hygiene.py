"""Tests for helpers.key_hygiene: each copy-paste mistake named, placeholders matched whole, look-alike
letters flagged, every value the HTTP layer would refuse caught, and no finding quoting the value."""

from __future__ import annotations

import re
import string

import h11
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import SecretStr

from helpers.key_formats import KEY_FORMATS, fake_key
from helpers.key_hygiene import (
    KeyHygieneError,
    NotAKeyValueError,
    UnknownProviderError,
    diagnose_key,
    is_malformed,
    is_placeholder,
    reveal,
)

KEY = fake_key("openai-project", 1)
PLACEHOLDER = "a placeholder, not a key"


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
    with pytest.raises(UnknownProviderError, match="choose from: .*openai"):
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
    # Like a key: a digit and a lower-case letter, so the value cannot be a phrase of the fixed
    # message text itself ("at the start" is a finding's own words, not a quote).
    assume(re.search(r"\d", core) is not None and re.search(r"[a-z]", core) is not None)
    value = pad + core + pad
    for finding in diagnose_key(value, expected_provider="openai"):
        assert core.strip() not in finding



# -- placeholders: every spelling caught, and only whole values -------------------------------------

# One example per alternative of the placeholder pattern, written out by hand (not generated from it).
PLACEHOLDERS = [
    "your-openai-api-key-here", "YOUR_API_KEY", "REPLACE_WITH_YOUR_KEY", "paste_your_openai_key",
    "<your key>", "sk-your-key", "(your key)",
    "key-goes-here", "INSERT_KEY_HERE", "<OPENAI_API_KEY>",
    "{{ openai_api_key }}", "sk-xxxx", "xxxxxxxx", "sk-proj-XXXX...", "sk-proj-XXXXXXXX-XXXXXXXX",
    "sk-ant-api03-xxxx", "sk-or-v1-xxxxxxxxxxxx", "AKIA" + "X" * 16, "hf_****************",
    "sk-\u2022\u2022\u2022\u2022", "sk-...", "sk-proj-abc...xyz", "sk-\u2026",
    "changeme", "change-me", "replace_me",
    "placeholder", "dummy", "TODO", "tbd", "FIXME", "None", "null", "nil", "undefined", "OPENAI_API_KEY",
    "API_KEY", "MY_SERVICE_TOKEN", "CLIENT_SECRET",
]


# A reference that nothing expanded: ${NAME} kept as written (a .env file read as docker reads it).
REFERENCES = ["${OPENAI_API_KEY}", "$OPENAI_API_KEY", "${team_key}", "$team_key", "${OPENAI_API_KEY:-sk-x}"]


@pytest.mark.parametrize("value", REFERENCES)
def test_an_unexpanded_reference_is_a_placeholder_said_as_a_reference(value: str) -> None:
    findings = diagnose_key(value)
    assert is_malformed(value) and is_placeholder(value)
    assert any("reference to another variable that nothing expanded" in f for f in findings), findings
    assert not any(PLACEHOLDER in finding for finding in findings), findings


@pytest.mark.parametrize("value", ["${OPENAI_API_KEY}x", "x$OPENAI_API_KEY", "$1abc", "$"])
def test_a_dollar_inside_a_value_or_before_a_digit_is_no_reference(value: str) -> None:
    assert not any("reference to another variable" in f for f in diagnose_key(value))


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_each_placeholder_spelling_is_malformed(value: str) -> None:
    assert is_malformed(value)
    assert any(PLACEHOLDER in finding for finding in diagnose_key(value)), diagnose_key(value)


@pytest.mark.parametrize("word", ["none", "None", "null", "nil", "todo", "TODO", "tbd", "fixme", "dummy",
                                  "changeme", "replaceme", "placeholder", "undefined", "xxxx"])
def test_a_real_key_that_starts_or_ends_with_a_placeholder_word_is_a_key(word: str) -> None:
    body = KEY.removeprefix("sk-proj-")
    for value in (word + body, body + word, f"sk-{word}{body}"):
        assert diagnose_key(value) == [], value


@given(st.sampled_from(["none", "todo", "null", "changeme", "placeholder", "xxxx", "API_KEY"]),
       st.text(string.ascii_letters + string.digits, min_size=20, max_size=80))
def test_placeholder_words_match_whole_values_only(word: str, rest: str) -> None:
    assume(not set(rest.lower()) <= set("x"))
    assert not any(PLACEHOLDER in f for f in diagnose_key(word + rest))
    assert not any(PLACEHOLDER in f for f in diagnose_key(rest + word))


@pytest.mark.parametrize("fmt", [f for f in KEY_FORMATS if not f.context], ids=lambda f: f.name)
def test_no_fake_key_of_the_catalogue_is_a_placeholder(fmt) -> None:
    for seed in range(20):
        assert not is_malformed(fmt.fake(seed)), fmt.name


# -- look-alike and invisible characters ---------------------------------------------------------

@pytest.mark.parametrize(("char", "name"), [
    ("\u0430", "CYRILLIC SMALL LETTER A"), ("\u0435", "CYRILLIC SMALL LETTER IE"),
    ("\u03bf", "GREEK SMALL LETTER OMICRON"), ("\u0410", "CYRILLIC CAPITAL LETTER A"),
    ("\uff11", "FULLWIDTH DIGIT ONE"), ("\u00e9", "LATIN SMALL LETTER E WITH ACUTE"),
])
def test_printable_non_ascii_look_alikes_are_flagged_by_name(char: str, name: str) -> None:
    value = KEY[:12] + char + KEY[13:]
    assert char.isprintable()
    findings = diagnose_key(value)
    assert len(findings) == 1 and f"look-alike character ({name}) inside" in findings[0]
    assert is_malformed(value)


@pytest.mark.parametrize(("char", "name"), [
    ("\u200b", "ZERO WIDTH SPACE"), ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\x00", "U+0000"),
    ("\x7f", "U+007F"), ("\u00ad", "SOFT HYPHEN"),
])
def test_invisible_characters_are_flagged_by_name(char: str, name: str) -> None:
    findings = diagnose_key(KEY[:12] + char + KEY[12:])
    assert any(f"invisible character ({name}) inside" in finding for finding in findings), findings


def test_where_an_odd_character_stands_is_said_without_a_position() -> None:
    assert "at the start" in diagnose_key("\u0430" + KEY)[0]
    assert "at the end" in diagnose_key(KEY + "\u0430")[0]
    assert "and 1 more" in diagnose_key("\u0430" + KEY + "\u0430")[0]


# -- every value the HTTP layer would refuse is caught before it is sent ---------------------------

def header_is_sendable(value: str) -> bool:
    """What the SDK and h11 accept as ``Authorization: Bearer <value>`` (see test_mock_provider)."""
    header = f"Bearer {value}"
    if not header.isascii():
        return False  # the SDK raises UnicodeEncodeError (httpx2/_models.py, _normalize_header_value)
    try:
        h11.Request(method="GET", target="/", headers=[("Host", "x"), ("Authorization", header)])
    except h11.LocalProtocolError:
        return False
    return True


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
def test_every_value_the_http_layer_refuses_is_malformed(value: str) -> None:
    if not is_malformed(value):
        assert header_is_sendable(value)


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40), st.sampled_from(["\n", "\r", "\x00"]))
def test_a_line_break_or_nul_anywhere_is_malformed(value: str, bad: str) -> None:
    assert is_malformed(value + bad) and is_malformed(bad + value)


# -- what the check accepts -----------------------------------------------------------------------

def test_a_secret_str_is_unwrapped() -> None:
    assert diagnose_key(SecretStr(KEY)) == []
    assert is_malformed(SecretStr(KEY + "\n"))
    assert reveal(SecretStr(KEY)) == KEY and reveal(None) is None


@pytest.mark.parametrize("value", [42, b"sk-bytes", ["sk-list"]])
def test_a_value_that_is_not_text_is_refused_with_its_type_not_its_value(value) -> None:
    with pytest.raises(NotAKeyValueError, match=type(value).__name__) as caught:
        diagnose_key(value)
    assert "sk-" not in str(caught.value)
    assert issubclass(NotAKeyValueError, KeyHygieneError)
    assert issubclass(UnknownProviderError, KeyHygieneError)


@pytest.mark.parametrize("value", [
    f"OPENAI_API_KEY={KEY}", f"export OPENAI_API_KEY={KEY}", f"api_key = {KEY}", f"OPENAI_API_KEY: {KEY}",
    f"OPENAI_API_KEY ={KEY}",
])
def test_a_pasted_assignment_is_named(value: str) -> None:
    assert any("NAME=value" in finding for finding in diagnose_key(value))


@pytest.mark.parametrize("value", [
    "RkFLRWtleUZBS0VrZXlGQUtFa2V5RkFLRWtleQ==",  # base64 with its padding
    "RkFLRWtleUZBS0VrZXlGQUtFa2V5RkFLRWtleUE=",
    "fa4e0123456789abcdef0123456789ab:RkFLRXNlY3JldEZBS0VzZWNyZXQ",  # id:secret, as some providers issue
])
def test_an_unfamiliar_shape_with_equals_padding_or_a_colon_is_not_malformed(value: str) -> None:
    # Providers change formats: a shape the catalogue does not know goes to the provider.
    assert diagnose_key(value) == [] and not is_malformed(value)
