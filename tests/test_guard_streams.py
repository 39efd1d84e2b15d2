"""Tests of helpers.guard_streams without a kernel: holding back the unfinished end of a write,
the redacting text and binary streams, the file-descriptor relay (a real pipe), and a guarded
jupyter_client Session over a real zmq socket pair."""

from __future__ import annotations

import io
import os
import sys
import threading

import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st
from jupyter_client.session import Session

from helpers.guard_streams import (
    MAX_HELD,
    FdRelay,
    RedactingStream,
    guard_session,
    split_unfinished,
    unguard_session,
)
from helpers.key_formats import KEY_FORMATS, fake_key

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
        relay = FdRelay(fd, flush_after=0.01)
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
    while idle < len(parents):
        _, frames = session.feed_identities(receiver.recv_multipart())
        msg = session.deserialize(frames)
        if msg["msg_type"] == "stream":
            shown[msg["parent_header"]["msg_id"]] += msg["content"]["text"]
        idle += msg["msg_type"] == "status"
    sender.close()
    receiver.close()
    context.term()
    for text in shown.values():
        assert KEY not in text
        assert text.startswith(KEY_MARKER) and text.endswith(" last words")
