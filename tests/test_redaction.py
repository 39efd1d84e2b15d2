"""Tests for helpers.redaction: no key survives any logging path; ordinary logs are untouched."""

from __future__ import annotations

import io
import linecache
import logging
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretBytes, SecretStr

from helpers import redaction
from helpers.key_formats import KEY_FORMATS, KeyFormat, fake_key, find_keys, fingerprint
from helpers.redaction import (
    FALLBACK,
    KNOWN_SECRET,
    RedactingFilter,
    SecretValues,
    install_redaction,
    marker,
    protect_handler,
    redact,
    secrets_from,
    uninstall_redaction,
)

FORMAT_NAMES = [fmt.name for fmt in KEY_FORMATS]
MARKER = re.compile(r"\[REDACTED \S+ [0-9a-f]{8}\]")
# Characters no key shape can contain: they end a key, so "text<sep>key<sep>text" holds the key whole.
SEPARATORS = list(" \t\n,;()[]{}<>|!\"'")
LOGGER_NAMES = ["app", "app.billing.worker", "openai", "openai._base_client", "httpx2", "httpx2._client",
                "botocore", "botocore.credentials", "pydantic_settings"]
# Text that a key often follows, and that some formats use to recognise a key.
CONTEXTS = ["api_key=", "OPENAI_API_KEY:", "Authorization: Bearer", "https://x.example/v1?key=",
            "secret_key =", "access_token=", "token="]
PLAIN_TEXT = ["task-management", "sk-learn-compatible estimators", "the api_key is missing", "Bearer",
              "see ?key= in the docs", "hf_hub_download", "AKIA is how AWS key ids start", "eyJ"]


PLAIN_RECORD = logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)
STANDARD_ATTRIBUTES = {*vars(PLAIN_RECORD), "message", "asctime"}


class EverythingFormatter(logging.Formatter):
    """The standard format, plus every ``extra`` field: what a JSON formatter would also write."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES}
        return f"{super().format(record)} extras={extras!r}"


def secret_part(fmt: KeyFormat, fake: str) -> str:
    """The secret in a fake: for context formats (``Bearer x``, ``?key=x``) what follows the context."""
    context = re.search(fmt.context, fake) if fmt.context else None
    return fake[context.end():] if context else fake


@contextmanager
def root_writing_to(
    stream: io.StringIO, *, redacting: bool = True, secrets: tuple[str, ...] = ()
) -> Iterator[None]:
    """The root logger with one handler writing to `stream`, redacting or not; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EverythingFormatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    try:
        if redacting:
            install_redaction(secrets=secrets)
        yield
    finally:
        uninstall_redaction()
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def run_from_source(line: str, namespace: dict[str, object]) -> None:
    """Run one line as if from a source file holding it, so tracebacks and stacks quote it."""
    filename = f"<fake-module-{fingerprint(line)}>"
    source = f"def run():\n    {line}\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a fixed template in a test
    namespace["run"]()  # type: ignore[operator]


def raise_with(text: str) -> None:
    try:
        raise ValueError(text)
    except ValueError as cause:
        raise RuntimeError("the provider call failed") from cause


def log_through(path: str, logger: logging.Logger, text: str) -> None:
    """Send `text` through one of the ways a value reaches a log record."""
    if path == "msg":
        logger.warning(text)
    elif path == "args-tuple":
        logger.warning("calling with %s and %d retries", text, 3)
    elif path == "args-dict":
        logger.warning("calling with %(value)s", {"value": text})
    elif path == "exc-info":
        try:
            raise_with(text)
        except RuntimeError as err:
            logger.error("call failed", exc_info=err)
    elif path == "logger.exception":
        try:
            raise_with(text)
        except RuntimeError:
            logger.exception("call failed")
    elif path == "traceback-source-line":
        try:
            run_from_source(f"raise KeyError({text!r})", {})
        except KeyError:
            logger.exception("call failed")
    elif path == "stack-info":
        run_from_source(f"logger.warning('here', stack_info=True)  # {text!r}", {"logger": logger})
    elif path == "extra":
        logger.warning("request sent", extra={"auth_header": text, "attempt": 1})
    elif path == "extra-nested":
        logger.warning("request sent", extra={"request": {"headers": [("authorization", text)]}})
    else:
        raise AssertionError(path)


PATHS = ["msg", "args-tuple", "args-dict", "exc-info", "logger.exception", "traceback-source-line",
         "stack-info", "extra", "extra-nested"]
through_logging = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # no timing limits


# -- redact() -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", KEY_FORMATS, ids=FORMAT_NAMES)
def test_redact_replaces_each_format_by_a_marker_with_its_fingerprint(fmt: KeyFormat) -> None:
    fake = fmt.fake(4)
    secret = secret_part(fmt, fake)
    out = redact(f"config: {fake}\n")
    assert secret not in out
    assert f" {fingerprint(secret)}]" in out
    assert "[REDACTED " in out


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


