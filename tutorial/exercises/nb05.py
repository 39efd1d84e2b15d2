"""Notebook 05's exercise: ``make_it_redact(handler)``, which makes a logging handler redact the
records of every logger that writes to it.

The check gives the learner's function a fresh handler on the ``billing`` logger, then logs through
loggers the notebook's scene does not use: the child ``billing.invoices`` (its records skip the
parent's *logger* filters on their way to the parent's handlers) and ``openai`` (a library, whose
logger the handler is attached to afterwards). Keys of several shapes go in arguments, in the
message, in a dict argument and in a traceback, and one record goes to the handler directly, as a
``QueueListener`` hands it over. A filter on a logger, the anti-pattern the notebook teaches
against, lets the key through; a handler that drops records fails too; the check runs twice, on
two handlers, so an answer that works only once fails. The loggers it touches, and what an answer
changes in logging for the whole process (a record factory, a patched method), are put back.

Needs: exercises/__init__.py, helpers/key_formats.py; no outside libraries.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helpers.key_formats import fake_key
from tutorial.exercises import Exercise

__all__ = ["LOGGERS", "SOLUTION", "exercise", "redaction_problems"]

SOLUTION = '''from helpers.redaction import protect_handler


def make_it_redact(handler: logging.Handler) -> None:
    protect_handler(handler)  # like handler.addFilter(RedactingFilter()), but never twice'''

HINT = ("A filter on a *logger* only sees records logged on that very logger: a child logger's "
        "records and a library's go straight to the handlers. Put the redaction on the handler "
        "itself; `helpers.redaction` has a one-line way to do it.")

LOGGERS = ("billing", "billing.invoices", "openai")
_FORMAT = "%(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class _Probe:
    """One record: which logger writes it, the words that must reach the handler, the key that must not."""

    logger: str
    words: str
    key: str
    log: Callable[[logging.Logger, str, str], None]
    how: str  # where the record carries the key
    kept: str = ""  # what else must reach the handler (the traceback's last line, say)


def _in_arguments(logger: logging.Logger, words: str, key: str) -> None:
    logger.warning("%s %s", words, key)


def _in_message(logger: logging.Logger, words: str, key: str) -> None:
    logger.warning(f"{words} {key}")  # noqa: G004 - the mistake a redactor must survive


def _in_a_dict(logger: logging.Logger, words: str, key: str) -> None:
    logger.warning("%s %s", words, {"headers": {"Authorization": f"Bearer {key}"}})


def _in_a_traceback(logger: logging.Logger, words: str, key: str) -> None:
    try:
        raise ValueError(f"the provider refused key {key}")
    except ValueError:
        logger.exception(words)


def _handed_over(logger: logging.Logger, words: str, key: str) -> None:
    """A record handed to the handler directly, as a `logging.handlers.QueueListener` does: no
    logger (and no logger filter) on its way."""
    record = logging.makeLogRecord({"name": logger.name, "levelno": logging.WARNING, "levelname": "WARNING",
                                    "msg": "%s %s", "args": (words, key)})
    for handler in logger.handlers:
        handler.handle(record)


PROBES = (
    _Probe("billing", "charging the card with key", fake_key("sk-32", 51), _in_arguments, "in an argument"),
    _Probe("billing.invoices", "invoice sent, paid with key", fake_key("openai-project", 51), _in_message,
           "in the message"),
    _Probe("billing.invoices", "refund failed", fake_key("google", 51), _in_a_traceback, "in a traceback",
           kept="ValueError: the provider refused key"),
    _Probe("openai", "Request options:", fake_key("anthropic", 51), _in_a_dict, "in a dict argument"),
    _Probe("billing", "queued charge with key", fake_key("openai-project", 52), _handed_over,
           "in an argument, handed to the handler by a QueueListener"),
)

# What an answer may replace for the whole process instead of changing its handler: the check
# notes and puts back each of them.
_PROCESS_WIDE = {
    "logging.Logger.handle": (logging.Logger, "handle"),
    "logging.Logger.callHandlers": (logging.Logger, "callHandlers"),
    "logging.Logger.makeRecord": (logging.Logger, "makeRecord"),
    "logging.Logger._log": (logging.Logger, "_log"),
    "logging.Handler.handle": (logging.Handler, "handle"),
    "logging.Handler.format": (logging.Handler, "format"),
    "logging.StreamHandler.emit": (logging.StreamHandler, "emit"),
    "logging.Formatter.format": (logging.Formatter, "format"),
    "logging.LogRecord.getMessage": (logging.LogRecord, "getMessage"),
}


def redaction_problems(make_it_redact: object) -> list[str]:
    """The records that reach a handler given to `make_it_redact` with a key in them, or not at all."""
    if not callable(make_it_redact):
        return [f"make_it_redact should be a function, not a {type(make_it_redact).__name__}"]
    problems: list[str] = []
    for where in ("", "called again, on a new handler: "):  # an answer may work only once
        with _loggers_put_back(), _process_put_back() as changed:
            problems += [where + problem for problem in _one_handler(make_it_redact)]
        problems += [f"it changed {what} for the whole process: change only the handler you are given "
                     "(the check put it back)" for what in changed]
        if problems:
            return problems
    return problems


def _one_handler(make_it_redact: Callable[[logging.Handler], object]) -> list[str]:
    """A fresh handler on ``billing``, given to `make_it_redact`, then on ``openai``: what the probes find."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logging.getLogger("billing").addHandler(handler)
    make_it_redact(handler)
    logging.getLogger("openai").addHandler(handler)  # later, the same handler serves a library
    return [problem for probe in PROBES for problem in _judge(probe, written)]


