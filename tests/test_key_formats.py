"""Tests for helpers.key_formats: every shape is found, ordinary text is not, fakes stay fake.

The examples below are written out by hand, independently of ``KEY_FORMATS``: deleting or
loosening a catalogue entry makes a test fail here instead of silently removing its own tests.
Every example is assembled at run time from short pieces and carries FAKE (or "fake"), so this
file holds no key, not even a fake one, as a single literal.
"""

from __future__ import annotations

import json
import random
import re
import string
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import (
    ALLOWED_FAKE,
    KEY_FORMATS,
    KeyFormat,
    _anchors,
    _candidates,
    _prefilter,
    _scanner,
    _shapes,
    fake_key,
    find_keys,
    fingerprint,
    format_named,
    is_allowed_fake,
    might_contain_key,
    reportable_keys,
)

FORMAT_NAMES = [fmt.name for fmt in KEY_FORMATS]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """The catalogue compiles its scanners once and caches them. Each test starts from empty
    caches, so the code under test (or a mutant of it, under `make mutation`) builds them anew, and
    mutmut sees every test that depends on that code (4 ms per test)."""
    for cached in (_scanner, _prefilter, _anchors, _shapes):
        cached.cache_clear()
    yield

# Every entry of the catalogue, written out: deleting an entry fails test_the_catalogue_is_complete.
EXPECTED_FORMATS = {
    "openai-project", "openai-service-account", "openai-admin", "openai-legacy", "anthropic-admin",
    "anthropic", "anthropic-refresh", "openrouter", "sk-32", "sk-generic", "google", "huggingface",
    "huggingface-org", "groq", "xai", "perplexity", "aws-access-key-id", "github", "jwt", "bearer",
    "url-key", "assigned-key",
}

URLSAFE = "a1B2_c3-D4e5"
ALNUM = "a1B2c3D4e5F6"
HEX = "0123456789abcdef"


