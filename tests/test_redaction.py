"""Tests for helpers.redaction: no key survives any logging path; ordinary logs are untouched."""

from __future__ import annotations

import dataclasses
import io
import json
import linecache
import logging
import multiprocessing
import random
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus, urlsplit

import httpx2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from helpers import secret_values
from helpers.key_formats import KEY_FORMATS, KeyFormat, fake_key, fingerprint
from helpers.redaction import (
    FALLBACK,
    KNOWN_SECRET,
    RedactingFilter,
    SecretValues,
    forget_secrets,
    install_redaction,
    marker,
    protect_handler,
    redact,
    register_secrets,
    uninstall_redaction,
)
from helpers.secret_values import SecretsArgumentError

pytestmark = pytest.mark.usefixtures("empty_secret_value_caches")

FORMAT_NAMES = [fmt.name for fmt in KEY_FORMATS]
MARKER = re.compile(r"\[REDACTED \S+ ~?[0-9a-f]{8}\]")
SHAPE_FORMATS = [fmt for fmt in KEY_FORMATS if not fmt.context]
CONTEXT_FORMATS = [fmt for fmt in KEY_FORMATS if fmt.context]
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


@pytest.mark.usefixtures("registry")
def test_a_filter_redacts_text_with_its_own_and_the_registered_values() -> None:
    redacting = RedactingFilter(["own-secret-1"])
    register_secrets(["registered-secret-2"])
    assert redacting.redact("own-secret-1 registered-secret-2 plain") == (
        f"{marker(KNOWN_SECRET, 'own-secret-1')} {marker(KNOWN_SECRET, 'registered-secret-2')} plain")


def test_protect_handler_covers_one_handler_and_does_not_stack() -> None:
    handler = logging.StreamHandler(io.StringIO())
    assert protect_handler(handler) is protect_handler(handler)
    assert len(handler.filters) == 1


def test_uninstall_on_a_logger_leaves_the_other_handlers_redacting() -> None:
    mine, root_handler = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
    logger = logging.getLogger("tests.redaction.uninstall")
    logger.addHandler(mine)
    logging.getLogger().addHandler(root_handler)
    try:
        install_redaction()
        uninstall_redaction(logger)
        assert mine.filters == [] and len(root_handler.filters) == 1
    finally:
        uninstall_redaction()
        logger.removeHandler(mine)
        logging.getLogger().removeHandler(root_handler)


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


