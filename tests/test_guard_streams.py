"""Tests of helpers.guard_streams without a kernel: holding back the unfinished end of a write,
the redacting text and binary streams, the file-descriptor relay (a real pipe), and a guarded
jupyter_client Session over a real zmq socket pair."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st
from jupyter_client.session import Session

from helpers.guard_streams import (
    MAX_HELD,
    FdRelay,
    RedactingStream,
    console_handlers,
    guard_session,
    relay_console_descriptors,
    split_unfinished,
    unguard_session,
    unwrap_std_streams,
    wrap_std_streams,
)
from helpers.key_formats import KEY_FORMATS, fake_key
from helpers.message_redaction import known_secrets, redact_text

KEY = fake_key("openai-project", 1)
KEY_MARKER = "[REDACTED openai-project"
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(text=texts)
def test_split_loses_and_adds_nothing(text: str) -> None:
    ready, unfinished = split_unfinished(text)
    assert ready + unfinished == text
    assert len(unfinished) <= MAX_HELD + 80


@given(text=texts)
def test_a_finished_line_is_never_held(text: str) -> None:
    assert split_unfinished(text + "\n") == (text + "\n", "")


@given(fmt=st.sampled_from(KEY_FORMATS), seed=st.integers(0, 1000), cut=st.integers(1, 200), before=texts)
def test_a_key_cut_anywhere_is_held_whole(fmt, seed, cut: int, before: str) -> None:
    """Whatever came before, the start of a key (with its context word) waits for the rest."""
    key = fmt.fake(seed)
    first = key[:min(cut, len(key) - 1)]
    stream = io.StringIO()
    redacting = RedactingStream(stream)
    redacting.write(f"{before}\n{first}")
    redacting.write(key[len(first):] + "\n")
    assert key.split()[-1] not in stream.getvalue()


def test_held_text_comes_out_on_flush_and_release() -> None:
    stream = io.StringIO()
    redacting = RedactingStream(stream)
    redacting.write("Password: ")
    assert stream.getvalue() == ""
    redacting.flush()  # input() flushes its prompt: it must show
    assert stream.getvalue() == "Password: "
    redacting.write("sk-proj-")
    redacting.release()
    assert stream.getvalue() == "Password: sk-proj-"


def test_binary_writes_are_redacted() -> None:
    raw = io.BytesIO()
    redacting = RedactingStream(io.TextIOWrapper(raw, encoding="utf-8"))
    redacting.buffer.write(f"bytes {KEY}\n".encode() + b"\xff\xfe not utf-8\n")
    assert KEY.encode() not in raw.getvalue()
    assert KEY_MARKER.encode() in raw.getvalue()
    assert raw.getvalue().endswith(b"\xff\xfe not utf-8\n")  # other bytes pass as they are


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
def test_fd_relay_redacts_every_writer_and_restores_the_descriptor(tmp_path) -> None:
    target = tmp_path / "console.log"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        relay = FdRelay(fd, flush_after=60)  # no quiet moment between the pieces, however busy the machine
        os.write(fd, f"line {KEY}\npartial ".encode())
        os.write(fd, KEY[:25].encode())
        os.write(fd, f"{KEY[25:]}\n".encode())
        relay.close()
        os.write(fd, b"after close\n")
        os.close(fd)
    written = target.read_text()
    assert KEY not in written
    assert written.count(KEY_MARKER) == 2
    assert written.endswith("after close\n")
    assert sys.stdout is not None


def test_racing_writers_each_get_their_key_joined_and_redacted() -> None:
    """Eight requests write keys in small pieces at once through a real jupyter_client Session
    over a real zmq socket pair; each request's stream, joined as a frontend joins it, holds no
    key, and its last words come out with its idle status."""
    context = zmq.Context()
    sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    sender.bind("inproc://guard-race")
    receiver.connect("inproc://guard-race")
    session = Session()
    guard_session(session)
    parents = [session.msg("execute_request", {}) for _ in range(8)]

    def write(parent: dict) -> None:
        for start in range(0, len(KEY), 7):
            session.send(sender, "stream", {"name": "stdout", "text": KEY[start:start + 7]},
                         parent=parent, ident=b"stream.stdout")
        session.send(sender, "stream", {"name": "stdout", "text": " last words"}, parent=parent)
        session.send(sender, "status", {"execution_state": "idle"}, parent=parent)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=write, args=(parent,)) for parent in parents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        unguard_session(session)
    shown: dict[str, str] = {parent["header"]["msg_id"]: "" for parent in parents}
    idle = 0
    while idle < len(parents) and receiver.poll(0):  # every message was sent before the threads ended
        _, frames = session.feed_identities(receiver.recv_multipart())
        msg = session.deserialize(frames)
        if msg["msg_type"] == "stream":
            shown[msg["parent_header"]["msg_id"]] += msg["content"]["text"]
        idle += msg["msg_type"] == "status"
    sender.close()
    receiver.close()
    context.term()
    assert idle == len(parents)
    for text in shown.values():
        assert KEY not in text
        assert text.startswith(KEY_MARKER) and text.endswith(" last words")


# --- split_unfinished at its limits ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "ready"), [
    ("Authorization: Bearer sk-proj-ab", "Authorization: "),  # the context word waits with the key
    ("x = key" + " " * 8 + "abc", "x = "),  # up to 8 characters of glue join a word to its key
    ("x = key" + " " * 9 + "abc", "x = key" + " " * 9),  # more: the word stays behind
    ("(" + "w" * 64 + " abc", "("),  # a context word of up to 64 characters waits too
    ("(" + "w" * 65 + " abc", "(" + "w" * 65 + " "),
    ("(" + "a" * MAX_HELD, "("),  # up to MAX_HELD key characters are held
    ("prose;\n" * 1000 + "sk-proj", "prose;\n" * 1000),  # however long the text before them
])
def test_split_holds_the_start_of_a_key_with_its_context_word_within_limits(text: str, ready: str) -> None:
    assert split_unfinished(text) == (ready, text[len(ready):])


def test_a_run_of_key_characters_longer_than_max_held_is_not_held() -> None:
    text = "(" + "a" * (MAX_HELD + 1)
    assert split_unfinished(text) == (text, "")


# --- a guarded jupyter_client Session, as ipykernel 7.4 uses it -----------------------------------


class Wire:
    """A Session guarded as in a kernel, sending over a real zmq socket pair: `received` gives back
    what a frontend gets (inproc delivery is synchronous: what was sent is there to read)."""

    def __init__(self, name: str) -> None:
        self.context = zmq.Context()
        self.sender, self.receiver = self.context.socket(zmq.PAIR), self.context.socket(zmq.PAIR)
        self.sender.bind(f"inproc://{name}")
        self.receiver.connect(f"inproc://{name}")
        self.session = Session()
        guard_session(self.session)

    def request(self) -> dict:
        return self.session.msg("execute_request", {"code": ""})

    def write(self, text: str, parent: dict, name: str = "stdout") -> None:
        """A stream message as ipykernel's OutStream sends it: a whole message, with its topic."""
        msg = self.session.msg("stream", {"name": name, "text": text}, parent=parent)
        self.session.send(self.sender, msg, ident=f"stream.{name}".encode())

    def idle(self, parent: dict) -> None:
        """The status ipykernel sends when a request is done."""
        self.session.send(self.sender, "status", {"execution_state": "idle"}, parent=parent,
                          ident=b"kernel.status")

    def received(self) -> list[tuple[list[bytes], dict]]:
        got = []
        while self.receiver.poll(0):
            idents, frames = self.session.feed_identities(self.receiver.recv_multipart())
            got.append((idents, self.session.deserialize(frames)))
        return got

    def streams(self, request: dict | None = None) -> list[tuple[str, str]]:
        """(name, text) of each stream message received (for `request` only, if given)."""
        return [(msg["content"]["name"], msg["content"]["text"]) for _, msg in self.received()
                if msg["msg_type"] == "stream"
                and (request is None or msg["parent_header"]["msg_id"] == request["header"]["msg_id"])]

    def close(self) -> None:
        unguard_session(self.session)
        self.sender.close()
        self.receiver.close()
        self.context.term()


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Wire]:
    opened = Wire(request.node.name)
    try:
        yield opened
    finally:
        opened.close()