def _judge(probe: _Probe, written: io.StringIO) -> list[str]:
    start = written.tell()
    probe.log(logging.getLogger(probe.logger), probe.words, probe.key)
    text = written.getvalue()[start:]
    where = f"a record of the {probe.logger!r} logger (the key {probe.how})"
    if probe.key in text:
        return [f"{where} reached the handler with the key in clear"]
    if probe.words not in text:
        return [f"{where} never reached the handler: redact the key, do not drop the record"]
    if probe.kept not in text:
        return [f"{where} reached the handler without {probe.kept!r}: redact the key, keep the rest"]
    return []


@contextmanager
def _process_put_back() -> Iterator[list[str]]:
    """Yields a list that, after the block, names what the block changed in logging for the whole
    process (a method of a logging class, the record factory, the logger class, `logging.disable`),
    each put back. Meanwhile a record no handler takes is dropped, not printed by `logging.lastResort`."""
    methods = {name: vars(owner).get(attr) for name, (owner, attr) in _PROCESS_WIDE.items()}
    factory, logger_class = logging.getLogRecordFactory(), logging.getLoggerClass()
    disabled, last_resort = logging.root.manager.disable, logging.lastResort
    logging.lastResort = logging.NullHandler()
    changed: list[str] = []
    try:
        yield changed
    finally:
        logging.lastResort = last_resort
        for name, (owner, attr) in _PROCESS_WIDE.items():
            if vars(owner).get(attr) is not methods[name]:
                changed.append(name)
                setattr(owner, attr, methods[name])
        if logging.getLogRecordFactory() is not factory:
            changed.append("the record factory (logging.setLogRecordFactory)")
            logging.setLogRecordFactory(factory)
        if logging.getLoggerClass() is not logger_class:
            changed.append("the logger class (logging.setLoggerClass)")
            logging.setLoggerClass(logger_class)
        if logging.root.manager.disable != disabled:
            changed.append("the level below which every record is dropped (logging.disable)")
            logging.disable(disabled)


@contextmanager
def _loggers_put_back() -> Iterator[None]:
    """The check's loggers as they were before, and the filters of every other logger (an answer may
    put one on each); no record reaches the root."""
    loggers = [logging.getLogger(name) for name in LOGGERS] + [logging.getLogger()]
    saved: list[tuple[logging.Logger, dict[str, Any]]] = [
        (logger, {"handlers": logger.handlers[:], "filters": logger.filters[:], "level": logger.level,
                  "propagate": logger.propagate, "disabled": logger.disabled}) for logger in loggers]
    others = [(each, each.filters[:]) for each in list(logging.root.manager.loggerDict.values())
              if isinstance(each, logging.Logger) and each not in loggers]
    try:
        for logger in loggers[:-1]:
            logger.handlers, logger.filters, logger.disabled = [], [], False
            logger.setLevel(logging.INFO)
        for name in ("billing", "openai"):  # the check's records stay out of your notebook's log
            logging.getLogger(name).propagate = False
        yield
    finally:
        for logger, state in saved:
            logger.handlers, logger.filters = state["handlers"], state["filters"]
            logger.setLevel(state["level"])
            logger.propagate, logger.disabled = state["propagate"], state["disabled"]
        for other, filters in others:
            other.filters = filters


exercise = Exercise("make_it_redact", redaction_problems, HINT, SOLUTION)
