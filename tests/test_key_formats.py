"""Tests for helpers.key_formats: every shape is found, ordinary text is not, fakes stay fake."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import (
    KEY_FORMATS,
    KeyFormat,
    _scanner,
    fake_key,
    find_keys,
    fingerprint,
    format_named,
    might_contain_key,
)

FORMAT_NAMES = [fmt.name for fmt in KEY_FORMATS]


# -- fakes -------------------------------------------------------------------------------------

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


def test_fake_key_shortcut_and_unknown_name() -> None:
    assert fake_key("groq", 2) == format_named("groq").fake(2)
    with pytest.raises(KeyError, match="no key format named 'nope'.*openai-project"):
        format_named("nope")


# -- the peer corpora ---------------------------------------------------------------------------

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


# -- properties ---------------------------------------------------------------------------------

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
         "eye", "access", "asia", "akin", "ghost", "pplx"]


@given(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=12),
       joiner=st.sampled_from([" ", "-", "_", ".", "/", ", "]))
def test_ordinary_words_and_identifiers_are_not_keys(words: list[str], joiner: str) -> None:
    text = joiner.join(words)
    assert find_keys(text) == []


@pytest.mark.parametrize("text", [
    "pip install scikit-learn", "task-management-service-v2", "desk-reservation-api-gateway",
    "the risk-assessment-framework-2024 is fine", "OPENAI_API_KEY=your-openai-api-key-here",
    "api_key = os.environ['OPENAI_API_KEY']", "Authorization: Bearer", "see https://example.com/?page=2",
    'url = f"https://api.example.com/v1?key={api_key}"', "curl 'https://host/v1?key=${GOOGLE_API_KEY}'",
])
def test_common_developer_text_is_not_a_key(text: str) -> None:
    assert find_keys(text) == []


def test_keys_are_not_cut_out_of_longer_words() -> None:
    inner = fake_key("sk-32")
    assert find_keys("whisk" + inner.removeprefix("sk")) == []  # "whisk-..." is not "sk-..."


def test_bearer_tokens_keep_underscores_and_padding() -> None:
    token = "FAKE_" + "a1" * 12 + "=="
    assert [m.secret for m in find_keys(f"Bearer {token}")] == [token]


def test_bearer_token_with_a_project_key_is_reported_as_that_key() -> None:
    key = fake_key("openai-project")
    [match] = find_keys(f"Authorization: Bearer {key}")
    assert (match.format.name, match.secret) == ("openai-project", key)


def test_several_keys_in_one_text_in_order() -> None:
    keys = [fake_key("anthropic"), fake_key("google"), fake_key("aws-access-key-id")]
    matches = find_keys(" and ".join(keys))
    assert [m.secret for m in matches] == keys
    assert [m.format.name for m in matches] == ["anthropic", "google", "aws-access-key-id"]


ANCHORS = sorted({anchor.upper() for fmt in KEY_FORMATS for anchor in fmt.anchors})


@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(ANCHORS), st.sampled_from(KEY_FORMATS)
                          .map(lambda fmt: fmt.fake(7)))).map(" ".join))
def test_prefilter_says_no_only_where_the_full_scan_finds_nothing(text: str) -> None:
    if not might_contain_key(text):
        assert _scanner().search(text) is None


def test_keys_right_after_escapes_and_colour_codes_are_found() -> None:
    key = fake_key("openai-project")
    for before in ("\\n", "\\t", "\x1b[31m", "\\u001b[0;31m", "\\tBearer ", "\\napi_key="):
        assert [m.secret for m in find_keys(f"'{before}{key}'")] == [key], before


def test_a_jwt_assigned_to_api_key_is_found_whole() -> None:
    jwt = fake_key("jwt")
    [match] = find_keys(f'api_key="{jwt}"')
    assert (match.format.name, match.secret) == ("jwt", jwt)


def test_prefilter_never_rejects_a_text_that_holds_a_key() -> None:
    for fmt in KEY_FORMATS:
        assert might_contain_key(f"x {fmt.fake(5)} y"), fmt.name
    assert not might_contain_key("GET /v1/chat/completions status=200 took 123ms")


# -- fingerprints -------------------------------------------------------------------------------

def test_fingerprint_is_short_stable_and_ignores_surrounding_whitespace() -> None:
    key = fake_key()
    assert re.fullmatch(r"[0-9a-f]{8}", fingerprint(key))
    assert fingerprint(key) == fingerprint(f"  {key}\n")
    assert fingerprint(key) != fingerprint(fake_key(seed=1))


def test_match_repr_shows_the_fingerprint_not_the_key() -> None:
    key = fake_key()
    [match] = find_keys(key)
    assert key not in repr(match)
    assert fingerprint(key) in repr(match)
