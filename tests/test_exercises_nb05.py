"""tutorial.exercises.nb05: the make_it_redact check passes right answers, fails every wrong one
(a filter on a logger first among them), and puts the loggers it touches back."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpers.key_formats import fake_key
from helpers.redaction import RedactingFilter, install_redaction, protect_handler, redact, uninstall_redaction
from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb05 import LOGGERS, PROBES, SOLUTION, exercise

SCENE_HANDLER = logging.StreamHandler()  # the notebook's billing_handler: not the one the check passes


def define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "logging": logging, "re": re, "RedactingFilter": RedactingFilter,
        "install_redaction": install_redaction, "protect_handler": protect_handler, "redact": redact,
        "billing_handler": SCENE_HANDLER,
        "KEY": fake_key("openai-project", 98).replace("FAKE", "REAL")}
    exec(source, namespace)  # noqa: S102 - answers written in this file
    return namespace["make_it_redact"]  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def logging_put_back() -> Iterator[None]:
    yield
    uninstall_redaction()
    SCENE_HANDLER.filters.clear()


def answer(body: str) -> str:
    return f"def make_it_redact(handler):\n    {body}\n"


RIGHT = {
    "reference": SOLUTION,
    "a redacting formatter": """class Redacting(logging.Formatter):
    def format(self, record):
        return redact(super().format(record))