def run(piece: str, length: int) -> str:
    """`piece` repeated and cut to `length` characters."""
    return (piece * (length // len(piece) + 1))[:length]


# (expected format, text holding the key, the secret find_keys must report)
def shape(name: str, key: str) -> tuple[str, str, str]:
    return name, key, key


SHAPES = [
    shape("openai-project", "sk-proj-" + "FAKE" + run(URLSAFE, 70) + "T3BlbkFJ" + run(URLSAFE, 74)),
    shape("openai-service-account",
          "sk-svcacct-" + "FAKE" + run(URLSAFE, 70) + "T3BlbkFJ" + run(URLSAFE, 74)),
    shape("openai-admin", "sk-admin-" + "FAKE" + run(URLSAFE, 54) + "T3BlbkFJ" + run(URLSAFE, 58)),
    shape("openai-legacy", "sk-" + "FAKE" + run(ALNUM, 16) + "T3BlbkFJ" + "FAKE" + run(ALNUM, 16)),
    shape("anthropic-admin", "sk-ant-admin01-" + "FAKE" + run(URLSAFE, 89) + "AA"),
    *[shape("anthropic", f"sk-ant-{kind}-" + "FAKE" + run(URLSAFE, 89) + "AA")
      for kind in ("api03", "sid01", "oat01")],
    shape("anthropic-refresh", "sk-ant-ort01-" + "FAKE" + run(URLSAFE, 89) + "AA"),
    shape("openrouter", "sk-or-v1-" + "fake" + run(HEX, 60)),
    shape("sk-32", "sk-" + "fake" + run(HEX, 28)),  # DeepSeek: 32 hex digits
    shape("sk-32", "sk-" + "fake" + run("zq9y8x7w", 28)),  # DashScope: lower-case letters and digits
    shape("sk-generic", "sk-" + "FAKE" + run("moonShot7", 40)),
    shape("google", "AIza" + "FAKE" + run(URLSAFE, 31)),
    shape("huggingface", "hf_" + "FAKE" + run("abcXYZ", 30)),
    shape("huggingface-org", "api_org_" + "FAKE" + run("abcXYZ", 30)),
    shape("groq", "gsk_" + "FAKE" + run(ALNUM, 48)),
    shape("xai", "xai-" + "FAKE" + run(ALNUM, 76)),
    shape("perplexity", "pplx-" + "FAKE" + run(ALNUM, 44)),
    *[shape("aws-access-key-id", prefix + "FAKE" + run("ABCDEFGHJK234567", 12))
      for prefix in ("AKIA", "ASIA", "ABIA", "ACCA")],
    *[shape("github", prefix + "FAKE" + run(ALNUM, 32))
      for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")],
    shape("github", "github_pat_" + "FAKE" + run("a1B2_c3D4", 78)),
    shape("jwt", "eyJhbGciOiJIUzI1NiJ9." + "eyJ" + "FAKE" + run(URLSAFE, 30) + "." + "FAKE"
          + run(URLSAFE, 40)),
]

TOKEN = "FAKE" + run(URLSAFE, 30)
VALUE = "FAKE" + run(HEX, 28)  # an Azure OpenAI key's shape: 32 hex digits (but for the marker)
AWS_SECRET = "FAKE" + run("wJalrXUtnFEMI/K7MDENG+bPxRfiCY", 36)  # 40 characters of base64
URL = "https://api.example.com/v1/models"

CONTEXTS = [
    ("bearer", f"Authorization: Bearer {TOKEN}", TOKEN),
    ("bearer", f"authorization: bearer {TOKEN}", TOKEN),
    ("bearer", f"-H 'Authorization: BEARER {TOKEN}'", TOKEN),
    ("bearer", "Bearer " + TOKEN + ".~+/" + "==", TOKEN + ".~+/" + "=="),  # RFC 6750 token characters
    *[("url-key", f"{URL}?{name}={VALUE}", VALUE)
      for name in ("key", "api_key", "apikey", "api-key", "access_token", "token")],
    *[("url-key", f"{URL}?alt=json&{name}={VALUE}&pretty=1", VALUE)
      for name in ("key", "api_key", "apikey", "api-key", "access_token", "token")],
    # a value assigned to a name that ends in a secret word, in every notation
    ("assigned-key", f"export AZURE_OPENAI_API_KEY={VALUE}", VALUE),
    ("assigned-key", f'MISTRAL_API_KEY="{VALUE}"', VALUE),
    ("assigned-key", f"MISTRAL_API_KEY='{VALUE}'", VALUE),
    ("assigned-key", f'COHERE_API_KEY = "{VALUE}"', VALUE),
    ("assigned-key", f'COHERE_API_KEY: str = "{VALUE}"', VALUE),
    ("assigned-key", f"cohere_api_key: {VALUE}", VALUE),
    ("assigned-key", f'  cohere_api_key: "{VALUE}"', VALUE),
    ("assigned-key", f'{{"openaiApiKey": "{VALUE}"}}', VALUE),
    ("assigned-key", f'{{"apiKey":"{VALUE}"}}', VALUE),
    ("assigned-key", f'api_key = "{VALUE}"  # TOML', VALUE),
    ("assigned-key", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    ("assigned-key", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
    ("assigned-key", f"MY_SERVICE_APIKEY={VALUE}", VALUE),
    ("assigned-key", f"SLACK_BOT_TOKEN={VALUE}", VALUE),
    ("assigned-key", f"client_secret: {VALUE}", VALUE),
    ("assigned-key", f"DB_PASSWORD={VALUE}", VALUE),
    ("assigned-key", f"MYSQL_PASSWD={VALUE}", VALUE),
    ("assigned-key", f"GITHUB_PAT={VALUE}", VALUE),
    ("assigned-key", f"gitlab-pat: {VALUE}", VALUE),
    ("assigned-key", f"OPENAI_API_KEY_1={VALUE}", VALUE),
    ("assigned-key", f"OPENAI_API_KEY_PROD={VALUE}", VALUE),
    ("assigned-key", f'os.environ["MISTRAL_API_KEY"] = "{VALUE}"', VALUE),
    ("assigned-key", f'client = Mistral(api_key="{VALUE}")', VALUE),
    ("assigned-key", f"X-API-Key: {VALUE}", VALUE),
    ("assigned-key", f"mistral --api-key={VALUE}", VALUE),
    ("assigned-key", f"'api_key' => '{VALUE}'", VALUE),
    ("assigned-key", f'"source": ["API_KEY = \\"{VALUE}\\"\\n"]', VALUE),  # a notebook cell's JSON
    ("assigned-key", f"q=%7B%22api_key%22%3A%22{VALUE}%22%7D", VALUE),  # URL-encoded JSON
]
POSITIVES = SHAPES + CONTEXTS
POSITIVE_IDS = [f"{name}:{text[:24]}" for name, text, _secret in POSITIVES]


def expected_match(text: str, name: str, secret: str) -> bool:
    return any((m.format.name, m.secret, text[m.start:m.end]) == (name, secret, secret)
               for m in find_keys(text))


# -- the catalogue, pinned by examples written independently of it --------------------------------

def test_the_catalogue_is_complete_and_every_entry_has_examples_here() -> None:
    assert set(FORMAT_NAMES) == EXPECTED_FORMATS
    assert len(FORMAT_NAMES) == len(EXPECTED_FORMATS)  # no name twice
    assert {name for name, _text, _secret in POSITIVES} == EXPECTED_FORMATS


@pytest.mark.parametrize(("name", "text", "secret"), POSITIVES, ids=POSITIVE_IDS)
def test_each_example_is_found_whole_under_its_format(name: str, text: str, secret: str) -> None:
    found = [(m.format.name, m.secret) for m in find_keys(f"config: {text}\n")]
    assert found == [(name, secret)]


@pytest.mark.parametrize(("name", "text", "secret"), POSITIVES, ids=POSITIVE_IDS)
def test_each_example_is_reportable_once_its_fake_marker_is_gone(name: str, text: str, secret: str) -> None:
    real = text.replace("FAKE", "REAL").replace("fake", "real")
    real_secret = secret.replace("FAKE", "REAL").replace("fake", "real")
    assert [m.secret for m in reportable_keys(real)] == [real_secret]
    assert reportable_keys(text) == []


@pytest.mark.parametrize("text", [
    "pip install scikit-learn", "task-management-service-v2", "desk-reservation-api-gateway",
    "the risk-assessment-framework-2024 is fine", "Authorization: Bearer", "see https://example.com/?page=2",
    'url = f"https://api.example.com/v1?key={api_key}"', "curl 'https://host/v1?key=${GOOGLE_API_KEY}'",
    "sk-" + run("abc", 40),  # no digit: a hyphenated word, not a key
    "sk-" + run("abc1", 19),  # a digit, but too short
    "AIza" + run(URLSAFE, 34), "AKIA" + run("ABCDEFGH", 15), "hf_" + run("abc", 29),
    "gsk_" + run(ALNUM, 39), "xai-" + run(ALNUM, 39), "pplx-" + run(ALNUM, 39), "ghp_" + run(ALNUM, 35),
    "github_pat_" + run(ALNUM, 59), "eyJhbGciOiJIUzI1NiJ9.notajwt", "Bearer " + run(ALNUM, 15),
    URL + "?key=" + run(ALNUM, 7),
])
def test_common_developer_text_and_near_misses_are_not_keys(text: str) -> None:
    assert find_keys(text) == []


@pytest.mark.parametrize(("text", "not_this"), [
    ("sk-" + run(HEX, 31), "sk-32"), ("sk-" + run(HEX, 33), "sk-32"), ("sk-" + run("ABCDEF12", 32), "sk-32"),
    ("sk-ant-api03-" + run(ALNUM, 19), "anthropic"), ("sk-ant-api3-" + run(ALNUM, 40), "anthropic"),
    ("sk-ant-xyz01-" + run(ALNUM, 40), "anthropic"), ("sk-ant-ort1-" + run(ALNUM, 40), "anthropic-refresh"),
    ("sk-ant-admin1-" + run(ALNUM, 40), "anthropic-admin"), ("sk-or-v1-" + run(ALNUM, 31), "openrouter"),
    ("sk-or-" + run(ALNUM, 40), "openrouter"), ("sk-proj-" + run(ALNUM, 19), "openai-project"),
    ("sk-" + run(ALNUM, 19) + "T3BlbkFJ" + run(ALNUM, 20), "openai-legacy"),
])
def test_near_misses_of_a_specific_sk_shape_are_not_that_shape(text: str, not_this: str) -> None:
    assert not_this not in [m.format.name for m in find_keys(text)]


# -- assigned secrets: what is not one --------------------------------------------------------------

NOT_ASSIGNED_SECRETS = [
    # placeholders, in each spelling the rule knows
    "MISTRAL_API_KEY=your-mistral-api-key-here1", "MISTRAL_API_KEY=YOUR_API_KEY_1234567890",
    "MISTRAL_API_KEY=key-1234567890abcd-here", "MISTRAL_API_KEY=<your-api-key-123456789>",
    'MISTRAL_API_KEY="<your key 1234567890>"', "MISTRAL_API_KEY=" + run("x", 30) + "1",
    "MISTRAL_API_KEY=" + run("X", 30) + "1", "MISTRAL_API_KEY=key1XXXXXXXXXXXXXXXXXXXX",
    "DB_PASSWORD=changeme1234567890abc", "DB_PASSWORD=change-me-1234567890ab",
    "DB_PASSWORD=change_me_1234567890ab",
    "DB_PASSWORD=replace-me-1234567890ab", "DB_PASSWORD=replaceme1234567890abc",
    "DB_PASSWORD=replace_with_your_password1", "MISTRAL_API_KEY=placeholder-1234567890ab",
    "MISTRAL_API_KEY=insert-your-key-1234567", "MISTRAL_API_KEY=enter_key_1234567890abc",
    "MISTRAL_API_KEY=dummy-key-1234567890abc",
    'api_key: "eyJ2IjoiMSIsInMiOjEsImMiOi..."', "MISTRAL_API_KEY=FAKE34ef56gh78ij\u2026",
    # references, templates and reads
    "MISTRAL_API_KEY=${MISTRAL_API_KEY}", "MISTRAL_API_KEY=$MISTRAL_KEY_1234567890",
    'api_key: "{{ secrets.MISTRAL_KEY_1234 }}"', 'api_key = "%(mistral_key_1234567890)s"',
    'api_key = f"{prefix}-1234567890abcdef"', 'api_key = "abc1234567890<def>"',
    'api_key = os.environ["MISTRAL_API_KEY"]', 'api_key = os.getenv("MISTRAL_API_KEY")',
    'api_key = os.environ.get("MISTRAL_API_KEY_2")', "token = self._next_token2",
    "api_key = settings.mistral_key2",
    "x = windll.advapi32.OpenProcessToken",
    # too short, no digit, no letter, nothing at all
    "MISTRAL_API_KEY=abc123", "MISTRAL_API_KEY=" + run("abcdefgh", 30), "MISTRAL_API_KEY=" + run("12345", 30),
    "MISTRAL_API_KEY=", 'MISTRAL_API_KEY=""', "DB_PASSWORD=correct horse battery staple 2",
    # names that do not end in a secret word, and tokens that only number things
    "prompt_tokens: 1234567890abcdefghij", "max_tokens=1234567890abcdefghij",
    "sort_key = 'abc1234567890defghij'", "monkey = 'abc1234567890defghij'",
    "OPENAI_API_KEY_ID=abc1234567890defghij", "TOKEN_URL=abc1234567890defghij",
    *[f'"{name}": "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"' for name in (
        "ClientToken", "ClientRequestToken", "ChangeToken", "LifecycleActionToken", "NextToken", "next_token",
        "PageToken", "page_token", "PaginationToken", "ContinuationToken", "IdempotencyToken",
        "CancellationToken", "ResumeToken", "SyncToken", "CursorToken", "input_token", "output_token",
        "request_token")],
    # a colon glued to the value is no assignment: an ARN, a URL
    '"Resource": "arn:aws:secretsmanager:*:*:secret:Prod2Secret123456789"',
    "see https://example.com/token:abc1234567890defghij",
    # a comparison is no assignment
    'if api_key == "abc1234567890defghij": pass',
]


@pytest.mark.parametrize("text", NOT_ASSIGNED_SECRETS)
def test_placeholders_references_and_reads_are_not_assigned_secrets(text: str) -> None:
    assert find_keys(text) == []


def test_a_key_of_a_known_shape_assigned_to_a_secret_name_keeps_its_shape() -> None:
    [(name, text, secret)] = [p for p in SHAPES if p[0] == "google"]
    [match] = find_keys(f"GOOGLE_API_KEY={text}")
    assert (match.format.name, match.secret) == (name, secret)
    [match] = find_keys(f'api_key="{SHAPES[-1][1]}"')
    assert match.format.name == "jwt"


def test_the_assigned_value_ends_at_its_closing_quote_or_at_a_separator() -> None:
    for text in (f'X_API_KEY="{VALUE}", other', f"X_API_KEY={VALUE};", f"X_API_KEY={VALUE} # comment",
                 f"X_API_KEY={VALUE}\\n", f"X_API_KEY={VALUE}&x=1", f"(X_API_KEY={VALUE})"):
        assert [m.secret for m in find_keys(text)] == [VALUE], text
    symbols = "p@ss/word+" + "FAKE" + "=1~#^*?"
    assert [m.secret for m in find_keys(f"DB_PASSWORD={symbols}")] == [symbols]
    assert [m.secret for m in find_keys(f'DB_PASSWORD="{symbols}<>$"')] == []  # quoted, but a template


SECRET_NAMES = ["OPENAI_API_KEY", "openaiApiKey", "SERVICE_APIKEY", "GH_TOKEN", "CLIENT_SECRET",
                "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "GITHUB_PAT", "secret_key", "accessToken"]
NOTATIONS = ["{n}={v}", "export {n}={v}", '{n}="{v}"', "{n} = '{v}'", "{n}: {v}", '"{n}": "{v}"',
             '{n}: str = "{v}"', "{n}:\t{v}", "{n} => '{v}'", '["{n}"] = "{v}"']


@given(name=st.sampled_from(SECRET_NAMES), case=st.sampled_from([str.upper, str.lower, lambda s: s]),
       notation=st.sampled_from(NOTATIONS),
       value=st.text(string.ascii_letters + string.digits + "_-/+", min_size=12, max_size=60),
       before=st.sampled_from(["", " ", "\n", "  ", "x.", "\\n", "{"]))
def test_values_assigned_to_secret_names_are_found_whole_in_every_notation(
    name: str, case: object, notation: str, value: str, before: str
) -> None:
    value = "FAKE" + value + "7a"  # a letter and a digit, 16 characters or more, not a placeholder
    text = before + notation.format(n=case(name), v=value)  # type: ignore[operator]
    assert [(m.format.name, m.secret) for m in find_keys(text)] == [("assigned-key", value)]


# -- left boundary: escapes, percent-escapes and colour codes ---------------------------------------

WRITTEN_OUT = ["\\xa0", "\\u200b", "\\ufeff", "\\u201c", "\\U0001f600", "\\x1b", "\\x00", "\\n", "\\t", "\\r",
               "\\0", "\\033", "\\a", "\\b", "\\f", "\\v", "\\e"]
PERCENT = ["%3D", "%22", "%2C", "%20", "%0A", "%3d", "%2c", "%7B"]
COLOURS = ["\x1b[0m", "\x1b[31m", "\x1b[1;31m", "\x1b[38;5;208m", "\x1b[38;2;255;100;0m",
           "\x1b[48;2;1;2;3;1m", "\x1b[m", "\x1b[2K", "\\x1b[38;5;208m", "\\u001b[38;2;255;100;0m",
           "\\u001B[0m", "\\033[1;32m",
           "\\e[0m", "\\U0000001b[31m", "[31m", "[0;38;5;208m"]
escapes = st.one_of(
    st.sampled_from(WRITTEN_OUT + PERCENT + COLOURS),
    st.integers(0, 0xFF).map(lambda n: f"\\x{n:02x}"),
    st.integers(0, 0xFFFF).map(lambda n: f"\\u{n:04x}"),
    st.integers(0, 0x10FFFF).map(lambda n: f"\\U{n:08x}"),
    st.integers(0, 0xFF).map(lambda n: f"%{n:02X}"),
    st.lists(st.integers(0, 255), max_size=6).map(lambda ps: "\x1b[" + ";".join(map(str, ps)) + "m"),
    st.lists(st.integers(0, 255), max_size=6).map(lambda ps: "\\x1b[" + ";".join(map(str, ps)) + "m"),
)


@given(example=st.sampled_from(POSITIVES), escape=escapes, before=st.sampled_from(["", " ", "x", "'", "abc"]))
def test_a_key_right_after_any_escape_or_colour_code_is_found_whole(
    example: tuple[str, str, str], escape: str, before: str
) -> None:
    name, text, secret = example
    assert expected_match(f"{before}{escape}{text}'", name, secret), escape


# a character glued to a key that is not part of a longer token (a letter or digit would be)
glued_characters = st.characters(exclude_categories=("Cs",)).filter(lambda c: not (c.isalnum() or c in "_-"))


@given(example=st.sampled_from(POSITIVES), glued=glued_characters)
def test_a_key_is_found_in_what_repr_ascii_and_json_write(example: tuple[str, str, str], glued: str) -> None:
    name, text, secret = example
    for written in (repr(glued + text), ascii(glued + text), json.dumps(glued + text)):
        assert expected_match(written, name, secret), written
    if not (glued.isascii() and glued.isprintable()):  # written out as an escape after the key too
        for written in (ascii(text + glued), json.dumps(text + glued)):
            assert expected_match(written, name, secret), written


@given(example=st.sampled_from(SHAPES + [c for c in CONTEXTS if " " not in c[1] and "%" not in c[1]]),
       glued=glued_characters)
def test_a_key_is_found_in_a_url_encoded_text(example: tuple[str, str, str], glued: str) -> None:
    name, text, secret = example
    encoded = urllib.parse.quote(glued + text, safe="")
    assert expected_match(encoded, name, urllib.parse.quote(secret, safe="")), encoded


def test_context_words_are_found_after_escapes_too() -> None:
    for before in ("\\u200b", "\\xa0", "%22", "\x1b[38;5;208m", "\\x1b[1m", "\\n"):
        assert expected_match(f"{before}Bearer {TOKEN}", "bearer", TOKEN), before
        assert expected_match(f"{before}api_key={VALUE}", "assigned-key", VALUE), before
    assert expected_match(f"Authorization%3A%20Bearer%20{TOKEN}", "bearer", TOKEN)
    assert expected_match(f"Authorization: Bearer\\xa0{TOKEN}", "bearer", TOKEN)
    encoded = "FAKE" + run("ab%2Bcd%2F", 30)
    assert expected_match(f"Bearer%20{encoded}%3D%3D", "bearer", encoded + "%3D%3D")


# -- both boundaries: a key inside a longer token is found whole or not at all -----------------------

def covering(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of matches that overlap text[start:end]."""
    return [(m.start, m.end) for m in find_keys(text) if m.start < end and m.end > start]


@given(example=st.sampled_from(SHAPES), data=st.data())
def test_a_longer_token_is_not_cut_on_the_right(example: tuple[str, str, str], data: st.DataObject) -> None:
    _name, text, _secret = example
    # more of the characters the key is made of; a key of letters and digits ends at a "-" or "_"
    tail = data.draw(st.text(sorted(set(text[-20:])), min_size=1))
    token = text + tail
    assert covering(f"= {token} ;", 2, 2 + len(token)) in ([], [(2, 2 + len(token))])


@given(example=st.sampled_from(SHAPES), head=st.text(string.ascii_letters + string.digits + "_-", min_size=1))
def test_a_longer_token_is_not_cut_on_the_left(example: tuple[str, str, str], head: str) -> None:
    _name, text, _secret = example
    token = head + text
    assert covering(f"= {token} ;", 2, 2 + len(token)) in ([], [(2, 2 + len(token))])


@given(example=st.sampled_from([c for c in CONTEXTS if not c[2].endswith("=")]),
       tail=st.text(string.ascii_letters + string.digits + "_-", min_size=1))
def test_a_longer_value_after_a_context_is_taken_whole(example: tuple[str, str, str], tail: str) -> None:
    name, text, secret = example
    assert expected_match(text.replace(secret, secret + tail), name, secret + tail)


def test_a_longer_sk_token_is_not_cut_and_its_tail_is_not_left_in_clear() -> None:
    for name in ("sk-32", "openai-legacy"):
        for _name, key, _secret in [p for p in SHAPES if p[0] == name]:
            longer = key + "9zQ"
            assert [m.secret for m in find_keys(f"key: {longer} end")] == [longer], name
            assert [m.secret for m in find_keys(f"key: {key}_ end")] == [key + "_"], name
    for prefix, length in (("AIza", 35), ("AKIA", 16)):
        [key] = [p[1] for p in SHAPES if p[1].startswith(prefix)]
        assert len(key) == len(prefix) + length
        assert find_keys(f"key: {key}Q end") == []  # found whole or not at all


def test_keys_are_not_cut_out_of_longer_words() -> None:
    [(_, deepseek, _)] = [p for p in SHAPES if p[0] == "sk-32" and set(p[1][7:]) <= set(HEX)]
    assert find_keys("whisk" + deepseek.removeprefix("sk")) == []  # "whisk-..." is not "sk-..."
    assert find_keys("task" + deepseek.removeprefix("sk")) == []


# -- fakes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=FORMAT_NAMES)
def test_each_fake_is_found_whole_and_under_its_own_format(fmt: KeyFormat) -> None:
    fake = fmt.fake(3)
    [match] = find_keys(f"config: {fake}\n")
    assert match.format is fmt
    assert fake.endswith(match.secret)  # context formats (Bearer, ?key=) report the secret only
    assert match.secret != ""


@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=FORMAT_NAMES)
def test_each_fake_carries_a_fake_marker_and_is_deterministic(fmt: KeyFormat) -> None:
    assert re.search("fake|example", fmt.fake(0), re.IGNORECASE)
    assert fmt.fake(0) == fmt.fake(0)
    assert fmt.fake(0) != fmt.fake(1)
    assert fmt.fake(random.Random(5)) == fmt.fake(random.Random(5))
    assert fmt.fake() == fmt.fake(0)


def test_deepseek_fakes_are_hex_but_for_the_marker() -> None:
    for seed in range(20):
        fake = fake_key("sk-32", seed)
        assert fake.startswith("sk-fake") and len(fake) == 35
        assert set(fake.removeprefix("sk-fake")) <= set(HEX)


def test_fake_key_shortcut_and_unknown_name() -> None:
    assert fake_key("groq", 2) == format_named("groq").fake(2)
    assert fake_key() == format_named("openai-project").fake(0)
    assert format_named("sk-32").name == "sk-32"
    with pytest.raises(KeyError) as raised:
        format_named("nope")
    assert str(raised.value).strip("'\"") == ("no key format named 'nope'; known formats: "
                                              + ", ".join(fmt.name for fmt in KEY_FORMATS))


# -- the scan policy: allowed fakes, placeholders after a context -------------------------------------

def test_allowed_fakes_say_so_in_any_case() -> None:
    for marker in ("FAKE", "fake", "Fake", "EXAMPLE", "example", "eXaMpLe"):
        assert is_allowed_fake("sk-" + marker + run(ALNUM, 30))
    assert not is_allowed_fake("sk-" + run(ALNUM, 30))
    assert ALLOWED_FAKE.pattern.lower() == "fake|example"


@pytest.mark.parametrize(("value", "reported"), [
    ("REAL" + run("a1b2c3d4e5f6g7h8", 12), True),  # 16 characters: enough
    ("REAL" + run("a1b2c3d4e5f6g7h8", 11), False),  # 15: too short
    ("REAL" + run("abcdefghijklmnop", 12), False),  # no digit
    (run("1234567890", 16), False),  # no letter
    ("REAL" + run("a1b2", 12) + "%2F", False),  # a percent-escape: a template, or not the key itself
    ("aaaaaa" + "REAL" + "b1c2d3e4", True),  # "a" is 6 of 18 characters: a third, still random
    ("aaaaaaa" + "REAL" + "b1c2d3e4", False),  # 7 of 19: more than a third, not random
])
def test_context_values_are_reported_only_when_they_look_random(value: str, reported: bool) -> None:
    for text in (f"Bearer {value}", f"{URL}?key={value}", f'MISTRAL_API_KEY="{value}"'):
        assert bool(reportable_keys(text)) is reported, text


def test_a_value_with_template_syntax_is_not_reported() -> None:
    for value in ("REAL" + run("a1b2", 12) + "$x", "REAL" + run("a1b2", 12) + "%s"):
        assert [m.secret for m in find_keys(f'MISTRAL_API_KEY="{value}"')] == [value]
        assert reportable_keys(f'MISTRAL_API_KEY="{value}"') == []


# -- the peer corpora ----------------------------------------------------------------------------------

def test_the_corpus_is_in_the_repository_and_decodes_to_keys(peer_samples: list[str]) -> None:
    samples = peer_samples
    assert len(samples) == 70
    assert all(sample.isascii() and sample.isprintable() and len(sample) >= 20 for sample in samples)
    # Stored encoded: no sample appears in the file as it is, nor a key shape at all.
    stored = (Path(__file__).parent / "data" / "peer-corpus.tsv").read_text()
    assert not any(sample in stored for sample in samples)
    assert find_keys(stored) == []


def test_every_peer_sample_is_found_whole(peer_sample: str) -> None:
    matches = find_keys(f'token = "{peer_sample}"')
    assert [m.secret for m in matches] == [peer_sample]


# -- properties over generated fakes -------------------------------------------------------------------

SEPARATORS = " \n\t\"'(),;:<>[]{}|"
surrounding = st.text(alphabet=string.printable, max_size=60)


@given(
    fmt=st.sampled_from(KEY_FORMATS),
    seed=st.integers(0, 10_000),
    before=surrounding,
    after=surrounding,
    left=st.sampled_from(SEPARATORS),
    right=st.sampled_from(SEPARATORS),
)
def test_every_generated_key_is_found_in_any_surrounding_text(
    fmt: KeyFormat, seed: int, before: str, after: str, left: str, right: str
) -> None:
    fake = fmt.fake(random.Random(seed))
    text = f"{before}{left}{fake}{right}{after}"
    secrets = [m.secret for m in find_keys(text)]
    assert any(fake.endswith(secret) and len(secret) >= 8 for secret in secrets)


WORDS = ["task", "desk", "risk", "disk", "management", "service", "scikit", "learn", "flask", "api",
         "key", "token", "secret", "bearer", "keyboard", "monkey", "the", "ask", "whisk", "v2",
         "config", "value", "model", "turkey", "kiosk", "tusk", "musk", "hf", "org", "gsk", "xai",
         "eye", "access", "asia", "akin", "ghost", "pplx", "password", "pat", "github", "tokens"]


@given(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=12),
       joiner=st.sampled_from([" ", "-", "_", ".", "/", ", ", "=", ": "]))
def test_ordinary_words_and_identifiers_are_not_keys(words: list[str], joiner: str) -> None:
    text = joiner.join(words)
    assert find_keys(text) == []


def test_a_chain_of_assignments_is_not_a_key_but_base64_padding_still_ends_one() -> None:
    assert find_keys("token=task=task=task=v2") == []
    assert find_keys("auth_token=session=v1abcdefghij2345") == []
    padded = "dGVzdGluZzEyMzQ1Njc4OTAx"
    for value in (padded + "=", padded + "=="):
        assert [m.secret for m in find_keys(f"MY_TOKEN={value}")] == [value]


def test_bearer_tokens_keep_underscores_and_padding() -> None:
    token = "FAKE_" + "a1" * 12 + "=="
    assert [m.secret for m in find_keys(f"Bearer {token}")] == [token]


def test_a_bearer_token_or_url_key_of_a_known_shape_is_reported_as_that_shape() -> None:
    for name, key, _secret in SHAPES[:3] + SHAPES[-8:-6]:
        for text in (f"Authorization: Bearer {key}", f"{URL}?key={key}"):
            [match] = find_keys(text)
            assert (match.format.name, match.secret) == (name, key), text


def test_several_keys_in_one_text_in_order() -> None:
    keys = [fake_key("anthropic"), fake_key("google"), fake_key("aws-access-key-id")]
    matches = find_keys(" and ".join(keys))
    assert [m.secret for m in matches] == keys
    assert [m.format.name for m in matches] == ["anthropic", "google", "aws-access-key-id"]
    text = " and ".join(keys)
    assert [(text[m.start:m.end]) for m in matches] == keys


# -- the pre-check ---------------------------------------------------------------------------------------

ALL_ANCHORS = sorted({anchor for fmt in KEY_FORMATS for anchor in fmt.anchors})
ANCHORS = [anchor.upper() for anchor in ALL_ANCHORS]


@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(ANCHORS), st.sampled_from([":", "=", "_1="]),
                          st.sampled_from(KEY_FORMATS).map(lambda fmt: fmt.fake(7)))).map(" ".join))
def test_prefilter_says_no_only_where_the_full_scan_finds_nothing(text: str) -> None:
    if not might_contain_key(text):
        assert _scanner().search(text) is None
    assert [(m.start, m.end) for m in find_keys(text)] == [
        (m.start(m.lastgroup or ""), m.end(m.lastgroup or "")) for m in _scanner().finditer(text)]


@pytest.mark.parametrize(("name", "text", "secret"), POSITIVES, ids=POSITIVE_IDS)
def test_prefilter_never_rejects_a_text_that_holds_a_key(name: str, text: str, secret: str) -> None:
    assert might_contain_key(f"x {text} y")
    assert might_contain_key(f"x {text.upper()} y") or name in {"url-key"}  # ?KEY= is no URL key


@pytest.mark.parametrize("text", [
    "GET /v1/chat/completions status=200 took 123ms", "chat completion took 812 ms, 1532 prompt tokens",
    "the key is in the vault", "password reset sent", "tokens: 12", "github.com/org/repo", "ghost",
    "secrets manager answered in 12 ms", "path=/tmp/pat", "monkey see",
])
def test_prefilter_lets_ordinary_log_lines_through_without_a_scan(text: str) -> None:
    assert not might_contain_key(text)


# -- fingerprints ------------------------------------------------------------------------------------------

def test_fingerprint_is_short_stable_and_ignores_surrounding_whitespace() -> None:
    key = fake_key()
    assert re.fullmatch(r"[0-9a-f]{8}", fingerprint(key))
    assert fingerprint(key) == fingerprint(f"  {key}\n")
    assert fingerprint(key) != fingerprint(fake_key(seed=1))
    assert fingerprint("abc") == "ba7816bf"  # sha256("abc"), first 8 hex digits


def test_match_repr_shows_the_fingerprint_not_the_key() -> None:
    key = fake_key()
    [match] = find_keys(key)
    assert key not in repr(match)
    assert repr(match) == f"KeyMatch(openai-project, 0:{len(key)}, fp={fingerprint(key)})"
    assert match.fingerprint == fingerprint(key)


@pytest.mark.parametrize(("name", "text", "secret"), POSITIVES, ids=POSITIVE_IDS)
def test_the_scan_is_narrowed_to_the_formats_whose_anchors_a_text_holds(
    name: str, text: str, secret: str
) -> None:
    candidates = [KEY_FORMATS[i] for i in _candidates(f"x {text} y")]
    assert name in [fmt.name for fmt in candidates]
    held = [anchor for anchor in ALL_ANCHORS if anchor in text.lower()]
    # a candidate has an anchor the text holds, or one that holds it ("sk-proj-" holds "sk-")
    assert all(any(h in anchor for anchor in fmt.anchors for h in held) for fmt in candidates)


@pytest.mark.parametrize(("name", "text", "secret"), SHAPES, ids=POSITIVE_IDS[:len(SHAPES)])
def test_a_shape_starts_with_one_of_its_anchors(name: str, text: str, secret: str) -> None:
    """The scan only tries a shape where one of its anchors' first letters stands (see _scanner)."""
    assert any(secret.lower().startswith(anchor) for anchor in format_named(name).anchors)
    assert [m.group(m.lastgroup or "") for m in _scanner().finditer(f"x {secret} y")] == [secret]


@pytest.mark.parametrize("placeholder", [
    "AKIA" + "X" * 16, "sk-proj-" + "x" * 40, "ghp_" + "0" * 36, "AIza" + "X" * 35, "gsk_" + "X" * 48])
def test_a_placeholder_in_a_key_s_shape_is_found_but_not_reported(placeholder: str) -> None:
    assert find_keys(f"key: {placeholder}")  # redaction still hides it: it has the shape
    assert reportable_keys(f"key: {placeholder}") == []


def test_a_real_looking_key_with_a_repeated_character_is_still_reported(real_looking) -> None:
    key = real_looking("aws-access-key-id", 3)
    assert [m.secret for m in reportable_keys(f"key: {key}")] == [key]
    half = key[:4] + "Q" * 7 + key[11:]  # 7 of 20 characters the same: a third, not half
    assert [m.secret for m in reportable_keys(f"key: {half}")] == [half]
