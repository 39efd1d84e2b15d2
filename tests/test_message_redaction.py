"""Tests of helpers.message_redaction: which values are secret, and redaction of whole Jupyter
messages (every field, every MIME type, binary data, the per-message budget)."""

from __future__ import annotations

import base64
import json
import re
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import SecretStr

from helpers import message_redaction
from helpers.key_formats import KEY_FORMATS, fake_key, find_keys
from helpers.message_redaction import (
    OUTPUT_MESSAGES,
    READ_BUDGET,
    SCAN_BUDGET,
    WITHHELD,
    WITHHELD_ITEMS,
    WITHHELD_LARGE,
    GuardError,
    MessageRedactor,
    SecretValueError,
    env_secrets,
    forget_registered_secrets,
    is_secret_name,
    known_secrets,
    redact_bundle,
    redact_content,
    redact_message,
    redact_text,
    redact_value,
    register_secret,
)

KEY = fake_key("openai-project", 1)
KEY_MARKER = "[REDACTED openai-project"
ENV_ONLY_SECRET = "hunter2-FAKE-not-a-shape"


surrounding = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 10_000), before=surrounding,
       after=surrounding, msg_type=st.sampled_from(sorted(OUTPUT_MESSAGES)),
       mimetype=st.text(min_size=1, max_size=30))
def test_no_key_survives_any_output_message(fmt, seed, before, after, msg_type, mimetype) -> None:
    key = fmt.fake(seed)
    text = f"{before} {key}\n{after}"
    content = {
        "text": text, "evalue": text, "ename": text, "traceback": [text, f"\x1b[31m{text}\x1b[0m"],
        "data": {"text/plain": text, "text/html": f"<p>{text}</p>", "application/json": {"k": [text]},
                 mimetype: text, "image/png": base64.b64encode(text.encode()).decode()},
        "metadata": {"note": text, text: 1}, "transient": {"display_id": text},
        "payload": [{"data": {"text/plain": text}}], "user_expressions": {"x": {"data": {mimetype: text}}},
        "prompt": text, "history": [[1, 2, text]],
    }
    msg = {"header": {"msg_type": msg_type}, "content": content, "metadata": {}}
    redacted = redact_message(msg, secrets=())
    secret = find_keys(key)[0].secret  # without its context ("Bearer ", "?key=")
    assert secret not in json.dumps(redacted["content"])
    assert content["data"]["text/plain"] == text  # the original message is not modified


@given(text=st.lists(st.one_of(surrounding, st.sampled_from(
    ["sk-learn", "Bearer ", "api_key=", "OPENAI_API_KEY=", "token=", "AKIA is", "\x1b[31m", "%3D"])),
    max_size=8).map("".join))
def test_text_that_only_looks_like_a_key_passes_character_for_character(text: str) -> None:
    # a key shape hidden by a colour code (``BEARER 00000000\x1b[A00000000``) is redacted: not here
    assume(not find_keys(text) and not find_keys(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)))
    assert redact_text(text, secrets=()) == text
    assert redact_content("stream", {"name": "stdout", "text": text}, ()) == {"name": "stdout", "text": text}


def test_key_split_by_colour_codes_is_still_redacted() -> None:
    coloured = f"\x1b[32m{KEY[:20]}\x1b[1m{KEY[20:]}\x1b[0m"
    redacted = redact_text(coloured, secrets=())
    assert KEY not in redacted.replace("\x1b[1m", "")
    assert KEY_MARKER in redacted


def test_binary_outputs_and_other_messages_are_left_alone() -> None:
    image = {"image/png": f"iVBORw0KGgo{KEY}", "text/plain": KEY}
    content = redact_content("display_data", {"data": image, "metadata": {}}, ())
    assert content["data"]["image/png"] == image["image/png"]
    assert KEY_MARKER in content["data"]["text/plain"]
    code = {"header": {"msg_type": "execute_input"}, "content": {"code": f"x = {KEY!r}"}}
    assert redact_message(code, secrets=()) is code