def make_it_redact(handler):
    handler.setFormatter(Redacting(handler.formatter._fmt if handler.formatter else None))""",
    "a filter on the handler": answer("handler.addFilter(RedactingFilter())"),
    "install on billing's handlers": answer('install_redaction(logging.getLogger("billing"))'),
    "install everywhere": answer("install_redaction()"),
}


@pytest.mark.parametrize("source", RIGHT.values(), ids=RIGHT.keys())
def test_right_answers_pass(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(source)) is True
    assert capsys.readouterr().out.startswith("✅ ")


MATERIAL_FILTER = '''class MaterialFilter(logging.Filter):
    def filter(self, record):
        record.msg = re.sub(r"sk-[a-zA-Z0-9]{32}", "sk-***", str(record.msg))
        return True


def make_it_redact(handler):
    handler.addFilter(MaterialFilter())
'''
MESSAGE_ONLY = '''def make_it_redact(handler):
    class MessageOnly(logging.Filter):
        def filter(self, record):
            record.msg = redact(str(record.msg))
            return True
    handler.addFilter(MessageOnly())
'''
RECORD_FACTORY = '''PLAIN = logging.getLogRecordFactory()
def make_it_redact(handler):
    def redacted_record(*args, **kwargs):
        record = PLAIN(*args, **kwargs)
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = redact(record.getMessage()), ()
        return record
    logging.setLogRecordFactory(redacted_record)
'''
PATCHED_LOGGER = '''HANDLE = logging.Logger.handle
def make_it_redact(handler):
    cleaner = RedactingFilter()
    def handle(self, record):
        cleaner.filter(record)
        return HANDLE(self, record)
    logging.Logger.handle = handle
'''

WRONG = {
    "stub": ("def make_it_redact(handler):\n    ...", NOT_DONE),
    "a filter on the billing logger": (answer('logging.getLogger("billing").addFilter(RedactingFilter())'),
                                       "'billing.invoices' logger (the key in the message) reached"),
    "a filter on the root logger": (answer("logging.getLogger().addFilter(RedactingFilter())"),
                                    "'billing' logger (the key in an argument) reached the handler"),
    "install on the openai logger first": (answer('install_redaction(logging.getLogger("openai"))'),
                                           "'openai' logger (the key in a dict argument) reached"),
    "the scene's handler, not the one given": (answer("billing_handler.addFilter(RedactingFilter())"),
                                               "reached the handler with the key in clear"),
    "the material's pattern": (MATERIAL_FILTER, "'billing.invoices' logger (the key in a traceback) reached"),
    "the message, not its arguments": (MESSAGE_ONLY, "'billing' logger (the key in an argument) reached"),
    "drops every record": (answer("handler.addFilter(lambda record: False)"), "never reached the handler"),
    "silences the handler": (answer("handler.setLevel(logging.CRITICAL)"), "never reached the handler"),
    "raises with a key": (answer('raise RuntimeError(f"cannot protect {KEY}")'),
                          "raised RuntimeError: cannot protect [REDACTED"),
    "not a function": ("make_it_redact = RedactingFilter()", "should be a function"),
    "a record factory for the whole process": (RECORD_FACTORY, "it changed the record factory"),
    "a record factory misses queued records": (RECORD_FACTORY, "handed to the handler by a QueueListener) "
                                                               "reached the handler with the key in clear"),
    "patches Logger.handle": (PATCHED_LOGGER, "it changed logging.Logger.handle for the whole process"),
    "a filter on every logger there is": ('''def make_it_redact(handler):
    for name in ["", *logging.root.manager.loggerDict]:
        logging.getLogger(name).addFilter(RedactingFilter())''', "handed to the handler by a QueueListener"),
    "switches logging off": (answer("logging.disable(logging.CRITICAL)"),
                             "it changed the level below which every record is dropped (logging.disable)"),
    "prints each record first": ('''class Debugging(logging.Filter):
    def filter(self, record):
        print("debug:", record.getMessage())
        return True
def make_it_redact(handler):
    handler.addFilter(Debugging())
    handler.addFilter(RedactingFilter())''', "your answer printed or logged a key (redacted above)"),
    "takes the handler off the logger": (answer('logging.getLogger("billing").removeHandler(handler)'),
                                         "'billing' logger (the key in an argument) never reached"),
    "redacts sk- keys only": ('''class SkOnly(logging.Filter):
    def filter(self, record):
        record.msg, record.args = re.sub(r"sk-[\\w-]+", "[key]", record.getMessage()), ()
        return True
def make_it_redact(handler):
    handler.addFilter(SkOnly())''', "'billing.invoices' logger (the key in a traceback) reached"),
    "raise NotImplementedError": (answer("raise NotImplementedError"), NOT_DONE),
    "drops the traceback": ('''class NoTraceback(logging.Filter):
    def filter(self, record):
        record.msg, record.args = redact(record.getMessage()), ()
        record.exc_info = record.exc_text = None
        return True
def make_it_redact(handler):
    handler.addFilter(NoTraceback())''',
                            "(the key in a traceback) reached the handler without 'ValueError: the provider "
                            "refused key': redact the key, keep the rest"),
    "right only the first time": ('''DONE = []
def make_it_redact(handler):
    if not DONE:
        handler.addFilter(RedactingFilter())
        DONE.append(handler)''', "called again, on a new handler: a record of the 'billing' logger"),
}


@pytest.mark.parametrize("source, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        source: str, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed) -> None:
    shown = assert_crossed(exercise, define(source), problem, capsys)
    assert not [probe.key for probe in PROBES if probe.key in shown]


def test_the_loggers_are_put_back_and_no_record_reaches_the_root(caplog: pytest.LogCaptureFixture) -> None:
    billing = logging.getLogger("billing")
    marker_handler = logging.NullHandler()
    billing.addHandler(marker_handler)
    before = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).filters[:],
                     logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS}
    root_filters = logging.getLogger().filters[:]
    with caplog.at_level(logging.DEBUG):
        exercise.problems(define(answer('logging.getLogger("billing").addFilter(RedactingFilter())')))
    after = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).filters[:],
                    logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS}
    assert after == before
    assert logging.getLogger().filters == root_filters
    assert caplog.records == []
    billing.removeHandler(marker_handler)


def process_wide() -> tuple[object, ...]:
    return (logging.getLogRecordFactory(), logging.Logger.handle, logging.root.manager.disable,
            logging.lastResort)


@pytest.mark.parametrize("source", [RECORD_FACTORY, PATCHED_LOGGER, answer("logging.disable(50)")],
                         ids=["record factory", "Logger.handle", "logging.disable"])
def test_logging_changed_for_the_whole_process_is_put_back(source: str) -> None:
    before = process_wide()
    exercise.problems(define(source))
    assert process_wide() == before


def test_no_probe_record_reaches_last_resort_when_the_answer_takes_the_handler_away(
        capsys: pytest.CaptureFixture[str]) -> None:
    exercise.problems(define(answer('logging.getLogger("billing").removeHandler(handler)')))
    captured = capsys.readouterr()
    assert not [probe.key for probe in PROBES if probe.key in captured.out + captured.err]


def test_filters_an_answer_put_on_every_logger_are_taken_off() -> None:
    library = logging.getLogger("nb05_test.library")
    exercise.problems(define('''def make_it_redact(handler):
    for name in ["", *logging.root.manager.loggerDict]:
        logging.getLogger(name).addFilter(RedactingFilter())'''))
    assert library.filters == []
