"""tutorial.exercises: the Exercise every notebook's check goes through."""

from __future__ import annotations

import builtins
import functools
import io
import logging
import os
import re
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.key_formats import KEY_FORMATS, fake_key
from tutorial.exercises import NOT_DONE, Exercise, NotDoneYet, is_stub, process_put_back


def exercise_with(checker: Callable[[Any], list[str]]) -> Exercise:
    return Exercise("Sum", checker, "add the numbers", "answer = 1 + 2")


def sums_to_three(answer: Any) -> list[str]:
    return [] if answer() == 3 else [f"your function returned {answer()!r}, not 3"]


def test_a_right_answer_prints_a_tick_and_returns_true(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise_with(sums_to_three).check(lambda: 3) is True
    out = capsys.readouterr().out
    assert out.startswith("✅ Sum: ")
    assert "❌" not in out and "hint" not in out


def test_a_wrong_answer_prints_each_problem_then_the_hint(capsys: pytest.CaptureFixture[str]) -> None:
    two_problems = exercise_with(lambda answer: ["first problem", "second problem"])
    assert two_problems.check(42) is False
    assert capsys.readouterr().out.splitlines() == [
        "❌ first problem", "❌ second problem", "hint: add the numbers"]


def test_hint_and_solution_print_what_the_exercise_was_given(capsys: pytest.CaptureFixture[str]) -> None:
    exercise = exercise_with(sums_to_three)
    exercise.hint()
    exercise.solution()
    assert capsys.readouterr().out == "hint: add the numbers\nanswer = 1 + 2\n"


def stub_plain(x: int) -> int: ...  # type: ignore[empty-body]


def stub_pass(x: int) -> None:
    pass


def stub_docstring() -> None:
    """Write me."""


def stub_returning_ellipsis() -> object:
    return ...


def stub_closure() -> Callable[[], None]:
    captured = 1

    def inner() -> None:
        nonlocal captured
    return inner


class Learner:
    def method(self) -> None: ...


def stable_id(value: object) -> str:
    """repr() without memory addresses: the same test ids in every pytest-xdist worker."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


STUBS = [..., None, stub_plain, stub_pass, stub_docstring, stub_returning_ellipsis, stub_closure(),
         Learner().method, lambda x: None, [...], ("a", ...), {"a": ...}, {"f": stub_plain}, [stub_pass]]


@pytest.mark.parametrize("stub", STUBS, ids=stable_id)
def test_a_stub_is_not_done_yet_and_the_checker_never_runs(
        stub: object, capsys: pytest.CaptureFixture[str]) -> None:
    def must_not_run(answer: Any) -> list[str]:
        raise AssertionError("the checker ran on a stub")

    assert is_stub(stub)
    assert exercise_with(must_not_run).check(stub) is False
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"❌ {NOT_DONE}", "hint: add the numbers"]
    assert "replace the `...`" in lines[0]


@pytest.mark.parametrize("answer", [0, "", False, [], {}, "...", lambda: 3, lambda x: x, print,
                                    functools.partial(print, 1), [1, 2], {"a": 1}, Learner()], ids=stable_id)
def test_an_answer_that_does_something_is_not_a_stub(answer: object) -> None:
    assert not is_stub(answer)


def test_a_checker_that_finds_a_stub_deeper_down_reports_not_done(capsys: pytest.CaptureFixture[str]) -> None:
    def finds_stub(answer: Any) -> list[str]:
        raise NotDoneYet

    assert exercise_with(finds_stub).check(7) is False
    assert capsys.readouterr().out.splitlines()[0] == f"❌ {NOT_DONE}"


class BrokenMessage(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def raises(error: BaseException) -> Callable[[], int]:
    def answer() -> int:
        raise error
    return answer


def recurses() -> int:
    return recurses()


@pytest.mark.parametrize("answer, kind", [
    (raises(ValueError("bad value")), "ValueError: bad value"),
    (raises(KeyError("OPENAI_API_KEY")), "KeyError: 'OPENAI_API_KEY'"),
    (raises(SystemExit(2)), "SystemExit: 2"),
    (raises(GeneratorExit("closed")), "GeneratorExit: closed"),
    (raises(BrokenMessage()), "BrokenMessage: (the message could not be read)"),
    (raises(AttributeError()), "AttributeError"),
    (recurses, "RecursionError: maximum recursion depth exceeded"),
    (lambda: None + 1, "TypeError: unsupported operand"),
])
def test_whatever_the_answer_raises_is_one_line_not_a_traceback(
        answer: Callable[[], int], kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise_with(sums_to_three).check(answer) is False
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"❌ checking your answer raised {kind}")
    assert lines[-1] == "hint: add the numbers"
    assert "Traceback" not in captured.out + captured.err


def test_a_very_long_exception_message_is_cut_short(capsys: pytest.CaptureFixture[str]) -> None:
    exercise_with(sums_to_three).check(raises(ValueError("x" * 10_000)))
    assert len(capsys.readouterr().out) < 500


@given(kind=st.sampled_from([fmt.name for fmt in KEY_FORMATS if not fmt.context]),
       seed=st.integers(0, 1000), before=st.text(max_size=20), after=st.sampled_from(["", " ", "\n", "'"]))
def test_a_key_in_the_learners_exception_never_reaches_the_output(
        kind: str, seed: int, before: str, after: str) -> None:
    key = fake_key(kind, seed).replace("FAKE", "REAL").replace("fake", "real").replace("EXAMPLE", "SAMPLES")
    exercise = exercise_with(sums_to_three)
    problems = exercise.problems(raises(RuntimeError(f"{before} {key}{after}")))
    assert len(problems) == 1
    assert key not in problems[0]
    assert problems[0].startswith("checking your answer raised RuntimeError")


def test_an_endless_loop_is_stopped_and_reported(capsys: pytest.CaptureFixture[str]) -> None:
    def spins(answer: Any) -> list[str]:
        while True:
            try:
                answer()
            except Exception:  # noqa: S112 - a learner's loop that swallows every error
                continue

    exercise = Exercise("Loop", spins, "stop", "pass", time_limit=0.2)
    assert exercise.check(lambda: 1) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ checking your answer took more than 0.2 s")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_off_the_main_thread_a_check_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(exercise_with(sums_to_three).check(lambda: 3)))
    worker.start()
    worker.join()
    assert results == [True]


def test_pressing_stop_still_stops_the_check() -> None:
    with pytest.raises(KeyboardInterrupt):
        exercise_with(sums_to_three).check(raises(KeyboardInterrupt()))


def stub_not_implemented() -> int:
    raise NotImplementedError


def stub_not_implemented_with_message(x: int) -> int:
    """Return twice x."""
    raise NotImplementedError("your code here")


@pytest.mark.parametrize("stub", [stub_not_implemented, stub_not_implemented_with_message], ids=stable_id)
def test_a_function_that_only_raises_not_implemented_is_a_stub(
        stub: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert is_stub(stub)
    assert exercise_with(sums_to_three).check(stub) is False
    assert capsys.readouterr().out.splitlines()[0] == f"❌ {NOT_DONE}"


def raises_after_working() -> int:
    total = 1 + 2
    if total == 3:
        raise NotImplementedError("the rest")
    return total


def test_a_function_that_works_then_raises_not_implemented_is_judged_not_skipped(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert not is_stub(raises_after_working)
    exercise_with(sums_to_three).check(raises_after_working)
    assert "raised NotImplementedError: the rest" in capsys.readouterr().out


def test_a_loop_whose_bare_except_swallows_the_interrupt_is_still_stopped(
        capsys: pytest.CaptureFixture[str]) -> None:
    def swallows_everything(answer: Any) -> list[str]:
        while True:
            try:  # noqa: SIM105 - written as a learner writes it
                answer()
            except:  # noqa: E722, S110 - a learner's bare except, which catches the first interrupt too
                pass

    exercise = Exercise("Loop", swallows_everything, "stop", "pass", time_limit=0.2)
    assert exercise.check(lambda: 1) is False
    assert capsys.readouterr().out.startswith("❌ checking your answer took more than 0.2 s")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)


def calls_the_answer(answer: Any) -> list[str]:
    answer()
    return []


def test_an_answer_that_prints_a_key_is_crossed_and_the_key_is_shown_redacted(
        capsys: pytest.CaptureFixture[str], real_looking: Callable[..., str]) -> None:
    key = real_looking("openai-project", 3)
    assert exercise_with(calls_the_answer).check(lambda: print("using", key)) is False
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err
    assert "using [REDACTED openai-project" in captured.out
    assert "❌ your answer printed or logged a key (redacted above)" in captured.out


def test_an_answer_that_logs_a_key_never_reaches_your_handlers_and_is_crossed(
        capsys: pytest.CaptureFixture[str], real_looking: Callable[..., str]) -> None:
    key = real_looking("anthropic", 4)
    notebook_log = io.StringIO()
    handler = logging.StreamHandler(notebook_log)
    logging.getLogger().addHandler(handler)
    try:
        def logs() -> None:
            try:
                raise ValueError(f"refused {key}")
            except ValueError:
                logging.getLogger("learner").exception("calling with %s", key)

        assert exercise_with(calls_the_answer).check(logs) is False
    finally:
        logging.getLogger().removeHandler(handler)
    captured = capsys.readouterr()
    assert notebook_log.getvalue() == ""
    assert key not in captured.out + captured.err
    assert "Traceback" not in captured.err  # the exception is one line: ValueError: refused [REDACTED ...]
    assert "ValueError: refused [REDACTED anthropic" in captured.err
    assert "printed or logged a key" in captured.out


def test_what_a_right_answer_prints_is_shown_before_the_tick(capsys: pytest.CaptureFixture[str]) -> None:
    def prints_and_sums() -> int:
        print("adding 1 and 2")
        return 3

    assert exercise_with(sums_to_three).check(prints_and_sums) is True
    assert capsys.readouterr().out.splitlines()[:2] == [
        "adding 1 and 2", "✅ Sum: correct, your answer passes every check."]


def test_an_answer_that_changes_the_working_directory_is_crossed_and_it_is_put_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()

    def moves_into_a_folder_that_then_goes() -> int:
        os.chdir(gone)
        gone.rmdir()
        return 3

    assert exercise_with(sums_to_three).check(moves_into_a_folder_that_then_goes) is False
    assert os.getcwd() == str(tmp_path)
    assert "❌ your answer changed the working directory (os.chdir)" in capsys.readouterr().out


def test_an_answer_that_changes_the_environment_is_crossed_by_name_and_it_is_put_back(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EXERCISE_TEST_KEPT", "before")
    monkeypatch.setenv("EXERCISE_TEST_REMOVED", "before")
    monkeypatch.delenv("EXERCISE_TEST_ADDED", raising=False)
    before = dict(os.environ)

    def changes_three() -> int:
        os.environ["EXERCISE_TEST_KEPT"] = "secret-after"
        del os.environ["EXERCISE_TEST_REMOVED"]
        os.environ["EXERCISE_TEST_ADDED"] = "secret-added"
        return 3

    assert exercise_with(sums_to_three).check(changes_three) is False
    out = capsys.readouterr().out
    assert dict(os.environ) == before
    assert "os.environ (EXERCISE_TEST_ADDED, EXERCISE_TEST_KEPT, EXERCISE_TEST_REMOVED)" in out
    assert "secret-" not in out


def test_process_put_back_reports_and_undoes_what_one_call_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXERCISE_TEST_ADDED", raising=False)
    found: list[str] = []
    with process_put_back(found):
        os.chdir("/")
        os.environ["EXERCISE_TEST_ADDED"] = "x"
    assert os.getcwd() == str(tmp_path) and "EXERCISE_TEST_ADDED" not in os.environ
    assert len(found) == 2
    untouched: list[str] = []
    with process_put_back(untouched):
        pass
    assert untouched == []


def test_a_key_in_a_checkers_problem_is_redacted(real_looking: Callable[..., str]) -> None:
    key = real_looking("google", 5)
    problems = exercise_with(lambda answer: [f"get('k') gave {key!r}"]).problems(3)
    assert len(problems) == 1 and key not in problems[0]
    assert "[REDACTED google" in problems[0]


def test_an_answer_that_prints_without_end_is_stopped_and_its_output_cut_short_in_whole_lines(
        capsys: pytest.CaptureFixture[str], real_looking: Callable[..., str]) -> None:
    key = real_looking("openai-project", 6)

    def floods() -> int:
        while True:
            print("retrying with", key)

    exercise = Exercise("Flood", calls_the_answer, "stop", "pass", time_limit=0.3)
    assert exercise.check(floods) is False
    captured = capsys.readouterr()
    assert len(captured.out) < 120_000
    assert key not in captured.out
    shown = captured.out.splitlines()
    assert all(line.startswith("retrying with [REDACTED openai-project") for line in shown[:-4])
    assert "… (cut: your answer wrote more than 100,000 characters here)" in shown
    assert any(line.startswith("❌ checking your answer took more than 0.3 s") for line in shown)


def test_an_answer_that_replaces_print_cannot_hide_the_verdict_and_print_is_put_back(
        capsys: pytest.CaptureFixture[str]) -> None:
    real_print = builtins.print

    def silences_print() -> int:
        builtins.print = lambda *args, **kwargs: None
        return 3

    assert exercise_with(sums_to_three).check(silences_print) is False
    assert builtins.print is real_print
    assert "❌ your answer replaced the built-in print for the whole notebook" in capsys.readouterr().out


def test_an_answer_that_changes_the_umask_is_crossed_and_it_is_put_back(
        capsys: pytest.CaptureFixture[str]) -> None:
    before = os.umask(0o022)
    os.umask(before)

    def tightens_the_umask() -> int:
        os.umask(0o077)
        return 3

    assert exercise_with(sums_to_three).check(tightens_the_umask) is False
    now = os.umask(before)
    assert now == before
    assert "❌ your answer changed the umask (os.umask)" in capsys.readouterr().out
