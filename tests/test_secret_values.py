"""Tests for helpers.secret_values: markers that reveal nothing, every spelling of a known value,
the quick check that lets no key through, secrets found in settings objects, the registry."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr

from helpers import secret_values
from helpers.key_formats import KEY_FORMATS, KeyFormat, fake_key, find_keys, fingerprint, might_contain_key
from helpers.secret_values import (
    KNOWN_SECRET,
    RedactionError,
    SecretsArgumentError,
    SecretValues,
    estimated_bits,
    forget_secrets,
    marker,
    redact,
    register_secrets,
    secrets_from,
    spellings,
)

pytestmark = pytest.mark.usefixtures("empty_secret_value_caches")

FORMAT_NAMES = [fmt.name for fmt in KEY_FORMATS]
MARKER = re.compile(r"\[REDACTED \S+ ~?[0-9a-f]{8}\]")
SHAPE_FORMATS = [fmt for fmt in KEY_FORMATS if not fmt.context]
CONTEXT_FORMATS = [fmt for fmt in KEY_FORMATS if fmt.context]
# Characters no key shape can contain: they end a key, so "text<sep>key<sep>text" holds the key whole.
SEPARATORS = list(" \t\n,;()[]{}<>|!\"'")
CONTEXTS = ["api_key=", "OPENAI_API_KEY:", "Authorization: Bearer", "https://x.example/v1?key=",
            "secret_key =", "access_token=", "token="]
PLAIN_TEXT = ["task-management", "sk-learn-compatible estimators", "the api_key is missing", "Bearer",
              "see ?key= in the docs", "hf_hub_download", "AKIA is how AWS key ids start", "eyJ"]
secret_texts = st.text(min_size=4, max_size=30).map(str.strip).filter(lambda s: len(s) >= 4)


def secret_part(fmt: KeyFormat, fake: str) -> str:
    """The secret in a fake: for context formats (``Bearer x``, ``?key=x``) what follows the context."""
    context = re.search(fmt.context, fake) if fmt.context else None
    return fake[context.end():] if context else fake


# -- markers and redact() ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", SHAPE_FORMATS, ids=[fmt.name for fmt in SHAPE_FORMATS])
def test_a_provider_key_is_replaced_by_a_marker_with_its_public_fingerprint(fmt: KeyFormat) -> None:
    fake = fmt.fake(4)
    out = redact(f"config: {fake}\n")
    assert fake not in out
    assert out == f"config: [REDACTED {fmt.name} {fingerprint(fake)}]\n"


@pytest.mark.parametrize("fmt", CONTEXT_FORMATS, ids=[fmt.name for fmt in CONTEXT_FORMATS])
def test_a_value_found_by_its_context_alone_gets_a_keyed_id_not_its_fingerprint(fmt: KeyFormat) -> None:
    fake = fmt.fake(4)
    secret = secret_part(fmt, fake)
    out = redact(f"config: {fake}\n")
    assert secret not in out and fingerprint(secret) not in out
    assert f"[REDACTED {fmt.name} ~" in out and out == redact(f"config: {fake}\n")


def test_a_jwt_after_api_key_goes_whole_not_only_up_to_its_first_dot() -> None:
    token = fake_key("jwt", 1)
    out = redact(f'api_key="{token}"')
    assert out == f'api_key="{marker("jwt", token)}"'


def test_the_same_key_gets_the_same_marker_and_another_key_another() -> None:
    one, other = fake_key("anthropic", 1), fake_key("anthropic", 2)
    out = redact(f"a={one} b={one} c={other}")
    assert out.count(marker("anthropic", one)) == 2
    assert out.count(marker("anthropic", other)) == 1


def test_known_values_are_redacted_even_without_a_key_shape() -> None:
    out = redact("db password is correct-horse-battery, host db1", secrets=["correct-horse-battery", "  "])
    assert out == f"db password is {marker(KNOWN_SECRET, 'correct-horse-battery')}, host db1"


def test_the_longer_of_two_overlapping_secrets_goes_whole() -> None:
    out = redact("token hunter2-staging", secrets=["hunter2", "hunter2-staging"])
    assert "staging" not in out and "hunter2" not in out


def test_secret_values_repr_shows_neither_values_nor_their_public_fingerprints() -> None:
    values = SecretValues(["correct-horse-battery"])
    assert "correct-horse-battery" not in repr(values)
    assert fingerprint("correct-horse-battery") not in repr(values)


@given(fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 2**32),
       before=st.one_of(st.text(max_size=30), st.sampled_from(CONTEXTS)),
       after=st.text(max_size=30), sep=st.sampled_from(SEPARATORS))
def test_redacting_twice_changes_nothing(
    fmt: KeyFormat, seed: int, before: str, after: str, sep: str
) -> None:
    once = redact(f"{before}{sep}{fmt.fake(random.Random(seed))}{sep}{after}")
    assert redact(once) == once


# Text full of what a key starts with, yet no key: every near miss goes through the whole scan.
near_misses = st.lists(st.one_of(st.sampled_from(PLAIN_TEXT), st.sampled_from(["sk-", "Bearer ", "api_key=",
                                  "OPENAI_API_KEY=", "ghp_", "AIza", "token=", " ", "\n", "x"]),
                                  st.text(max_size=8)), max_size=12).map("".join)


@given(near_misses)
def test_text_that_only_looks_like_a_key_comes_back_character_for_character(text: str) -> None:
    assume(not find_keys(text))
    assert redact(text) == text


class Database(BaseModel):
    host: str = "db1"
    password: SecretStr


class Settings(BaseModel):
    openai_api_key: SecretStr
    anthropic_api_key: SecretStr | None = None
    signing_key: SecretBytes
    default_model: str = "gpt-4o-mini"
    database: Database
    extra_keys: list[SecretStr] = []


def test_secrets_from_collects_every_secret_value_and_nothing_else() -> None:
    settings = Settings(openai_api_key=fake_key("openai-project", 1), signing_key=b"bytes-secret-1",
                        database=Database(password="correct-horse-battery"),
                        extra_keys=[SecretStr("pool-key-one"), SecretStr("")])
    mapping = {"deploy": {"token": SecretStr("deploy-token-9")}}
    found = secrets_from(settings, mapping, [SecretStr("x-list-1")])
    assert set(found) == {fake_key("openai-project", 1), "bytes-secret-1", "correct-horse-battery",
                          "pool-key-one", "deploy-token-9", "x-list-1"}
    assert "gpt-4o-mini" not in found and "db1" not in found


@given(secret=secret_texts)
def test_a_known_secret_marker_never_holds_its_public_fingerprint(secret: str) -> None:
    written = marker(KNOWN_SECRET, secret)
    assert fingerprint(secret) not in written
    assert written == marker(KNOWN_SECRET, secret) != marker(KNOWN_SECRET, secret + "x")
    assert re.fullmatch(r"\[REDACTED known-secret ~[0-9a-f]{8}\]", written)


def test_a_four_digit_pin_cannot_be_found_again_from_its_marker() -> None:
    """The old marker, sha256(pin)[:8], gave the PIN back after at most 10,000 hashes."""
    written = redact("unlocking with 4821", secrets=["4821"])
    shown = written.split()[-1].rstrip("]").lstrip("~")
    assert [pin for pin in (f"{n:04d}" for n in range(10_000)) if fingerprint(pin) == shown] == []


def test_known_secret_ids_match_within_a_process_and_differ_between_processes() -> None:
    code = "from helpers.secret_values import marker; print(marker('known-secret', '4821'))"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}).stdout
            for _ in range(2)]
    assert runs[0] != runs[1]
    assert marker(KNOWN_SECRET, "4821") == marker(KNOWN_SECRET, "4821")


@pytest.mark.parametrize("value", ["sk-" + "1" * 30, "sk-" + "ab12" * 8, "AKIA" + "A" * 16,
                                   "AKIA" + "ABCD" * 4])
def test_a_repetitive_value_of_a_provider_shape_gets_a_keyed_id(value: str) -> None:
    out = redact(f"key {value}")
    assert value not in out and fingerprint(value) not in out and "~" in out


# The fake AWS key id has 12 random characters (a real one 16): some fall under the bar.
LONG_SHAPES = [fmt for fmt in SHAPE_FORMATS if fmt.name != "aws-access-key-id"]


@given(fmt=st.sampled_from(LONG_SHAPES), seed=st.integers(0, 2**32))
def test_a_random_provider_key_carries_enough_bits_for_its_public_fingerprint(
    fmt: KeyFormat, seed: int
) -> None:
    key = fmt.fake(random.Random(seed))
    assert estimated_bits(key) >= secret_values.PUBLIC_FINGERPRINT_BITS
    assert redact(key) == f"[REDACTED {fmt.name} {fingerprint(key)}]"


@given(fmt=st.sampled_from(SHAPE_FORMATS), seed=st.integers(0, 2**32))
def test_a_provider_key_shows_its_public_fingerprint_only_when_it_carries_enough_bits(
    fmt: KeyFormat, seed: int
) -> None:
    key = fmt.fake(random.Random(seed))
    public = estimated_bits(key) >= secret_values.PUBLIC_FINGERPRINT_BITS
    assert (redact(key) == f"[REDACTED {fmt.name} {fingerprint(key)}]") is public
    assert (fingerprint(key) in redact(key)) is public


@given(secret=secret_texts)
def test_every_spelling_of_a_known_secret_is_redacted(secret: str) -> None:
    for spelling in spellings(secret):
        assert spelling not in MARKER.sub("", redact(f"<{spelling}>", secrets=[secret]))


# -- the quick pre-check never lets a key or a secret through ---------------------------------------

@given(text=st.text(), fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 2**32),
       cut=st.integers(0, 200), secret=secret_texts)
def test_the_quick_check_says_no_only_for_text_without_any_key_or_known_secret(
    text: str, fmt: KeyFormat, seed: int, cut: int, secret: str
) -> None:
    values = SecretValues([secret])
    planted = f"{text[:cut]}{fmt.fake(random.Random(seed))} {secret.swapcase()}{text[cut:]}"
    for candidate in (text, planted, text + secret, secret.upper() + text):
        if not values.might_hold_secret(candidate):
            assert find_keys(candidate) == [] and secret not in candidate
    assert values.might_hold_secret(planted) and values.might_hold_secret(text + secret)


ANCHORS = sorted({anchor for fmt in KEY_FORMATS for anchor in fmt.anchors})
FOLLOW_UPS = ["", "=", ": ", "%3D", "_", "_pat_", "ub_pat_", "p_", "ord=", "_1=", "_PROD =", "s", "\"=", " "]


@given(before=st.text(max_size=20), after=st.text(max_size=20), anchor=st.sampled_from(ANCHORS),
       follow=st.sampled_from(FOLLOW_UPS), upper=st.booleans())
def test_the_quick_check_opens_for_every_text_the_catalogue_would_scan(
    before: str, after: str, anchor: str, follow: str, upper: bool
) -> None:
    """find_keys scans a text only if might_contain_key says so: the quick check must say so too."""
    word = anchor.upper() if upper else anchor
    for candidate in (before + after, f"{before}{word}{follow}{after}", f"{word}{follow}{before}"):
        if might_contain_key(candidate):
            assert SecretValues().might_hold_secret(candidate)


def test_secret_str_and_bytes_are_accepted_as_known_secrets() -> None:
    values = SecretValues([SecretStr("pw-one-2345"), b"pw-two-2345", SecretBytes(b"pw-three-2345")])
    assert values.values == ("pw-one-2345", "pw-three-2345", "pw-two-2345")


# -- secrets held by settings objects ----------------------------------------------------------------

@dataclasses.dataclass(slots=True)
class SlottedConfig:
    api_key: SecretStr
    region: str = "eu-west-1"


class PlainClient:
    __slots__ = ("name", "token")

    def __init__(self, token: SecretStr) -> None:
        self.token = token  # "name" is never assigned: an empty slot must not stop the search


class OneSlot:
    __slots__ = "token"  # one name written as a plain string, which Python allows

    def __init__(self, token: SecretStr) -> None:
        self.token = token


class PlainHolder:
    def __init__(self, token: SecretStr) -> None:
        self.token = token


class ModelWithExtras(BaseModel):
    model_config = ConfigDict(extra="allow")
    openai_api_key: SecretStr


def test_secrets_from_finds_secrets_in_slotted_dataclasses_plain_objects_and_model_extras() -> None:
    found = secrets_from(SlottedConfig(SecretStr("slot-secret-1")), PlainClient(SecretStr("slot-secret-2")),
                         ModelWithExtras(openai_api_key=SecretStr("model-secret-3"),
                                         backup_key=SecretStr("extra-secret-4")),
                         {SecretStr("dict-key-secret-5"): "value"}, OneSlot(SecretStr("one-slot-secret-6")),
                         PlainHolder(SecretStr("plain-secret-7")))
    assert set(found) == {"slot-secret-1", "slot-secret-2", "model-secret-3", "extra-secret-4",
                          "dict-key-secret-5", "one-slot-secret-6", "plain-secret-7"}


@pytest.mark.parametrize("depth", [7, 50, 5000])
def test_secrets_from_finds_a_secret_at_any_depth(depth: int) -> None:
    value: object = SecretStr(f"deep-secret-{depth}")
    for level in range(depth):
        value = {"level": level, "inner": [value]} if level % 2 else SlottedConfig(value)  # type: ignore[arg-type]
    assert secrets_from(value) == (f"deep-secret-{depth}",)


def test_secrets_from_survives_objects_that_hold_themselves() -> None:
    loop: list[object] = [SecretStr("loop-secret-1")]
    loop.append(loop)
    assert secrets_from(loop, loop) == ("loop-secret-1",)


# -- the registry, and values given the wrong way ----------------------------------------------------

@pytest.mark.usefixtures("registry")
def test_a_registered_value_is_redacted_by_redact_until_forgotten() -> None:
    assert redact("x vault-value-8c1f") == "x vault-value-8c1f"
    register_secrets(["vault-value-8c1f"])
    assert redact("x vault-value-8c1f") == f"x {marker(KNOWN_SECRET, 'vault-value-8c1f')}"
    expected = f"y {marker(KNOWN_SECRET, 'vault-value-8c1f')}"
    assert redact("y vault-value-8c1f", secrets=["other-value-1"]) == expected
    forget_secrets(["vault-value-8c1f"])
    assert redact("x vault-value-8c1f") == "x vault-value-8c1f"


@pytest.mark.parametrize("secrets", [("pw-one", 7), (None,), (b"ok", [b"list"])])
def test_a_value_that_is_no_string_nor_secret_is_refused_by_its_type_alone(
    secrets: tuple[object, ...],
) -> None:
    with pytest.raises(SecretsArgumentError) as caught:
        SecretValues(secrets)  # type: ignore[arg-type]
    shown = next(type(value).__name__ for value in secrets if not isinstance(value, (str, bytes)))
    assert "pw-one" not in str(caught.value) and f"secrets holds a {shown}:" in str(caught.value)
    assert isinstance(caught.value, RedactionError) and isinstance(caught.value, TypeError)


@given(secret=secret_texts)
def test_estimated_bits_of_a_value_never_exceed_its_length_times_its_alphabet(secret: str) -> None:
    bits = estimated_bits(secret)
    assert 0 <= bits <= len(secret) * max(1.0, math.log2(len(set(secret)))) + 1e-9


# One secret that each way of writing it changes: a non-ASCII letter, a space, a slash, quotes,
# an ampersand and a backslash.
AWKWARD = "pä ss/w&\"\\'d-7"
ENCODERS: dict[str, Callable[[str], str]] = {
    "repr": lambda s: repr(s)[1:-1],
    "ascii": lambda s: ascii(s)[1:-1],
    "json": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "bytes": lambda s: repr(s.encode())[2:-1],
    "html": html.escape,
    "quote": quote,
    "quote-all": lambda s: quote(s, safe=""),
    "quote_plus": quote_plus,
    "quote_plus-slash": lambda s: quote_plus(s, safe="/"),
    "lower-hex": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    "lower-hex-plus": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote_plus(s)),
}


@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_known_secret_is_redacted_in_each_way_a_log_line_writes_it(encoder: str) -> None:
    written = ENCODERS[encoder](AWKWARD)
    assert written != AWKWARD
    assert redact(f"<{written}>", secrets=[AWKWARD]) == f"<{marker(KNOWN_SECRET, AWKWARD)}>"


def test_secret_values_repr_lists_the_ids_of_their_markers_separated_by_commas() -> None:
    values = SecretValues(["b-secret-2", "4821"])
    ids = [marker(KNOWN_SECRET, value).split()[-1].rstrip("]") for value in ("4821", "b-secret-2")]
    assert repr(values) == f"SecretValues({ids[0]}, {ids[1]})"
    assert fingerprint("4821") not in repr(values)  # a PIN's public fingerprint would give it away


@given(secret=st.text("aΣσς-", min_size=1, max_size=8), before=st.text("aΣσς -", max_size=4),
       after=st.text("aΣσς -", max_size=4))
def test_a_secret_with_a_greek_sigma_opens_the_quick_check_wherever_it_stands(
    secret: str, before: str, after: str
) -> None:
    """str.lower() writes a capital sigma as σ or ς depending on what follows: the check allows it."""
    assert SecretValues([secret]).might_hold_secret(before + secret + after)


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize("call", [forget_secrets, register_secrets, SecretValues, SecretValues().union,
                                  lambda value: redact("text", value)])
def test_one_string_given_as_the_list_of_values_is_refused_naming_the_argument(
    call: Callable[[str], object],
) -> None:
    with pytest.raises(SecretsArgumentError, match="^secrets must be a list of values, not one string"):
        call("vault-value-8c1f")


@pytest.mark.parametrize(("value", "bits"), [
    ("", 0.0), ("ab", 0.0),          # too short to tell: no public fingerprint
    ("aaaa", 0.0),                   # one character: no randomness
    ("abc", 3 * math.log2(3)),       # three different characters, one piece of three
    ("abcd", 8.0),                   # 4 characters x 2 bits, both pieces different
    ("abab", 4.0),                   # 4 x 1 bit, "aba" and "bab" different
    ("ababab", 3.0),                 # 6 x 1 bit, but only 2 of its 4 pieces differ
])
def test_estimated_bits_on_values_worked_out_by_hand(value: str, bits: float) -> None:
    assert estimated_bits(value) == pytest.approx(bits)


def test_redact_takes_a_prepared_set_of_values_as_well_as_a_list() -> None:
    prepared = SecretValues(["db-password-4821x"])
    text = "connecting with db-password-4821x"
    assert redact(text, prepared) == redact(text, ["db-password-4821x"]) == redact(text, secrets=prepared)
    assert redact(text, prepared) == f"connecting with {marker(KNOWN_SECRET, 'db-password-4821x')}"


def test_a_value_with_a_lone_surrogate_is_accepted_and_redacted_in_every_spelling_it_has() -> None:
    """Such a value cannot be encoded to UTF-8 (so not percent-encoded); HTML still escapes it."""
    secret = "pw-\ud800&4821"
    for written in (secret, html.escape(secret), repr(secret)[1:-1]):
        assert redact(f"x {written} y", secrets=[secret]) == f"x {marker(KNOWN_SECRET, secret)} y"


def test_a_bytes_value_that_is_not_utf8_is_kept_with_replacement_characters() -> None:
    assert SecretValues([b"\xffpw-4821x"]).values == ("\ufffdpw-4821x",)
    assert secrets_from({"signing": SecretBytes(b"\xfesig-4821x")}) == ("\ufffdsig-4821x",)


@pytest.mark.usefixtures("registry")
def test_values_merged_with_the_registry_are_prepared_once_per_registry() -> None:
    values = SecretValues(["own-secret-1"])
    assert values.with_registered() is values  # nothing registered: the values themselves
    register_secrets(["registered-secret-2"])
    merged = values.with_registered()
    assert merged is values.with_registered() and merged.values == ("own-secret-1", "registered-secret-2")
    register_secrets(["registered-secret-3"])
    assert values.with_registered() is not merged and len(values.with_registered()) == 3