def whole(text: str) -> str:
    """`text` as the guard shows it when it is redacted in one piece."""
    return redact_text(text, known_secrets())


def test_a_key_written_in_two_stream_messages_is_redacted_whole(wire: Wire) -> None:
    request = wire.request()
    wire.write(f"Loading...\n{KEY[:20]}", request)
    wire.write(f"{KEY[20:]}\n", request)
    assert wire.streams() == [("stdout", "Loading...\n"), ("stdout", whole(f"{KEY}\n"))]


def test_a_stream_message_with_finished_lines_is_redacted_and_passes_at_once(wire: Wire) -> None:
    request = wire.request()
    wire.write(f"line {KEY}\nnext\n", request)
    [(idents, msg)] = wire.received()
    assert idents == [b"stream.stdout"]
    assert msg["content"] == {"name": "stdout", "text": whole(f"line {KEY}\nnext\n")}
    assert msg["parent_header"]["msg_id"] == request["header"]["msg_id"]
    assert KEY_MARKER in msg["content"]["text"]


def test_held_text_comes_out_with_the_idle_status_of_its_request_with_its_topic(wire: Wire) -> None:
    request = wire.request()
    wire.write("Loading", request)
    assert wire.received() == []
    wire.idle(request["header"])  # a parent given as a header, not a whole message
    (idents, held), (_, status) = wire.received()
    assert (idents, held["content"]) == ([b"stream.stdout"], {"name": "stdout", "text": "Loading"})
    assert held["parent_header"]["msg_id"] == request["header"]["msg_id"]
    assert status["msg_type"] == "status"


