"""tutorial.exercises.nb07: the notebook_key() check passes the reference and fails every wrong answer,
without a traceback, and leaves the process as it found it."""

from __future__ import annotations

import builtins
import getpass
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest

from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb07 import SITUATIONS, SOLUTION, exercise


def defined(code: str, name: str = "notebook_key") -> Callable[[], object]:
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(code), namespace)  # noqa: S102 - the answers below, written in this file
    function = namespace[name]
    assert callable(function)
    return function


def test_the_reference_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(defined(SOLUTION)) is True
    assert capsys.readouterr().out.startswith("✅ ")


def test_remember_true_is_a_right_answer_too(capsys: pytest.CaptureFixture[str]) -> None:
    answer = defined("""
        from helpers.notebook_keys import get_key
        def notebook_key():
            return get_key("OPENAI_API_KEY", remember=True)
    """)
    assert exercise.check(answer) is True, capsys.readouterr().out


# (answer's code, a problem the ❌ must name)
WRONG = {
    "stub": ("def notebook_key():\n    ...", NOT_DONE),
    "not a function": ("notebook_key = 'sk-proj-FAKE'", "should be a function, not a str"),
    "environment only": ("import os\ndef notebook_key():\n    return os.environ['OPENAI_API_KEY']",
                         "only in the project's .env: it raised KeyError"),
    "os.getenv": ("import os\ndef notebook_key():\n    return os.getenv('OPENAI_API_KEY')",
                  "only in the project's .env: it returned None"),
    "load_dotenv": ("""
        import os
        from dotenv import load_dotenv, find_dotenv
        def notebook_key():
            load_dotenv(find_dotenv(usecwd=True))
            return os.environ['OPENAI_API_KEY']
    """, "only in the project's .env: it left OPENAI_API_KEY in os.environ"),
    "input()": ("def notebook_key():\n    return input('key: ')", "it called input()"),
    "getpass always": ("import getpass\ndef notebook_key():\n    return getpass.getpass('key: ')",
                       "only in the project's .env: it asked for the key although it is stored"),
    "getpass, environment first": ("""
        import getpass, os
        def notebook_key():
            return os.environ.get('OPENAI_API_KEY') or getpass.getpass('key: ')
    """, "only in the OS keyring: it asked for the key although it is stored"),
    "never prompts": ("""
        from helpers.notebook_keys import get_key
        def notebook_key():
            return get_key('OPENAI_API_KEY', prompt=False)
    """, "with the key stored nowhere: it never asked with a hidden prompt"),
    "prints the key": ("""
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            print('using', key)
            return key
    """, "it printed the key"),
    "exports the key": ("""
        import os
        from helpers.notebook_keys import get_key
        def notebook_key():
            os.environ['OPENAI_API_KEY'] = get_key('OPENAI_API_KEY')
            return os.environ['OPENAI_API_KEY']
    """, "only in the OS keyring: it left OPENAI_API_KEY in os.environ"),
    "accepts a placeholder": ("""
        import getpass, keyring, os
        from dotenv import dotenv_values
        def notebook_key():
            return (os.environ.get('OPENAI_API_KEY') or dotenv_values('.env').get('OPENAI_API_KEY')
                    or keyring.get_password('llm-key-tutorial', 'OPENAI_API_KEY')
                    or getpass.getpass('key: '))
    """, "a placeholder typed: it returned the placeholder as if it were a key"),
    "returns a fingerprint": ("""
        from helpers.key_formats import fingerprint
        from helpers.notebook_keys import get_key
        def notebook_key():
            return fingerprint(get_key('OPENAI_API_KEY'))
    """, "it returned a str that is not the stored key"),
    "wrong variable": ("""
        from helpers.notebook_keys import get_key
        def notebook_key():
            return get_key('OPENAI_KEY')
    """, "with the key only in the environment: it asked for the key although it is stored"),
    "exits": ("import sys\ndef notebook_key():\n    sys.exit(1)", "it raised SystemExit"),
    "saves the typed key in .env": ("""
        from pathlib import Path
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            if not Path('.env').exists():
                Path('.env').write_text(f'OPENAI_API_KEY={key}\\n')
            return key
    """, "with the key stored nowhere: it wrote the key to a file (.env)"),
    "caches the key in a file": ("""
        import os
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            with open(os.path.join(os.environ['NB07_TEST_FOLDER'], 'key-cache.txt'), 'w') as cache:
                cache.write(key)
            return key
    """, "with the key only in the OS keyring: it wrote the key to a file (key-cache.txt)"),
    "pops the variable after reading it": ("""
        import os
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            os.environ.pop('OPENAI_API_KEY', None)
            return key
    """, "only in the environment: it changed or removed OPENAI_API_KEY in os.environ"),
    "logs the key": ("""
        import logging
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            logging.getLogger('keys').warning('using %s', key)
            return key
    """, "your answer printed or logged a key (redacted above)"),
    "moves to the home folder": ("""
        import os
        from helpers.notebook_keys import get_key
        def notebook_key():
            key = get_key('OPENAI_API_KEY')
            os.chdir(os.path.expanduser('~'))
            return key
    """, "only in the OS keyring: it changed the working directory"),
    "raise NotImplementedError": ("def notebook_key():\n    raise NotImplementedError('write me')", NOT_DONE),
    "a string equal to anything": ("""
        import getpass
        class Anything(str):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = str.__hash__
        def notebook_key():
            return Anything("a key")
    """, "only in the project's .env: it returned a Anything that is not the stored key"),
}


@pytest.mark.parametrize("code, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        code: str, problem: str, capsys: pytest.CaptureFixture[str], assert_crossed,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB07_TEST_FOLDER", str(tmp_path))  # where an answer may cache the key
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(code), namespace)  # noqa: S102 - the answers above
    shown = assert_crossed(exercise, namespace["notebook_key"], problem, capsys)
    for situation in SITUATIONS:
        if situation.key != "your-openai-api-key-here":
            assert situation.key not in shown, "the check itself showed a key"


def test_the_check_puts_back_what_the_answer_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(os.getcwd())
    def state() -> tuple[object, ...]:
        return (dict(os.environ), os.getcwd(), getpass.getpass, builtins.input, sys.stdin,
                keyring.get_keyring())

    before = state()
    exercise.problems(defined("""
        import os
        def notebook_key():
            os.environ['OPENAI_API_KEY'] = 'x'
            os.environ['SOMETHING_ELSE'] = 'y'
            os.chdir('/')
            raise RuntimeError('boom')
    """))
    assert state() == before


def test_an_answer_of_its_own_that_strips_and_refuses_a_placeholder_passes(
        capsys: pytest.CaptureFixture[str]) -> None:
    answer = defined("""
        import getpass, os, keyring
        from dotenv import dotenv_values, find_dotenv
        def notebook_key():
            stored = (os.environ.get("OPENAI_API_KEY")
                      or dotenv_values(find_dotenv(usecwd=True)).get("OPENAI_API_KEY")
                      or keyring.get_password("llm-key-tutorial", "OPENAI_API_KEY"))
            if stored:
                return stored
            typed = getpass.getpass("OpenAI key: ").strip()
            if not typed.startswith("sk-"):
                raise ValueError("that does not look like an OpenAI key")
            return typed
    """)
    assert exercise.check(answer) is True, capsys.readouterr().out