def test_secret_values_repr_shows_fingerprints_only() -> None:
    values = SecretValues(["correct-horse-battery"])
    assert "correct-horse-battery" not in repr(values)
    assert fingerprint("correct-horse-battery") in repr(values)


@given(fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 2**32),
       before=st.one_of(st.text(max_size=30), st.sampled_from(CONTEXTS)),
       after=st.text(max_size=30), sep=st.sampled_from(SEPARATORS))
def test_redacting_twice_changes_nothing(
    fmt: KeyFormat, seed: int, before: str, after: str, sep: str
) -> None:
    once = redact(f"{before}{sep}{fmt.fake(random.Random(seed))}{sep}{after}")
    assert redact(once) == once


def test_two_handlers_with_their_own_filters_write_the_same_clean_line() -> None:
    key = fake_key("google", 5)
    url = f"GET https://generativelanguage.googleapis.com/v1beta/models?key={key}"
    first, second = io.StringIO(), io.StringIO()
    logger = logging.getLogger("tests.redaction.two")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(first), logging.StreamHandler(second)]
    for handler in logger.handlers:
        handler.addFilter(RedactingFilter())
    try:
        logger.warning("HTTP Request: %s", url)
    finally:
        logger.handlers.clear()
    assert first.getvalue() == second.getvalue() == f"HTTP Request: {redact(url)}\n"
    assert key not in first.getvalue()


@given(st.one_of(st.text(), st.sampled_from(PLAIN_TEXT)))
def test_ordinary_text_is_returned_unchanged(text: str) -> None:
    assume(not find_keys(text))
    assert redact(text) == text


# -- every logging path ---------------------------------------------------------------------------

@through_logging
@given(fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 2**32),
       before=st.one_of(st.text(max_size=30), st.sampled_from(CONTEXTS)),
       after=st.text(max_size=30), sep=st.sampled_from(SEPARATORS), path=st.sampled_from(PATHS),
       logger_name=st.sampled_from(LOGGER_NAMES))
def test_no_generated_key_survives_any_logging_path(
    fmt: KeyFormat, seed: int, before: str, after: str, sep: str, path: str, logger_name: str
) -> None:
    fake = fmt.fake(random.Random(seed))
    stream = io.StringIO()
    with root_writing_to(stream):
        log_through(path, logging.getLogger(logger_name), f"{before}{sep}{fake}{sep}{after}")
    secret = secret_part(fmt, fake)
    pieces = {secret[i:i + 16] for i in range(0, len(secret) - 15, 4)}  # nor any long piece of it
    assert not [piece for piece in pieces if piece in stream.getvalue()]
    assert "[REDACTED " in stream.getvalue()


@through_logging
@given(secret=st.text(min_size=6, max_size=40).filter(str.strip), before=st.text(max_size=20),
       path=st.sampled_from(PATHS), logger_name=st.sampled_from(LOGGER_NAMES))
def test_no_known_secret_survives_any_logging_path(
    secret: str, before: str, path: str, logger_name: str
) -> None:
    secret = secret.strip()
    outputs = []
    for text in (f"{before} ", f"{before} {secret} "):  # without, then with the secret
        stream = io.StringIO()
        with root_writing_to(stream, secrets=(secret,)):
            log_through(path, logging.getLogger(logger_name), text)
        outputs.append(MARKER.sub("", stream.getvalue()))
    spellings = {secret, repr(secret)[1:-1]}  # repr() escapes some characters (KeyError, %r)
    assume(not any(spelling in outputs[0] for spelling in spellings))  # e.g. a secret "WARNING"
    assert not any(spelling in outputs[1] for spelling in spellings)


@through_logging
@given(text=st.one_of(st.text(max_size=60), st.sampled_from(PLAIN_TEXT)), path=st.sampled_from(PATHS))
def test_records_without_secrets_are_written_exactly_as_without_redaction(text: str, path: str) -> None:
    assume(redact(text) == text and redact(repr(text)) == repr(text))  # no key, nor in its repr
    outputs = []
    for redacting in (False, True):
        stream = io.StringIO()
        with root_writing_to(stream, redacting=redacting):
            log_through(path, logging.getLogger("app"), text)
        outputs.append(stream.getvalue())
    assert outputs[0] == outputs[1]


def test_every_peer_corpus_sample_is_redacted_in_a_log(peer_samples: list[str]) -> None:
    samples = peer_samples
    assert len(samples) == 70
    stream = io.StringIO()
    with root_writing_to(stream):
        for sample in samples:
            logging.getLogger("openai").warning("using %s for the request", sample)
    output = stream.getvalue()
    leaked = [fingerprint(sample) for sample in samples if sample in output]
    assert not leaked, f"samples in clear (by fingerprint): {leaked}"
    assert output.count("[REDACTED ") >= len(samples)


# -- installing ----------------------------------------------------------------------------------