def test_held_text_of_one_request_never_joins_another_requests_output(wire: Wire) -> None:
    first, second = wire.request(), wire.request()
    wire.write("Loading", first)
    wire.write("other output\n", second)
    assert wire.streams(second) == [("stdout", "other output\n")]
    assert wire.streams() == []  # the first request's text still waits for its own end
    wire.write("...\n", first)
    assert wire.streams(first) == [("stdout", "Loading...\n")]


def test_a_late_write_of_a_finished_request_goes_out_with_the_next_message(wire: Wire) -> None:
    """A thread may print after its cell ended: its unfinished text must not wait for ever."""
    first, second = wire.request(), wire.request()
    wire.idle(first)
    wire.received()
    wire.write("late", first)
    wire.idle(second)
    assert wire.streams(first) == [("stdout", "late")]


def test_held_stdout_goes_out_before_stderr_of_the_same_request(wire: Wire) -> None:
    request = wire.request()
    wire.write("progress", request)
    wire.write("warning\n", request, name="stderr")
    assert wire.streams() == [("stdout", "progress"), ("stderr", "warning\n")]


def test_a_key_at_the_very_end_of_a_cells_output_is_redacted_when_it_is_released(wire: Wire) -> None:
    request = wire.request()
    wire.write(f"token {KEY}", request)  # no line end: held until the request is done
    wire.idle(request)
    assert wire.streams() == [("stdout", whole(f"token {KEY}"))]


def test_held_text_waits_for_its_own_request_whatever_other_requests_send(wire: Wire) -> None:
    first, second = wire.request(), wire.request()

    def display(parent: dict) -> None:
        wire.session.send(wire.sender, "display_data", {"data": {"text/plain": "x"}, "metadata": {}},
                          parent=parent)

    wire.write("Loading", first)
    wire.session.send(wire.sender, "status", {"execution_state": "busy"}, parent=second)
    display(second)
    wire.idle(second)
    assert wire.streams(first) == []
    display(first)  # the first request goes on: its held text comes out before its display
    assert wire.streams(first) == [("stdout", "Loading")]
    wire.write("late", first)
    wire.idle(second)
    assert wire.streams() == []  # the first request is not done