@pytest.mark.claims
def test_a_filter_on_a_parent_logger_never_sees_a_child_loggers_records() -> None:
    """CPython 3.11 logging/__init__.py: Logger.handle runs the logger's own filters, then
    callHandlers walks up the parents calling only their *handlers*. Hence filters on handlers."""
    seen: list[str] = []

    class Spy(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(record.name)
            return True

    parent, child = logging.getLogger("tests.claims"), logging.getLogger("tests.claims.child")
    handler = logging.StreamHandler(io.StringIO())
    parent.addFilter(logger_spy := Spy())
    handler.addFilter(handler_spy := Spy())
    parent.addHandler(handler)
    try:
        child.warning("from the child")
    finally:
        parent.removeFilter(logger_spy)
        parent.removeHandler(handler)
    assert seen == ["tests.claims.child"]  # the handler's filter only
    assert handler_spy is not logger_spy


# -- failing safely ------------------------------------------------------------------------------

class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def test_a_record_whose_arguments_do_not_fit_its_message_is_written_redacted_not_lost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = fake_key("openai-project", 2)
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger("app").warning("calling with key %d", key)  # %d for a string: a TypeError
    out = stream.getvalue()
    assert "calling with key %d [arguments not merged, TypeError: " in out
    assert marker("openai-project", key) in out and key not in out
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.claims
def test_without_redaction_logging_prints_the_arguments_of_a_bad_record_in_clear(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """logging/__init__.py (CPython 3.11), Handler.handleError: 'Message: %r\\nArguments: %s' to stderr."""
    key = fake_key("openai-project", 2)
    with root_writing_to(io.StringIO(), redacting=False):
        logging.getLogger("app").warning("calling with key %d", key)
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err and key in err


def test_an_unprintable_argument_or_extra_is_written_as_a_note_and_the_rest_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = fake_key("groq", 2)
    out = formatted_with("%(message)s %(k)s %(odd)s", lambda logger: logger.warning(
        f"{key} %s", Unprintable(), extra={"k": key, "odd": Unprintable()}))
    assert out.count(marker("groq", key)) == 2 and key not in out
    assert "[arguments not merged, RuntimeError: <test_redaction.Unprintable object at " in out
    assert out.endswith(" <unprintable Unprintable: RuntimeError>\n")
    assert "Logging error" not in capsys.readouterr().err


def test_a_bug_in_redaction_withholds_the_record_content_rather_than_writing_it_in_clear(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fake_key("openai-project", 2)
    monkeypatch.setattr(secret_values, "find_keys", lambda text: 1 / 0)
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger("app").warning(f"{key}", stack_info=True, extra={"k": key})
    withheld = FALLBACK.format(error="ZeroDivisionError")
    assert stream.getvalue() == f"WARNING app: {withheld} extras={{'k': {withheld!r}}}\n"
    assert "Logging error" not in capsys.readouterr().err


def fresh_record(msg: str, *args: object, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("app", logging.WARNING, __file__, 1, msg, args, None)
    vars(record).update(fields)
    return record


def test_a_bug_in_redaction_also_replaces_a_message_an_earlier_handler_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = fake_key("openai-project", 3)
    record = fresh_record(f"using {key}", message=f"using {key}")
    monkeypatch.setattr(secret_values, "find_keys", lambda text: 1 / 0)
    assert RedactingFilter().filter(record) is True
    assert record.message == record.msg == FALLBACK.format(error="ZeroDivisionError")
    assert record.stack_info is None and record.exc_info is None and record.exc_text is None


def test_a_message_cached_by_an_earlier_handler_is_replaced_by_the_clean_one() -> None:
    """A formatter stores the rendered text in record.message; handlers that read it must not leak."""
    key = fake_key("openai-project", 4)
    cached, fresh = fresh_record("using %s", key, message=f"using {key}"), fresh_record("using %s", key)
    for record in (cached, fresh):
        RedactingFilter().filter(record)
    assert cached.message == f"using {marker('openai-project', key)}"
    assert "message" not in vars(fresh)  # not added where no handler had formatted the record


def test_the_record_passed_on_holds_no_exception_object_and_keeps_its_stack_redacted() -> None:
    key = fake_key("groq", 7)
    try:
        raise_with(key)
    except RuntimeError:
        stack = f"Stack (most recent call last):\n  {key}"
        record = fresh_record("failed", exc_info=sys.exc_info(), stack_info=stack)
    RedactingFilter().filter(record)
    assert record.exc_info is None and record.exc_text is not None
    assert "ValueError: " + marker("groq", key) in record.exc_text
    assert record.stack_info == f"Stack (most recent call last):\n  {marker('groq', key)}"


def test_bad_arguments_are_shown_one_by_one_and_a_dict_with_its_values_redacted() -> None:
    key = fake_key("groq", 8)
    by_position, by_name = fresh_record("a %d b", key, 2), fresh_record("k %(key)d", {"key": key})
    for record in (by_position, by_name):
        RedactingFilter().filter(record)
    redacted = marker("groq", key)
    assert by_position.msg == f"a %d b [arguments not merged, TypeError: '{redacted}', 2]"
    assert by_name.msg == f"k %(key)d [arguments not merged, TypeError: {{'key': '{redacted}'}}]"


# -- secrets from settings -----------------------------------------------------------------------

@pytest.mark.claims
def test_pydantic_settings_debug_log_leaks_values_and_redaction_catches_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pydantic-settings 2.16.3, pydantic_settings/main.py: PYDANTIC_SETTINGS_DEBUG logs sources' values."""
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


# -- every value a formatter can print: extra objects, bytes, sets, dict keys, deep nests ------------

@dataclasses.dataclass
class Request:
    method: str
    url: str


class ShowsOnlyInStr:
    """An object whose repr is harmless and whose str() shows the value (what %(x)s prints)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"endpoint {self.value}"


def nested(value: object, depth: int) -> object:
    for level in range(depth):
        value = {"level": level, "inner": [value]}
    return value


# Each wraps a text into a value an application may pass in extra=.
WRAPPERS: dict[str, Callable[[str], object]] = {
    "httpx2-url": lambda text: httpx2.URL(f"https://api.example.com/v1/models?q=1&x={quote(text)}"),
    "bytes": lambda text: text.encode(),
    "bytes-in-dict": lambda text: {"body": text.encode()},
    "set": lambda text: {text, "other"},
    "frozenset": lambda text: frozenset({text}),
    "dict-key": lambda text: {text: "value"},
    "tuple-key": lambda text: {("user", text): 1},
    "namedtuple": lambda text: urlsplit(f"https://api.example.com/v1?q={quote(text)}"),
    "dataclass": lambda text: Request("GET", text),
    "str-only": ShowsOnlyInStr,
    "list-of-objects": lambda text: [ShowsOnlyInStr(text), Request("POST", text)],
    "nested-300-deep": lambda text: nested(text, 300),
}
# How a formatter can print an extra field.
EXTRA_FORMATS = ["%(message)s %(field)s", "%(message)s %(field)r", "{message} {field}", "json"]


class JSONFormatter(logging.Formatter):
    """A JSON-lines formatter as logging libraries write them: the message and every extra field."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES}
        return json.dumps({"message": record.getMessage(), **extras}, default=str)


def formatted_with(style: str, log: Callable[[logging.Logger], None], redacting: bool = True) -> str:
    stream = io.StringIO()
    with root_writing_to(stream, redacting=redacting):
        handler = logging.getLogger().handlers[0]
        handler.setFormatter(JSONFormatter() if style == "json" else
                             logging.Formatter(style, style="{" if style.startswith("{") else "%"))
        log(logging.getLogger("app"))
    return stream.getvalue()


@pytest.mark.parametrize("style", EXTRA_FORMATS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_a_key_in_any_extra_value_is_redacted_however_the_formatter_prints_it(
    wrapper: str, style: str
) -> None:
    key = fake_key("openai-project", 11)
    value = WRAPPERS[wrapper](key)
    out = formatted_with(style, lambda logger: logger.warning("sent", extra={"field": value}))
    assert key not in out and quote(key) not in out
    nothing_to_mark = {("str-only", "%(message)s %(field)r"): "its repr shows no key",
                       ("tuple-key", "json"): "json.dumps refuses tuple keys: nothing is written"}
    assert ("[REDACTED " in out) != ((wrapper, style) in nothing_to_mark)


@pytest.mark.parametrize("style", EXTRA_FORMATS)
def test_a_value_too_deep_to_print_is_written_as_a_note_instead_of_failing(
    style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fake_key("openai-project", 12)
    for value in (nested(key, 5000), nested("harmless", 5000)):
        out = formatted_with(style, lambda lg, value=value: lg.warning("sent", extra={"field": value}))
        assert key not in out and "<unprintable dict: RecursionError>" in out
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.parametrize("style", EXTRA_FORMATS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_an_extra_value_without_a_secret_is_written_exactly_as_without_redaction(
    wrapper: str, style: str
) -> None:
    value = WRAPPERS[wrapper]("harmless text")
    outputs = [formatted_with(style, lambda logger: logger.warning("sent", extra={"field": value}), redacting)
               for redacting in (False, True)]
    assert outputs[0] == outputs[1]


def test_a_urlsplit_result_in_extra_keeps_its_type_and_its_record() -> None:
    """Rebuilding a namedtuple as type(value)(parts) raises TypeError: the record was dropped."""
    key = fake_key("google", 3)
    seen: list[object] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.__dict__["url"])

    logger = logging.getLogger("tests.redaction.urlsplit")
    logger.propagate, logger.handlers[:] = False, [Keep()]
    try:
        install_redaction(logger)
        logger.warning("calling", extra={"url": urlsplit(f"https://x.example/v1?key={key}")})
    finally:
        logger.handlers.clear()
    [url] = seen
    assert type(url).__name__ == "SplitResult" and key not in repr(url)
    assert url.netloc == "x.example"  # type: ignore[attr-defined]


def test_a_secret_that_only_its_dict_key_reveals_is_redacted_in_extra() -> None:
    value = "c0ffee" * 6  # no known shape: only "api_key" next to it says it is a key
    extra = {"field": {"api_key": value}}
    out = formatted_with("%(message)s %(field)s", lambda lg: lg.warning("cfg", extra=extra))
    assert value not in out and "[REDACTED " in out


def test_a_container_that_holds_itself_is_written_without_error(capsys: pytest.CaptureFixture[str]) -> None:
    loop: list[object] = [fake_key("xai", 1)]
    loop.append(loop)
    out = formatted_with("%(message)s %(field)s", lambda lg: lg.warning("loop", extra={"field": loop}))
    assert fake_key("xai", 1) not in out and "[...]" in out
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.claims
def test_httpx2_url_prints_its_query_key_in_str_and_repr() -> None:
    """httpx2 2.16.2, httpx2/_urls.py: URL.__str__ is the whole URL, so %(url)s in a format shows it."""
    key = fake_key("google", 1)
    url = httpx2.URL(f"https://generativelanguage.googleapis.com/v1beta/models?key={key}")
    assert key in str(url) and key in repr(url)
    out = formatted_with("%(message)s %(url)s", lambda lg: lg.warning("GET", extra={"url": url}),
                         redacting=False)
    assert key in out


@pytest.mark.claims
def test_httpx2_request_log_line_is_redacted() -> None:
    """httpx2 2.16.2, httpx2/_client.py: logger 'httpx2' logs 'HTTP Request: %s %s ...' with the URL."""
    key = fake_key("google", 2)
    client = httpx2.Client(transport=httpx2.MockTransport(lambda request: httpx2.Response(200)))
    outputs = []
    for redacting in (False, True):
        stream = io.StringIO()
        with root_writing_to(stream, redacting=redacting):
            client.get(f"https://generativelanguage.googleapis.com/v1beta/models?key={key}")
        outputs.append(stream.getvalue())
    assert "INFO httpx2: HTTP Request: GET" in outputs[0] and key in outputs[0]
    assert key not in outputs[1] and marker("google", key) in outputs[1]


def test_a_key_in_a_logger_or_thread_name_is_redacted() -> None:
    key = fake_key("huggingface", 4)
    stream = io.StringIO()
    with root_writing_to(stream):
        root = logging.getLogger().handlers[0]
        root.setFormatter(logging.Formatter("%(name)s %(threadName)s %(message)s"))
        worker = threading.Thread(target=logging.getLogger(f"tenant.{key}").warning, args=("hello",),
                                  name=f"worker {key}")
        worker.start()
        worker.join()
    assert key not in stream.getvalue()
    assert stream.getvalue().count(marker("huggingface", key)) == 2


@pytest.mark.usefixtures("registry")
def test_a_logger_name_seen_clean_is_checked_again_once_a_secret_is_registered() -> None:
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(name)s %(message)s"))
        tenant = logging.getLogger("tenant.acme-7f3k9q2x")
        tenant.warning("first")
        register_secrets(["acme-7f3k9q2x"])
        tenant.warning("second")
    first, second = stream.getvalue().splitlines()
    assert first == "tenant.acme-7f3k9q2x first"
    assert second == f"tenant.{marker(KNOWN_SECRET, 'acme-7f3k9q2x')} second"


def test_a_new_thread_or_logger_name_with_a_key_is_redacted_after_clean_ones_were_seen() -> None:
    key = fake_key("huggingface", 5)
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(name)s|%(threadName)s|%(message)s"))
        logging.getLogger("app").warning("clean")  # "app" and "MainThread" are remembered clean
        worker = threading.Thread(target=logging.getLogger("app").warning, args=("from a thread",),
                                  name=f"worker {key}")
        worker.start()
        worker.join()
        logging.getLogger(f"tenant.{key}").warning("on the main thread")
    lines = stream.getvalue().splitlines()
    assert lines[1] == f"app|worker {marker('huggingface', key)}|from a thread"
    assert lines[2] == f"tenant.{marker('huggingface', key)}|MainThread|on the main thread"


def test_a_key_in_a_process_name_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key("groq", 9)
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(processName)s %(message)s"))
        logging.getLogger("app").warning("clean process name")
        monkeypatch.setattr(multiprocessing.current_process(), "name", f"worker {key}")
        logging.getLogger("app").warning("renamed")
    assert stream.getvalue().splitlines()[1] == f"worker {marker('groq', key)} renamed"


def test_records_are_written_when_logging_does_not_record_thread_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging, "logThreads", False)  # threadName is then None
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger("app").warning("no thread name")
    assert stream.getvalue().startswith("WARNING app: no thread name")


def test_each_of_two_filters_redacts_its_own_known_secrets_from_a_shared_record() -> None:
    first, second = io.StringIO(), io.StringIO()
    logger = logging.getLogger("tests.redaction.own-secrets")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(first), logging.StreamHandler(second)]
    logger.handlers[0].addFilter(RedactingFilter(["alpha-secret-11"]))
    logger.handlers[1].addFilter(RedactingFilter(["beta-secret-22"]))
    try:
        logger.warning("%s and %s", "alpha-secret-11", "beta-secret-22")
    finally:
        logger.handlers.clear()
    alpha, beta = marker(KNOWN_SECRET, "alpha-secret-11"), marker(KNOWN_SECRET, "beta-secret-22")
    assert first.getvalue() == f"{alpha} and beta-secret-22\n"  # the first handler knows alpha only
    assert second.getvalue() == f"{alpha} and {beta}\n"


def test_protecting_a_protected_handler_again_adds_the_new_filters_secrets() -> None:
    handler = logging.StreamHandler(io.StringIO())
    kept = protect_handler(handler, RedactingFilter(["alpha-secret-11"]))
    assert protect_handler(handler, RedactingFilter(["beta-secret-22"])) is kept
    assert handler.filters == [kept] and kept.secrets.values == ("alpha-secret-11", "beta-secret-22")
    assert protect_handler(handler, kept) is kept and len(kept.secrets) == 2


# Values of extra fields built from text: every container kind, nested.
plain_values = st.recursive(
    st.one_of(st.text(max_size=20), st.binary(max_size=20), st.integers(), st.floats(allow_nan=False),
              st.none(), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
        st.frozensets(st.text(max_size=8), max_size=3), st.sets(st.integers(), max_size=3),
    ),
    max_leaves=10,
)


@through_logging
@given(value=plain_values)
def test_extra_values_without_secrets_are_written_exactly_as_without_redaction(value: object) -> None:
    assume(redact(repr(value)) == repr(value) and redact(str(value)) == str(value))
    def log(logger: logging.Logger) -> None:
        logger.warning("m", extra={"field": value})

    outputs = [formatted_with("json", log, redacting)
               + formatted_with("%(message)s %(field)r", log, redacting)
               for redacting in (False, True)]
    assert outputs[0] == outputs[1]


@through_logging
@given(value=plain_values, fmt=st.sampled_from(SHAPE_FORMATS), seed=st.integers(0, 2**32),
       where=st.sampled_from(["value", "key", "bytes"]), style=st.sampled_from(EXTRA_FORMATS))
def test_no_key_survives_in_any_extra_value_at_any_place(
    value: object, fmt: KeyFormat, seed: int, where: str, style: str
) -> None:
    key = fmt.fake(random.Random(seed))
    planted = {"value": [value, key], "key": {key: value}, "bytes": [value, (key.encode(),)]}[where]
    out = formatted_with(style, lambda lg: lg.warning("m", extra={"field": planted}))
    assert key not in out


# -- known secrets: encoded spellings, markers that reveal nothing ----------------------------------

secret_texts = st.text(min_size=4, max_size=30).map(str.strip).filter(lambda s: len(s) >= 4)


@through_logging
@given(secret=secret_texts, encode=st.sampled_from(["quote_plus", "quote", "quote-safe-none", "lower-hex"]))
def test_a_known_secret_url_encoded_in_a_database_url_is_redacted(secret: str, encode: str) -> None:
    encoded = {"quote_plus": quote_plus(secret), "quote": quote(secret),
               "quote-safe-none": quote(secret, safe=""),
               "lower-hex": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe=""))
               }[encode]
    url = f"postgresql://app:{encoded}@db.internal:5432/orders"
    stream = io.StringIO()
    with root_writing_to(stream, secrets=(secret,)):
        logging.getLogger("sqlalchemy.engine").warning("connecting to %s", url)
    assert encoded not in stream.getvalue()
    assert marker(KNOWN_SECRET, secret) in stream.getvalue()


# -- secrets registered at run time, and bad arguments ------------------------------------------------

@pytest.mark.usefixtures("registry")
def test_a_secret_registered_after_logging_was_set_up_is_redacted_by_the_installed_filter() -> None:
    stream = io.StringIO()
    with root_writing_to(stream):
        logging.getLogger("app").warning("before: %s", "vault-value-8c1f")
        register_secrets(["vault-value-8c1f"])
        logging.getLogger("botocore.parsers").debug("Response body: {'SecretString': 'vault-value-8c1f'}")
    before, after = stream.getvalue().splitlines()
    assert "vault-value-8c1f" in before and "vault-value-8c1f" not in after
    assert marker(KNOWN_SECRET, "vault-value-8c1f") in after
    assert redact("x vault-value-8c1f") == f"x {marker(KNOWN_SECRET, 'vault-value-8c1f')}"
    forget_secrets(["vault-value-8c1f"])
    assert redact("x vault-value-8c1f") == "x vault-value-8c1f"


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize("call", [
    lambda v: register_secrets(v), lambda v: install_redaction(secrets=v), lambda v: SecretValues(v),
    lambda v: RedactingFilter(v), lambda v: SecretValues().union(v),
    lambda v: RedactingFilter().add_secrets(v),
    lambda v: forget_secrets(v), lambda v: redact("x", v),
])
def test_one_string_given_as_the_list_of_secrets_is_refused_without_showing_it(
    call: Callable[[str], object],
) -> None:
    """Taken as a list, "hunter2-value" would redact every h, u, n, t... in every log line."""
    with pytest.raises(SecretsArgumentError) as caught:
        call("hunter2-value")
    assert "hunter2" not in str(caught.value) and "secrets" in str(caught.value)
    assert isinstance(caught.value, secret_values.RedactionError)


# -- handlers -------------------------------------------------------------------------------------

def test_a_record_cleaned_by_the_shared_filter_still_reaches_every_other_handler() -> None:
    """install_redaction shares one filter: its second call on a record must let it through too."""
    key = fake_key("perplexity", 2)
    first, second = io.StringIO(), io.StringIO()
    logger = logging.getLogger("tests.redaction.shared")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(first), logging.StreamHandler(second)]
    try:
        shared = install_redaction(logger)
        assert all(handler.filters == [shared] for handler in logger.handlers)
        logger.warning("key %s", key)
    finally:
        logger.handlers.clear()
    assert first.getvalue() == second.getvalue() == f"key {marker('perplexity', key)}\n"
