"""Tests for helpers.redacted_values: a value is kept as it is unless what a formatter prints of it
shows a secret; then what stands in for it prints redacted, with str() and repr() alike."""

from __future__ import annotations

import json
from collections import namedtuple
from urllib.parse import urlsplit

import httpx2
from hypothesis import assume, given
from hypothesis import strategies as st

from helpers.key_formats import fake_key
from helpers.redacted_values import RedactedValue, clean_value, printed
from helpers.secret_values import SecretValues, marker

KNOWN = SecretValues(["db-password-4821x"])
plain_values = st.recursive(
    st.one_of(st.text(max_size=20), st.binary(max_size=20), st.integers(), st.floats(allow_nan=False),
              st.none(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3),
                            st.frozensets(st.text(max_size=8), max_size=3)),
    max_leaves=10,
)


@given(value=plain_values)
def test_a_value_without_a_secret_is_returned_itself(value: object) -> None:
    assume(KNOWN.redact(repr(value)) == repr(value) and KNOWN.redact(str(value)) == str(value))
    assert clean_value(value, KNOWN) is value  # not even a copy: a JSON formatter sees the very object


@given(value=plain_values, where=st.sampled_from(["in-list", "dict-key", "bytes", "set"]))
def test_a_key_anywhere_in_a_value_is_gone_from_str_repr_and_json(value: object, where: str) -> None:
    key = fake_key("anthropic", 3)
    planted = {"in-list": [value, key], "dict-key": {key: value}, "bytes": (value, key.encode()),
               "set": {key, "x"}}[where]
    cleaned = clean_value(planted, KNOWN)
    for shown in (str(cleaned), repr(cleaned), json.dumps(cleaned, default=str)):
        assert key not in shown


def test_a_namedtuple_is_rebuilt_with_its_own_type_and_redacted_fields() -> None:
    key = fake_key("google", 8)
    Call = namedtuple("Call", "method url")
    cleaned = clean_value(Call("GET", f"https://x.example/?key={key}"), KNOWN)
    assert type(cleaned) is Call and cleaned.method == "GET"  # type: ignore[attr-defined]
    assert cleaned.url == f"https://x.example/?key={marker('google', key)}"  # type: ignore[attr-defined]
    password = KNOWN.values[0]  # a URL with a password written out would trip the repository's scanner
    split = urlsplit(f"https://u:{password}@db.internal/orders")
    assert password not in repr(clean_value(split, KNOWN))


def test_a_redacted_value_prints_its_redacted_str_and_repr() -> None:
    value = RedactedValue("str form", "repr form")
    percent_s, percent_r = "%s" % value, "%r" % (value,)  # noqa: UP031 - what logging's formatters do
    assert f"{value}" == percent_s == "str form" and repr(value) == percent_r == "repr form"
    assert json.dumps({"v": value}) == '{"v": "str form"}'


def test_printed_gives_a_note_for_a_value_that_cannot_be_printed() -> None:
    class Broken:
        def __str__(self) -> str:
            raise ValueError("no")

    assert printed(Broken()) == "<unprintable Broken: ValueError>"
    assert printed(Broken(), repr).startswith("<")


def test_containers_keep_their_structure_with_cleaned_parts() -> None:
    key = fake_key("xai", 2)
    url = httpx2.URL(f"https://x.example/?key={key}")
    cleaned = clean_value({"headers": [("authorization", f"Bearer {key}")], "urls": [url, "plain"]}, KNOWN)
    assert isinstance(cleaned, dict) and list(cleaned) == ["headers", "urls"]
    assert cleaned["headers"] == [("authorization", f"Bearer {marker('xai', key)}")]
    assert type(cleaned["headers"][0][1]) is str  # a string stays a plain string, at any depth
    assert isinstance(cleaned["urls"][0], RedactedValue) and cleaned["urls"][1] == "plain"
    assert type(clean_value(f"key {key}", KNOWN)) is str  # a string stays a plain string