def test_the_guard_remembers_the_last_hundred_finished_requests() -> None:
    wire = Wire("hundred")
    try:
        early = wire.request()
        wire.idle(early)
        for _ in range(99):
            wire.idle(wire.request())
        wire.write("late", early)
        wire.idle(wire.request())  # a hundred requests ended since: the early one is forgotten, its text
        # waits for its own output
        held = wire.streams()
        wire.write("\n", early)
        assert held == [] and wire.streams() == [("stdout", "late\n")]
    finally:
        wire.close()


def test_a_message_that_is_not_a_stream_passes_at_once_even_with_a_text_field(wire: Wire) -> None:
    wire.session.send(wire.sender, "custom_reply", {"text": "Loading"}, parent=wire.request())
    [(_, msg)] = wire.received()
    assert msg["content"] == {"text": "Loading"}


def test_positional_arguments_reach_the_session_in_every_form(wire: Wire) -> None:
    request = wire.request()
    wire.session.send(wire.sender, "display_data", {"data": {"text/plain": KEY}, "metadata": {}}, request,
                      [b"display"])
    wire.session.send(wire.sender, "stream", {"name": "stdout", "text": f"{KEY}\n"}, request, [b"stream.str"])
    msg = wire.session.msg("stream", {"name": "stdout", "text": "whole\n"}, parent=request)
    wire.session.send(wire.sender, msg, None, None, [b"stream.msg"])
    received = wire.received()
    assert [idents for idents, _ in received] == [[b"display"], [b"stream.str"], [b"stream.msg"]]
    assert all(msg["parent_header"]["msg_id"] == request["header"]["msg_id"] for _, msg in received)
    assert KEY not in json.dumps([msg["content"] for _, msg in received])


def test_other_messages_are_redacted_whatever_form_they_are_sent_in(wire: Wire) -> None:
    request = wire.request()
    wire.session.send(wire.sender, "execute_result", {"data": {"text/plain": KEY}, "metadata": {},
                                                      "execution_count": 1},
                      parent=request, ident=b"execute_result")
    display = wire.session.msg("display_data", {"data": {"text/html": f"<b>{KEY}</b>"}, "metadata": {}},
                               parent=request)
    wire.session.send(wire.sender, display)
    wire.session.send(wire.sender, "comm_msg", {"data": {"value": "kept"}}, parent=request)
    (idents, result), (_, shown), (_, comm) = wire.received()
    assert idents == [b"execute_result"] and result["content"]["execution_count"] == 1
    assert result["content"]["data"]["text/plain"] == whole(KEY)
    assert shown["content"]["data"]["text/html"] == whole(f"<b>{KEY}</b>")
    assert comm["content"] == {"data": {"value": "kept"}}
    assert all(msg["parent_header"]["msg_id"] == request["header"]["msg_id"]
               for msg in (result, shown, comm))


def test_an_output_message_sent_before_held_text_comes_after_it(wire: Wire) -> None:
    request = wire.request()
    wire.write("Result: ", request)
    wire.session.send(wire.sender, "display_data", {"data": {"text/plain": "42"}, "metadata": {}},
                      parent=request)
    assert [msg["msg_type"] for _, msg in wire.received()] == ["stream", "display_data"]


def test_unguarding_sends_what_is_held_and_gives_the_session_its_own_send(wire: Wire) -> None:
    request = wire.request()
    wire.write("Loading", request)
    unguard_session(wire.session)
    assert "send" not in vars(wire.session)  # the class's own method again, exactly as before
    assert wire.streams() == [("stdout", "Loading")]
    unguard_session(wire.session)  # not guarded any more: nothing to undo
    guard_session(wire.session)
    guarded = wire.session.send
    guard_session(wire.session)  # twice: still one wrapper
    assert wire.session.send is guarded and guarded.original == Session.send.__get__(wire.session)


