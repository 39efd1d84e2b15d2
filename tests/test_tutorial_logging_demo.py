"""Tests for tutorial.logging_demo: each demo starts afresh, the log says the truth about the raw text,
and the notebook leaves logging and the environment as it found them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import fake_key
from helpers.redaction import RedactingFilter, install_redaction
from tutorial.logging_demo import (
    GEMINI_MODELS_URL,
    client_for,
    list_gemini_models,
    log_to_buffer,
    show_log,
    snapshot_logging,
    using_env,
)

KEY = fake_key("openai-project", 7)


@pytest.fixture(autouse=True)
def logging_put_back() -> Iterator[None]:
    snapshot = snapshot_logging(("demo", "demo.child", "billing"))
    yield
    snapshot.restore()


def test_the_buffer_gets_every_logger_at_the_level_asked() -> None:
    buffer = log_to_buffer(logging.DEBUG)
    logging.getLogger("demo.child").debug("hello %s", "there")
    logging.getLogger("httpx2").info("a library")
    assert buffer.getvalue() == "DEBUG demo.child: hello there\nINFO httpx2: a library\n"


def test_a_fresh_buffer_undoes_redaction_and_the_demo_loggers_filters() -> None:
    log_to_buffer()
    install_redaction()
    logging.getLogger("demo").addFilter(RedactingFilter())
    buffer = log_to_buffer(loggers=["demo"])
    logging.getLogger("demo").info("using %s", KEY)
    assert KEY in buffer.getvalue()
    assert logging.getLogger("demo").filters == []
    assert all(not handler.filters for handler in logging.getLogger().handlers)


def test_the_format_can_print_extra_fields_and_records_without_them_print_a_dash() -> None:
    buffer = log_to_buffer(fmt="%(levelname)s %(message)s %(url)s")
    logging.getLogger("demo").info("calling", extra={"url": "https://example.invalid/"})
    logging.getLogger("demo").info("no url")
    assert buffer.getvalue() == "INFO calling https://example.invalid/\nINFO no url -\n"


def test_show_log_reports_leaks_from_the_raw_text(capsys: pytest.CaptureFixture[str]) -> None:
    buffer = log_to_buffer()
    logging.getLogger("demo").info("using %s", KEY)
    logging.getLogger("demo").info("nothing here")
    show_log(buffer, key=KEY, password="not-in-the-log")
    assert capsys.readouterr().out.splitlines()[-2:] == ["key leaked: True", "password leaked: False"]


def test_show_log_with_only_prints_matching_lines_from_the_word(capsys: pytest.CaptureFixture[str]) -> None:
    buffer = log_to_buffer()
    logging.getLogger("demo").info("first line")
    logging.getLogger("demo").info("body: SecretString here")
    show_log(buffer, only="SecretString", key=KEY)
    assert capsys.readouterr().out == "SecretString here\nkey leaked: False\n"


def test_show_log_with_several_words_cuts_at_the_first_word(capsys: pytest.CaptureFixture[str]) -> None:
    buffer = log_to_buffer()
    for message in ("skip me", "a then b", "b only", "b before a"):
        logging.getLogger("demo").info(message)
    show_log(buffer, only=("a ", "b"))
    assert capsys.readouterr().out == "a then b\nb only\nb before a\n"


def test_show_log_each_line_judges_every_line_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    buffer = log_to_buffer()
    logging.getLogger("demo").info("using %s", KEY)
    logging.getLogger("demo").info("nothing here")
    show_log(buffer, each_line=True, key=KEY, password="not-in-the-log")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["INFO demo", "INFO demo"]
    assert lines[0].endswith(" | key leaked: True | password leaked: False")
    assert lines[1] == "INFO demo: nothing here | key leaked: False | password leaked: False"


def test_the_gemini_request_logs_its_url_with_the_key_in_the_query() -> None:
    buffer = log_to_buffer()
    list_gemini_models(KEY)
    (line,) = buffer.getvalue().splitlines()
    assert line.startswith(f"INFO httpx2: HTTP Request: GET {GEMINI_MODELS_URL}?key={KEY} ")
    assert line.endswith('"HTTP/1.1 200 OK"')


def test_in_mock_mode_the_client_is_the_fake_providers_and_accepts_the_fake_key() -> None:
    key, client = client_for("mock", KEY)
    assert key == KEY and client is not None
    assert client.api_key == KEY
    assert client.models.list().data is not None  # the fake answers 200 to this key


def test_in_live_mode_your_key_gives_a_real_client_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = fake_key("openai-project", 8)
    monkeypatch.setenv("OPENAI_API_KEY", mine)
    key, client = client_for("live", KEY)
    assert key == mine and client is not None
    assert client.api_key == mine and "api.openai.com" in str(client.base_url)


def test_in_live_mode_an_unusable_key_gives_no_client_and_says_why(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pasted = " " + fake_key("openai-project", 8)  # a space came with the paste
    monkeypatch.setenv("OPENAI_API_KEY", pasted)
    assert client_for("live", KEY) == (None, None)
    said = capsys.readouterr().out
    assert "cannot be used" in said and pasted.strip() not in said


@given(st.dictionaries(st.from_regex(r"DEMO_[A-Z]{1,8}", fullmatch=True), st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8), max_size=4))
def test_using_env_puts_the_environment_back_exactly(variables: dict[str, str]) -> None:
    before = dict(os.environ)
    with using_env(**variables):
        assert all(os.environ[name] == value for name, value in variables.items())
        os.environ["DEMO_SET_INSIDE"] = "x"
    assert dict(os.environ) == before


def test_using_env_puts_the_environment_back_after_an_error() -> None:
    before = dict(os.environ)
    with pytest.raises(RuntimeError), using_env(DEMO_VALUE="1"):
        raise RuntimeError("inside")
    assert dict(os.environ) == before


def test_restore_puts_handlers_filters_levels_and_environment_back() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    snapshot = snapshot_logging(["demo"])
    log_to_buffer(logging.DEBUG)
    install_redaction()
    logging.getLogger("demo").addFilter(RedactingFilter())
    logging.getLogger("demo").setLevel(logging.ERROR)
    os.environ["DEMO_ADDED"] = "1"
    assert snapshot.restore()
    assert root.handlers == handlers and root.level == level
    assert logging.getLogger("demo").filters == [] and logging.getLogger("demo").level == logging.NOTSET
    assert "DEMO_ADDED" not in os.environ
    assert all(not isinstance(f, RedactingFilter) for h in handlers for f in h.filters)