def test_install_twice_adds_one_filter_and_keeps_every_secret() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logger = logging.getLogger("tests.redaction.idempotent")
    logger.addHandler(handler)
    try:
        first = install_redaction(logger, secrets=["first-secret-value"])
        second = install_redaction(logger, secrets=["second-secret-value"])
        assert first is second
        assert [type(f) for f in handler.filters] == [RedactingFilter]
        assert len(first.secrets) == 2
    finally:
        logger.removeHandler(handler)


def test_a_handler_added_later_is_covered_once_installed_again() -> None:
    key = fake_key("openai-project", 9)
    stream, late = io.StringIO(), io.StringIO()
    app = logging.getLogger("app")
    late_handler = logging.StreamHandler(late)
    with root_writing_to(stream):
        app.addHandler(late_handler)  # e.g. a file handler set up after logging was configured
        try:
            app.warning("before: %s", key)
            assert key in late.getvalue()  # not covered yet: this is why the call below exists
            install_redaction()
            app.warning("after: %s", key)
        finally:
            app.removeHandler(late_handler)
    assert marker("openai-project", key) in late.getvalue().split("before")[1]
    assert key not in late.getvalue().split("before")[1].split("\n", 1)[1]
    assert key not in stream.getvalue()


def test_protect_handler_covers_one_handler_and_does_not_stack() -> None:
    handler = logging.StreamHandler(io.StringIO())
    assert protect_handler(handler) is protect_handler(handler)
    assert len(handler.filters) == 1


def test_install_on_a_logger_leaves_other_handlers_alone() -> None:
    mine, other = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
    logger, sibling = logging.getLogger("tests.redaction.mine"), logging.getLogger("tests.redaction.other")
    logger.addHandler(mine)
    sibling.addHandler(other)
    try:
        install_redaction(logger)
        assert len(mine.filters) == 1 and other.filters == []
    finally:
        logger.removeHandler(mine)
        sibling.removeHandler(other)


def test_with_no_handler_at_all_the_last_resort_output_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = fake_key("groq", 1)
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        install_redaction()
        logging.getLogger("app").warning("key %s", key)
    finally:
        uninstall_redaction()
        root.handlers[:] = saved
    err = capsys.readouterr().err
    assert marker("groq", key) in err and key not in err


def test_a_record_formatted_before_it_was_redacted_is_cleaned_again() -> None:
    """A child's own plain handler formats first (caching the traceback); the root's stays clean."""
    key = fake_key("xai", 3)
    stream = io.StringIO()
    child = logging.getLogger("app.plain")
    child.addHandler(plain := logging.StreamHandler(io.StringIO()))
    try:
        with root_writing_to(stream):
            uninstall_redaction()
            install_redaction(logging.getLogger())
            try:
                raise_with(key)
            except RuntimeError:
                child.exception("failed")
    finally:
        child.removeHandler(plain)
    assert key in plain.stream.getvalue()  # type: ignore[attr-defined]
    assert key not in stream.getvalue() and marker("xai", key) in stream.getvalue()


# -- failing safely ------------------------------------------------------------------------------

class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


@pytest.mark.parametrize("breaks", ["bad-args", "unprintable-arg", "redaction-bug"])
def test_a_record_that_cannot_be_cleaned_becomes_the_fallback_text(
    breaks: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fake_key("openai-project", 2)
    log: Callable[[logging.Logger], None] = {
        "bad-args": lambda lg: lg.warning(f"{key} %d", "not a number"),
        "unprintable-arg": lambda lg: lg.warning(f"{key} %s", Unprintable(), extra={"k": key}),
        "redaction-bug": lambda lg: lg.warning(f"{key}", stack_info=True),
    }[breaks]
    if breaks == "redaction-bug":
        monkeypatch.setattr(redaction, "find_keys", lambda text: 1 / 0)
    stream = io.StringIO()
    with root_writing_to(stream):
        log(logging.getLogger("app"))
    error = {"bad-args": "TypeError", "unprintable-arg": "RuntimeError", "redaction-bug": "ZeroDivisionError"}
    assert FALLBACK.format(error=error[breaks]) in stream.getvalue()
    assert key not in stream.getvalue()
    assert "Logging error" not in capsys.readouterr().err


# -- secrets from settings -----------------------------------------------------------------------

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


def test_pydantic_settings_debug_log_leaks_values_and_redaction_catches_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic_settings import BaseSettings

    class AppSettings(BaseSettings):
        openai_api_key: SecretStr
        db_password: SecretStr

    key, password = fake_key("openai-project", 6), "correct-horse-battery"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("DB_PASSWORD", password)
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    outputs = []
    for redacting in (False, True):
        stream = io.StringIO()
        with root_writing_to(stream, redacting=redacting, secrets=(password,)):
            AppSettings()
        outputs.append(stream.getvalue())
    assert key in outputs[0] and password in outputs[0]  # the leak path is real in this version
    assert key not in outputs[1] and password not in outputs[1]
    assert marker("openai-project", key) in outputs[1] and marker(KNOWN_SECRET, password) in outputs[1]