def test_user_json_is_redacted_at_every_depth() -> None:
    data = {"application/json": {"a/b": KEY, "data": {"image/png": KEY}, KEY: [{"x": KEY}]}}
    content = redact_content("display_data", {"data": data}, ())
    assert KEY not in json.dumps(content)


def test_output_is_withheld_when_redaction_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, secrets: object = ()) -> str:
        raise RuntimeError("bug in redaction")

    monkeypatch.setattr(message_redaction, "redact", broken)
    content = redact_content("error", {"ename": "ValueError", "evalue": KEY, "traceback": [KEY]}, ())
    assert KEY not in json.dumps(content)
    assert content == {"ename": "ValueError", "evalue": WITHHELD, "traceback": [WITHHELD]}
    content = redact_content("execute_result", {"data": {"text/plain": KEY}, "execution_count": 3}, ())
    assert content == {"data": {"text/plain": WITHHELD}, "execution_count": 3}


def test_register_secret_rejects_empty_values() -> None:
    with pytest.raises(SecretValueError, match="non-empty") as raised:
        register_secret("  ")
    assert isinstance(raised.value, GuardError) and isinstance(raised.value, ValueError)


def test_register_secret_accepts_secret_str() -> None:
    try:
        register_secret(SecretStr("pydantic-FAKE-secret"))
        assert "pydantic-FAKE-secret" in known_secrets()
    finally:
        forget_registered_secrets()
    assert "pydantic-FAKE-secret" not in known_secrets()


# --- secret variable names ----------------------------------------------------------------------

secret_words = st.sampled_from(["KEY", "API_KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASS",
                                "PAT", "SECRET_ACCESS_KEY", "PASSWD", "PWD"])
name_parts = st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True)


@given(prefix=name_parts, word=secret_words, suffix=st.sampled_from(["", "_2", "_PROD", "_OLD", "_DEV"]),
       lower=st.booleans())
def test_names_holding_a_secret_word_are_secret(prefix: str, word: str, suffix: str, lower: bool) -> None:
    name = f"{prefix}_{word}{suffix}"
    assert is_secret_name(name.lower() if lower else name)


@given(prefix=name_parts, word=secret_words,
       where=st.sampled_from(["_PATH", "_FILE", "_DIR", "_NAME", "_ID", "_TTL", "_HEADER"]))
def test_names_saying_where_a_secret_is_are_not_secret(prefix: str, word: str, where: str) -> None:
    assert not is_secret_name(f"{prefix}_{word}{where}")