def test_a_deep_value_keeps_its_structure_down_to_100_levels_then_is_judged_as_printed() -> None:
    key = fake_key("xai", 3)
    value: object = key
    for _ in range(300):
        value = [value]
    cleaned, levels = clean_value(value, KNOWN), 0
    while isinstance(cleaned, list):
        cleaned, levels = cleaned[0], levels + 1
    assert levels == 100 and isinstance(cleaned, RedactedValue) and key not in repr(cleaned)


def test_a_list_that_holds_itself_is_cut_where_it_repeats() -> None:
    key = fake_key("xai", 4)
    loop: list[object] = [key]
    loop.append(loop)
    cleaned = clean_value(loop, KNOWN)
    assert isinstance(cleaned, list) and cleaned[0] == marker("xai", key)
    assert isinstance(cleaned[1], RedactedValue) and cleaned[1] == "[...]"


class Fields(tuple):  # type: ignore[type-arg]
    """A tuple that says it has fields, as namedtuples do, but has no ``_make`` to rebuild it."""

    _fields = ("name", "value")

    def __repr__(self) -> str:
        return f"Fields{tuple.__repr__(self)}"


def test_a_tuple_with_fields_that_cannot_be_rebuilt_is_judged_by_its_printed_form() -> None:
    key = fake_key("groq", 6)
    cleaned = clean_value(Fields(("k", key)), KNOWN)
    assert isinstance(cleaned, RedactedValue)
    assert repr(cleaned) == f"Fields('k', '{marker('groq', key)}')" and str(cleaned) == repr(cleaned)


def test_a_secret_only_its_context_reveals_is_redacted_in_str_and_repr_alike() -> None:
    value = "c0ffee" * 6
    cleaned = clean_value({"api_key": value}, KNOWN)
    assert isinstance(cleaned, RedactedValue) and value not in str(cleaned) and value not in repr(cleaned)
    assert repr(cleaned).startswith("{'api_key': ") and str(cleaned).startswith("{'api_key': ")


def test_a_list_met_twice_without_a_cycle_is_cleaned_both_times() -> None:
    key = fake_key("xai", 5)
    shared = [key]
    cleaned = clean_value({"first": shared, "second": shared}, KNOWN)
    assert cleaned == {"first": [marker("xai", key)], "second": [marker("xai", key)]}


class Credentials(namedtuple("Credentials", "api_key")):
    """A namedtuple whose str() hides its fields: only its repr shows "api_key='...'"."""

    def __str__(self) -> str:
        return "Credentials(...)"


def test_a_secret_only_the_repr_of_a_whole_namedtuple_reveals_is_redacted_there() -> None:
    value = "c0ffee" * 6  # no shape of its own: only "api_key=" before it makes it a key
    cleaned = clean_value(Credentials(value), KNOWN)
    assert isinstance(cleaned, RedactedValue) and str(cleaned) == "Credentials(...)"
    assert value not in repr(cleaned) and repr(cleaned).startswith("Credentials(api_key='[REDACTED ")


class Shows:
    """An object that prints one text with str() and another with repr()."""

    def __init__(self, text: str, representation: str) -> None:
        self.text, self.representation = text, representation

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.representation


def test_an_object_is_replaced_when_its_str_or_its_repr_shows_a_secret_and_the_other_form_kept() -> None:
    key = fake_key("perplexity", 3)
    in_str = clean_value(Shows(f"GET ?key={key}", "<Shows>"), KNOWN)
    in_repr = clean_value(Shows("Shows", f"Shows(key={key!r})"), KNOWN)
    assert isinstance(in_str, RedactedValue) and isinstance(in_repr, RedactedValue)
    assert str(in_str) == f"GET ?key={marker('perplexity', key)}" and repr(in_str) == "<Shows>"
    assert str(in_repr) == "Shows" and repr(in_repr) == f"Shows(key='{marker('perplexity', key)}')"
    harmless = Shows("harmless", "<Shows harmless>")
    assert clean_value(harmless, KNOWN) is harmless


def test_an_object_that_cannot_be_printed_is_replaced_by_a_note() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            return "<Broken>"

    cleaned = clean_value(Broken(), KNOWN)
    assert isinstance(cleaned, RedactedValue)
    assert str(cleaned) == "<unprintable Broken: RuntimeError>" and repr(cleaned) == "<Broken>"