def test_unguarding_gives_back_a_send_that_was_already_replaced() -> None:
    session = Session()
    sent: list[object] = []

    def recording_send(stream: object, msg_or_type: object, *args: object, **kwargs: object) -> None:
        sent.append(msg_or_type)

    session.send = recording_send
    guard_session(session)
    session.send(None, "status", {"execution_state": "busy"})
    unguard_session(session)
    assert session.send is recording_send and sent == ["status"]


# --- streams of a terminal and of logging handlers --------------------------------------------------


def test_wrapping_the_std_streams_twice_wraps_once_and_unwrapping_writes_what_is_held(
        monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    wrap_std_streams()
    wrap_std_streams()
    assert isinstance(sys.stdout, RedactingStream) and sys.stdout.wrapped is out
    assert isinstance(sys.stderr, RedactingStream) and sys.stderr.wrapped is err
    print("printed", KEY)
    print("Loading", end="", file=sys.stderr)
    unwrap_std_streams()
    unwrap_std_streams()  # not wrapped any more: nothing to undo
    assert sys.stdout is out and sys.stderr is err
    assert out.getvalue() == whole(f"printed {KEY}\n") and err.getvalue() == "Loading"


def test_a_redacting_stream_still_answers_as_the_stream_it_wraps() -> None:
    raw = io.BytesIO()
    wrapped = io.TextIOWrapper(raw, encoding="utf-8")
    redacting = RedactingStream(wrapped)
    assert redacting.encoding == "utf-8" and redacting.isatty() is False
    assert redacting.buffer.writable() and redacting.buffer.seekable()  # the buffer's own attributes
    redacting.writelines([f"one {KEY}\n", "two\n"])
    redacting.flush()
    assert raw.getvalue().decode() == whole(f"one {KEY}\n") + "two\n"


def test_binary_writes_keep_every_byte_that_is_not_a_key() -> None:
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    buffer = RedactingStream(text).buffer
    data = f"é {KEY} ü\n".encode() + b"\xff\xfe\n"
    assert buffer.write(memoryview(data)) == len(data)
    assert raw.getvalue() == whole(f"é {KEY} ü\n").encode() + b"\xff\xfe\n"


def test_console_handlers_are_the_logging_handlers_writing_to_stdout_or_stderr(
        monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    to_out, to_err, to_file = (logging.StreamHandler(out), logging.StreamHandler(err),
                               logging.StreamHandler(io.StringIO()))
    root_console = logging.StreamHandler(sys.__stderr__)
    app, lib = logging.getLogger("guard-streams-test-app"), logging.getLogger("guard-streams-test-lib")
    for logger, handler in ((app, to_out), (app, to_file), (lib, to_err), (logging.getLogger(), root_console),
                            (app, root_console)):
        logger.addHandler(handler)
        monkeypatch.setattr(logger, "handlers", logger.handlers)
    logging.getLogger("guard-streams-test-app.child")  # loggers not configured are not in the way
    try:
        found = console_handlers()
    finally:
        for logger in (app, lib, logging.getLogger()):
            for handler in (to_out, to_err, to_file, root_console):
                logger.removeHandler(handler)
    assert {to_out, to_err, root_console} <= set(found) and to_file not in found
    assert found.count(root_console) == 1  # a handler on two loggers is patched once


# --- the descriptor relay -----------------------------------------------------------------------


def wait_for(path: Path, text: str) -> str:
    """What `path` holds once `text` is in it (or after 10 s: the assertion then says what is)."""
    deadline = time.monotonic() + 10
    while text not in (content := path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return content


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_fd_relay_sends_an_unfinished_line_after_a_quiet_moment_and_the_rest_on_close(tmp_path: Path) -> None:
    target = tmp_path / "console.log"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        relay = FdRelay(fd)
        assert relay._thread.daemon and relay._thread.name == f"notebook-guard-fd{fd}"
        os.write(fd, "Loading é".encode())  # no line end: shown once the writer pauses
        assert wait_for(target, "Loading") == "Loading é"
        os.write(fd, f"\nline {KEY}\n".encode() + b"\xff not utf-8\nlast, unfinished")
        relay.close()
        os.write(fd, b"after close\n")
        os.close(fd)
    assert target.read_bytes() == (f"Loading é\n{whole(f'line {KEY}')}\n".encode()
                                   + b"\xff not utf-8\nlast, unfinished" + b"after close\n")


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_fd_relay_passes_a_flood_without_line_ends_on_in_chunks_and_closes_its_descriptors(
        tmp_path: Path) -> None:
    target = tmp_path / "console.log"
    flood = b"x" * (3 << 18) + b"\n"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        open_before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()
        relay = FdRelay(fd, flush_after=60)  # no quiet moment: only the size lets text through
        writer = threading.Thread(target=lambda: os.write(fd, flood))
        writer.start()
        content = wait_for(target, "x" * 1000)
        relay.close()
        writer.join()
        os.close(fd)
        open_after = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()
    assert content.startswith("x" * 1000)
    written = target.read_bytes()
    assert written == flood
    assert open_after <= open_before  # the pipe and the copy of the destination are closed


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_fd_relay_never_cuts_a_key_in_half_where_it_passes_a_long_line_on_in_pieces(tmp_path: Path) -> None:
    # One line of about 1 MB, a key every few dozen bytes among bytes that are not UTF-8: the relay
    # passes it on in pieces of about 256 KiB, and each piece ends where a key may begin.
    line = (b"\xff token " + KEY.encode() + b" ") * (1_000_000 // (len(KEY) + 9)) + b"\n"
    target = tmp_path / "console.log"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        relay = FdRelay(fd, flush_after=60)  # no quiet moment: only the size lets text through
        writer = threading.Thread(target=lambda: os.write(fd, line), daemon=True)
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive(), "the relay stopped reading"
        relay.close()
        os.close(fd)
    written = target.read_bytes()
    # Every key whole under one marker (a key cut in two would leave two markers of other keys),
    # and every other byte as it was.
    marker = re.search(rb"\[REDACTED [^\]]*\]", written)
    assert marker is not None and marker.group().startswith(KEY_MARKER.encode())
    assert written == line.replace(KEY.encode(), marker.group())


def test_no_descriptor_is_relayed_outside_a_kernel() -> None:
    assert relay_console_descriptors() == []  # plain streams have no _original_stdstream_copy


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_in_a_kernel_the_descriptor_that_leads_to_the_server_console_is_relayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ipykernel's OutStream keeps the server console's descriptor as `_original_stdstream_copy`."""
    target = tmp_path / "console.log"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        kernel_stdout = io.StringIO()
        kernel_stdout._original_stdstream_copy = fd  # type: ignore[attr-defined]
        monkeypatch.setattr(sys, "stdout", kernel_stdout)
        relays = relay_console_descriptors()
        monkeypatch.undo()
        assert [relay.fd for relay in relays] == [fd]
        os.write(fd, f"echo {KEY}\n".encode())
        for relay in relays:
            relay.close()
        os.close(fd)
    assert target.read_text() == whole(f"echo {KEY}") + "\n"


@pytest.mark.skipif(os.name != "posix", reason="FdRelay needs select() on a pipe (POSIX)")
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_fd_relay_passes_every_finished_line_on_at_once(tmp_path: Path) -> None:
    target = tmp_path / "console.log"
    with target.open("wb") as console:
        fd = os.dup(console.fileno())
        relay = FdRelay(fd, flush_after=60)  # no quiet moment: only line ends let text through
        os.write(fd, b"first\nsecond\nunfinished")
        content = wait_for(target, "second\n")
        relay.close()
        os.close(fd)
    assert content == "first\nsecond\n"
    assert target.read_text() == "first\nsecond\nunfinished"