@pytest.mark.parametrize("name", ["KEYBOARD", "MONKEY", "PATH", "PYTHONPATH", "TOKENIZERS_PARALLELISM",
                                  "MAX_TOKENS", "GOOGLE_APPLICATION_CREDENTIALS", "API_KEY_HEADER",
                                  "BYPASS_CACHE", "PATTERN", "HOME", "PASSENGER_COUNT", "COMPASS"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_env_secrets_by_name_and_length(named_secrets: dict[str, str]) -> None:
    environ = {
        "OPENAI_API_KEY": "value-one-FAKE", "GITHUB_TOKEN": "value-two-FAKE",
        "CLIENT_SECRET": "value-three-FAKE", "DB_PASSWORD": "value-four-FAKE",
        "OPENAI_API_KEY_2": "value-five-FAKE", "lowercase_api_key": "value-six-FAKE",
        **named_secrets,
        "HOME": "/root", "KEYBOARD": "value-not-secret", "DEBUG_KEY": "1", "EMPTY_TOKEN": "",
        "SSH_KEY_PATH": "/root/.ssh/id_ed25519",
    }
    assert env_secrets(environ) == {"value-one-FAKE", "value-two-FAKE", "value-three-FAKE",
                                    "value-four-FAKE", "value-five-FAKE", "value-six-FAKE",
                                    *named_secrets.values()}


# --- one preparation per message; big and crafted messages ---------------------------------------


def test_a_message_without_secrets_is_passed_on_as_it_is() -> None:
    content = {"data": {"application/json": {"items": [f"item {i} of an ordinary list" for i in range(400)]}},
               "metadata": {}}
    assert redact_content("display_data", content, [ENV_ONLY_SECRET]) is content


def test_a_known_value_in_any_spelling_is_found_by_the_cheap_check() -> None:
    secret = 'pa"ss\\wörd-FAKE'
    for spelling in (secret, json.dumps(secret), repr(secret)):
        redacted = redact_content("stream", {"name": "stdout", "text": f"x {spelling} y"}, [secret])
        assert "FAKE" not in redacted["text"], spelling


@pytest.mark.parametrize("padding", ["spaces", "newlines", "key-ish"])
def test_a_huge_crafted_output_never_shows_the_key(padding: str) -> None:
    fill = {"spaces": " ", "newlines": "\n", "key-ish": "a"}[padding] * 10_000_000
    text = f"api_key:{fill} {KEY} sk-{fill}"
    content = redact_content("stream", {"name": "stdout", "text": text}, ())
    assert KEY not in content["text"]
    assert len(content["text"]) < 200  # withheld, with a notice that says why
    assert "too much to redact" in content["text"]


def test_a_long_output_within_the_budget_is_redacted_not_withheld() -> None:
    text = "<tr><td>row</td></tr>\n" * 40_000 + f"api_key: {KEY}"
    assert len(text) < SCAN_BUDGET
    content = redact_content("display_data", {"data": {"text/html": text}}, ())
    assert KEY not in content["data"]["text/html"] and KEY_MARKER in content["data"]["text/html"]


def test_the_budget_counts_the_whole_message() -> None:
    piece = "x" * (SCAN_BUDGET // 2) + f" {KEY}"
    content = redact_content("display_data", {"data": {"text/plain": piece, "text/html": piece,
                                                       "text/markdown": piece}}, ())
    assert KEY not in json.dumps(content)
    assert sum(KEY_MARKER in value for value in content["data"].values()) == 1


def test_a_message_of_many_strings_beyond_the_budget_is_withheld_not_leaked() -> None:
    rows = [f"api_key=1 row {i}" for i in range(100_000)] + [f"api_key: {KEY}"]
    content = redact_content("display_data", {"data": {"application/json": {"rows": rows}}}, ())
    redacted_rows = content["data"]["application/json"]["rows"]
    assert KEY not in json.dumps(content)
    assert redacted_rows[0] == rows[0] and "too much to redact" in redacted_rows[-1]


def test_message_redactor_cores_come_from_every_known_value() -> None:
    redactor = MessageRedactor(["first-FAKE-one", "second-FAKE-two"])
    assert redactor.needs_redaction("... second-FAKE-two ...")
    assert not redactor.needs_redaction("nothing secret here")


def test_reading_is_bounded_too_a_message_beyond_the_read_budget_is_withheld_unread() -> None:
    ordinary = "x" * (READ_BUDGET // 4)
    within = {"data": {"text/plain": ordinary, "text/html": ordinary}}
    assert redact_content("display_data", within, ()) is within  # no anchor: passed on untouched
    beyond = {"data": {"application/json": [ordinary] * 5 + [f"api_key: {KEY}"]}}
    content = redact_content("display_data", beyond, ())
    assert KEY not in json.dumps(content)
    assert content["data"]["application/json"][0] == ordinary  # read while the budget lasted


# --- which values are secret: the edges -----------------------------------------------------------


@pytest.mark.parametrize("value", [42, None, b"bytes-FAKE-value", SecretStr("   "), ""])
def test_register_secret_rejects_what_cannot_be_a_secret(value: object) -> None:
    with pytest.raises(SecretValueError) as raised:
        register_secret(value)
    assert str(raised.value) == "register_secret() needs a non-empty string (or SecretStr) value"
    assert known_secrets() == env_secrets()


def test_env_secrets_counts_values_of_at_least_six_characters_besides_spaces() -> None:
    environ = {"SHORT_TOKEN": "abcde", "PADDED_TOKEN": "  abcde \n", "EXACT_TOKEN": "abcdef",
               "SPACED_TOKEN": " abcdefg "}
    assert env_secrets(environ) == {"abcdef", " abcdefg "}


def test_env_secrets_and_known_secrets_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATE_SERVICE_TOKEN", ENV_ONLY_SECRET)
    assert ENV_ONLY_SECRET in env_secrets()
    try:
        register_secret("registered-FAKE-value")
        assert {ENV_ONLY_SECRET, "registered-FAKE-value"} <= known_secrets()
    finally:
        forget_registered_secrets()
    message = {"header": {"msg_type": "stream"}, "content": {"name": "stdout", "text": ENV_ONLY_SECRET}}
    assert ENV_ONLY_SECRET not in json.dumps(redact_message(message))  # the default: known_secrets()


# --- the budgets, exactly: a string costs its length plus a fixed amount --------------------------


def test_a_redactor_reads_strings_until_its_read_budget_is_spent() -> None:
    redactor = MessageRedactor(read_budget=64 + 10)  # a string costs its length plus 64
    assert redactor.text("x" * 10) == "x" * 10
    assert redactor.read_budget == 0
    assert redactor.text("") == WITHHELD_LARGE.format(size=0)
    assert MessageRedactor(read_budget=64 + 10).text("x" * 11) == WITHHELD_LARGE.format(size=11)


def test_a_redactor_scans_text_with_an_anchor_until_its_scan_budget_is_spent() -> None:
    text = f"key {KEY}"
    redactor = MessageRedactor(budget=len(text))
    assert redactor.text(text) == redact_text(text, ())
    assert redactor.budget == -32  # a scanned string costs its length plus 32
    assert redactor.text("plain") == WITHHELD_LARGE.format(size=5)  # nothing left: not even read
    short = MessageRedactor(budget=len(text) - 1)
    assert short.text(text) == WITHHELD_LARGE.format(size=len(text)) and short.budget == len(text) - 1


def test_text_without_an_anchor_costs_no_scan_budget() -> None:
    redactor = MessageRedactor(budget=10)
    assert redactor.text("plain words, nothing to redact") == "plain words, nothing to redact"
    assert redactor.budget == 10


def test_once_a_budget_is_spent_the_rest_of_a_list_is_one_notice() -> None:
    text = f"key {KEY}"
    redactor = MessageRedactor(budget=len(text))
    assert redactor.value([text, "a", KEY, 3]) == [redact_text(text, ()), WITHHELD_ITEMS.format(count=3)]
    assert redactor.value(("a",)) == WITHHELD_ITEMS.format(count=1)
    assert redactor.value({"a": 1}) == WITHHELD_ITEMS.format(count=1)
    assert redactor.value(7) == 7  # numbers hold no key
    reading = MessageRedactor(read_budget=64 + 1 + 64)  # "a", then exactly one string's cost is left
    assert reading.value(["a", "b"]) == ["a", WITHHELD_ITEMS.format(count=1)]


@pytest.mark.parametrize(("extra", "rest"), [(32, WITHHELD_ITEMS.format(count=1)), (33, "a")])
def test_a_scan_budget_spent_to_exactly_zero_withholds_the_rest(extra: int, rest: str) -> None:
    text = f"key {KEY}"
    assert MessageRedactor(budget=len(text) + extra).value([text, "a"]) == [redact_text(text, ()), rest]


def test_a_redactor_with_nothing_left_withholds_and_one_with_a_little_left_reads() -> None:
    assert MessageRedactor(budget=0).text("plain") == WITHHELD_LARGE.format(size=5)
    assert MessageRedactor(budget=0).value(["a"]) == WITHHELD_ITEMS.format(count=1)
    assert MessageRedactor(read_budget=64).value(["a"]) == WITHHELD_ITEMS.format(count=1)
    assert MessageRedactor(budget=1).text("plain") == "plain"
    assert MessageRedactor(budget=1).value(["a"]) == ["a"]


def test_values_keep_their_shape_and_everything_that_is_not_text() -> None:
    value = {"n": 1, "ok": True, "none": None, "items": ("a", 2.5, [KEY])}
    assert redact_value(value, ()) == {"n": 1, "ok": True, "none": None,
                                       "items": ["a", 2.5, [redact_text(KEY, ())]]}


def test_an_unbounded_redactor_redacts_beyond_every_budget_never_withholds() -> None:
    text = "x " * SCAN_BUDGET + f"{KEY} {ENV_ONLY_SECRET}"
    unbounded = MessageRedactor.unbounded([ENV_ONLY_SECRET])
    assert unbounded.budget == unbounded.read_budget == sys.maxsize
    assert unbounded.text(text) == redact_text(text, [ENV_ONLY_SECRET]) != redact_text(text, ())


# --- binary display data ----------------------------------------------------------------------------


@pytest.mark.parametrize("mimetype", ["image/png", "IMAGE/PNG", "image/png; name=a.json", "application/pdf"])
def test_binary_data_holding_a_key_is_withheld_with_a_notice_naming_its_type(mimetype: str) -> None:
    image = b"\x89PNG\r\n" + bytes(range(256)) + KEY.encode()
    encoded = base64.encodebytes(image).decode()  # in lines of 76 characters, as base64 is often sent
    redacted = redact_bundle({mimetype: encoded}, ())
    assert redacted == {"text/plain": f"[{mimetype} output withheld: it holds a key]"}
    assert redact_bundle({mimetype: image}, ()) == redacted  # bytes are the data itself


@pytest.mark.parametrize(("mimetype", "data"), [
    ("image/png", base64.b64encode(b"\x89PNG\r\n" + bytes(range(256))).decode()),
    ("image/png", b"\x89PNG\r\n" + bytes(range(256))),
    ("text/plain", base64.b64encode(b"ordinary text").decode()),  # valid base64, but text
])
def test_data_without_a_key_passes_as_it_is(mimetype: str, data: str | bytes) -> None:
    assert redact_bundle({mimetype: data}, ()) == {mimetype: data}


@pytest.mark.parametrize("mimetype", ["text/csv", "application/json", "application/xml", "image/svg+xml",
                                      "application/javascript", "application/x-yaml", "TEXT/PLAIN; x=y"])
def test_text_types_are_redacted_as_text_even_when_they_look_like_base64(mimetype: str) -> None:
    data = fake_key("aws-access-key-id", 1)  # a key shape that is valid base64 too
    assert base64.b64decode(data, validate=True)
    assert redact_bundle({mimetype: data}, ()) == {mimetype: redact_text(data, ())} != {mimetype: data}


def test_a_key_across_the_line_breaks_of_base64_is_found() -> None:
    image = b"\x00" * 50 + fake_key("aws-access-key-id", 1).encode() + b"\x00" * 30
    encoded = base64.encodebytes(image).decode()  # lines of 57 bytes: the key is cut at the first end
    withheld = {"text/plain": "[image/png output withheld: it holds a key]"}
    assert redact_bundle({"image/png": encoded}, ()) == withheld


def test_an_image_holding_a_key_is_withheld_from_a_message_and_the_rest_kept() -> None:
    image = base64.b64encode(b"\x89PNG\r\n" + bytes(range(256)) + KEY.encode()).decode()
    content = {"data": {"image/png": image, "text/html": "<b>a plot</b>"}, "metadata": {}}
    assert redact_content("display_data", content, ()) == {
        "data": {"text/plain": "[image/png output withheld: it holds a key]", "text/html": "<b>a plot</b>"},
        "metadata": {}}


def test_text_of_an_unknown_type_is_redacted_as_text_not_taken_for_base64() -> None:
    text = f"api_key: {KEY}"
    text += "x" * (-len(re.sub(r"[^A-Za-z0-9+/]", "", text)) % 4)  # a lenient base64 decoder takes it
    expected = {"application/x-custom": redact_text(text, ())}
    assert redact_bundle({"application/x-custom": text}, ()) == expected


@pytest.mark.parametrize("content", [
    {"data": {"application/json": {"rows": [[1, KEY]]}}},  # deep in lists
    {"metadata": {KEY: 1}},  # a key of a dict
    {"data": {KEY: "x"}},  # a MIME type
])
def test_a_key_anywhere_in_a_message_is_noticed(content: dict) -> None:
    redacted = redact_content("display_data", content, ())
    assert KEY not in json.dumps(redacted) and KEY_MARKER in json.dumps(redacted)


def test_known_values_are_redacted_through_colour_codes_too() -> None:
    coloured = f"\x1b[32m{ENV_ONLY_SECRET[:5]}\x1b[1m{ENV_ONLY_SECRET[5:]}\x1b[0m"
    assert redact_text(coloured, [ENV_ONLY_SECRET]) == redact_text(ENV_ONLY_SECRET, [ENV_ONLY_SECRET])


def test_known_values_without_letters_or_digits_are_redacted_and_blank_ones_ignored() -> None:
    redactor = MessageRedactor(["%%%%%%%%", "   ", ""])
    assert redactor.text("a %%%%%%%% b") == redact_text("a %%%%%%%% b", ["%%%%%%%%"]) != "a %%%%%%%% b"
    assert not MessageRedactor(["   "]).needs_redaction("plain text")


def test_the_cheap_check_looks_for_the_longest_run_of_letters_and_digits_of_a_value() -> None:
    content = {"name": "stdout", "text": "zz top, a band"}
    assert redact_content("stream", content, ["zz-FAKE-longest-run"]) is content


def test_a_mimetype_that_is_not_a_string_is_redacted_as_text() -> None:
    assert redact_content("display_data", {"data": {3: f"key {KEY}"}}, ()) == {
        "data": {3: redact_text(f"key {KEY}", ())}}


# --- what a withheld message keeps --------------------------------------------------------------------


def test_a_withheld_message_keeps_its_protocol_fields(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    def broken(text: str, secrets: object = ()) -> str:
        raise RuntimeError("bug in redaction")

    monkeypatch.setattr(message_redaction, "redact", broken)
    reply = {"status": "ok", "found": True, "cursor_pos": 3, "data": {"text/plain": KEY}, "metadata": {}}
    assert redact_content("inspect_reply", reply, ()) == {
        "status": "ok", "found": True, "cursor_pos": 3, "data": {"text/plain": WITHHELD},
        "metadata": {"text/plain": WITHHELD}}
    stream = {"name": "stdout", "text": KEY}
    assert redact_content("stream", stream, ()) == {"name": "stdout", "text": WITHHELD}
    assert [record.getMessage() for record in caplog.records] == ["notebook_guard: output withheld"] * 2
    assert all(record.exc_info for record in caplog.records)  # with the bug's traceback, for a report


def test_redact_message_redacts_the_content_with_the_secrets_given() -> None:
    message = {"header": {"msg_type": "stream"}, "content": {"name": "stdout", "text": "given-FAKE-value"}}
    redacted = redact_message(message, ["given-FAKE-value"])
    assert redacted == {**message, "content": {"name": "stdout",
                                               "text": redact_text("given-FAKE-value", ["given-FAKE-value"])}}
    assert redacted["content"]["text"] != "given-FAKE-value"


def test_a_message_without_header_or_content_passes_or_gets_an_empty_content() -> None:
    headless = {"content": {"text": KEY}}
    assert redact_message(headless, ()) is headless
    assert redact_message({"header": {"msg_type": "stream"}, "content": None}, ())["content"] == {}
