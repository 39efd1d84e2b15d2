"""get_key, source by source: environment, project .env, real keyring backends, Colab and Kaggle
stand-ins (tests/standins/, see its README), and the getpass prompt in a real terminal and a real
Jupyter kernel.

The keyring tests use real backends, never a dictionary: keyrings.cryptfile (an encrypted file,
Argon2 + AES-GCM) in a temporary folder, and Linux's own Secret Service, served by GNOME Keyring in
a D-Bus session the test starts. Without them they skip, saying why; under CI=true (.ci/run, which
installs gnome-keyring) a missing backend fails the run."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import notebook_keys
from helpers.key_formats import fake_key, fingerprint
from helpers.key_hygiene import diagnose_key
from helpers.notebook_keys import (
    KEYRING_SERVICE,
    ColabAccessError,
    InvalidKeyNameError,
    KeyNotFoundError,
    KeyRejectedError,
    NotebookKeyError,
    forget_key,
    get_key,
)

Backend = keyring.backend.KeyringBackend
ROOT = Path(__file__).resolve().parents[1]
STANDINS = Path(__file__).parent / "standins"
NAME = "OPENAI_API_KEY"
KEY = fake_key("openai-project", 15)
OTHER_KEY = fake_key("openai-project", 16)
KEYRING_PASSWORD = "test-password-for-a-throwaway-keyring"
PLATFORM_VARIABLES = ("COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_USER_SECRETS_TOKEN")
STANDIN_MODULES = ("google", "google.colab", "google.colab.userdata", "google.colab._message",
                   "google.colab.errors", "kaggle_secrets")


def _cryptfile_keyring(folder: Path) -> Backend:
    """An encrypted-file keyring in `folder`, unlocked with a test password; skips (fails in CI)
    when keyrings.cryptfile is missing."""
    try:
        from keyrings.cryptfile.cryptfile import CryptFileKeyring
    except ImportError:
        reason = "keyrings.cryptfile is missing (pip install -r requirements-dev.txt)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI=true and {reason}: the keyring tests must run in CI")
        pytest.skip(f"keyring tests SKIPPED: {reason}")
    backend = CryptFileKeyring()
    # Its Argon2 defaults (15 passes over 64 MB, for every read and write) make a stolen file slow
    # to crack; these tests need the real file and cipher, not that cost.
    backend.time_cost, backend.memory_cost = 1, 2**10
    backend.file_path = str(folder / "keyring.cfg")
    backend.keyring_key = KEYRING_PASSWORD
    return backend


@pytest.fixture
def real_keyring(tmp_path: Path) -> Iterator[Backend]:
    """The process-wide keyring set to a fresh cryptfile keyring, put back afterwards."""
    before = keyring.get_keyring()
    backend = _cryptfile_keyring(tmp_path / "keyring")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's own 'no backend available' backend: every call raises NoKeyringError."""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture(autouse=True)
def clean(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No key in the environment, not on a platform, working directory `project/notebooks`."""
    for variable in (NAME, *PLATFORM_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(project / "notebooks")
    return project


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """getpass must never be called: a test that reaches it fails."""
    def refuse(prompt: str = "") -> str:
        raise AssertionError("getpass was called")
    monkeypatch.setattr(notebook_keys.getpass, "getpass", refuse)


class _Terminal:
    def isatty(self) -> bool:
        return True


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A terminal where the next getpass answers with typed[0]; the prompts shown are appended."""
    answers: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        answers.append(prompt)
        return answers[0]
    monkeypatch.setattr(notebook_keys.getpass, "getpass", fake_getpass)
    monkeypatch.setattr(notebook_keys.sys, "stdin", _Terminal())
    return answers


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tests/standins on sys.path: `google.colab.userdata` and `kaggle_secrets` import from there."""
    monkeypatch.syspath_prepend(str(STANDINS))
    yield
    for module in STANDIN_MODULES:
        sys.modules.pop(module, None)


def _no_value_anywhere(err: BaseException, *values: str) -> None:
    """Neither the message, args, nor anything on the exception chain holds any of `values`."""
    seen: BaseException | None = err
    while seen is not None:
        text = " ".join([str(seen), repr(seen.args), repr(vars(seen))])
        for value in values:
            assert value not in text, f"a value leaked into {type(seen).__name__}"
        seen = seen.__cause__ or seen.__context__


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


# --- 1. the environment --------------------------------------------------------------------------

def test_the_environment_wins_and_the_log_names_the_source_not_the_value(
        clean: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        headless: None) -> None:
    monkeypatch.setenv(NAME, KEY)
    (clean / ".env").write_text(f"{NAME}={OTHER_KEY}\n")
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME) == KEY
    assert "OPENAI_API_KEY: found in the environment" in _logged(caplog)
    assert KEY not in caplog.text


def test_a_placeholder_in_the_environment_is_skipped_with_the_reason(
        clean: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        headless: None) -> None:
    monkeypatch.setenv(NAME, "your-openai-api-key-here")
    (clean / ".env").write_text(f"{NAME}={KEY}\n")
    assert get_key(NAME) == KEY
    assert "skipped the value in the environment, it cannot be a key: a placeholder" in _logged(caplog)


# --- 2. the project's .env -----------------------------------------------------------------------

def test_the_project_env_file_is_read_from_a_subfolder_and_not_loaded_into_the_environment(
        clean: Path, caplog: pytest.LogCaptureFixture, headless: None, no_keyring: None) -> None:
    (clean / ".env").write_text(f"# my keys\n{NAME}={KEY}\n")
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME) == KEY
    assert NAME not in os.environ, "the .env file was loaded into os.environ: ! commands would inherit it"
    assert "OPENAI_API_KEY: found in the project .env" in _logged(caplog)


def test_an_env_file_above_the_project_root_is_never_read(
        clean: Path, headless: None, no_keyring: None) -> None:
    (clean.parent / ".env").write_text(f"{NAME}={KEY}\n")  # a stray ~/.env above the project
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert f"project .env: no .env file found; searched {clean / 'notebooks'}, {clean}" in str(caught.value)


@pytest.mark.parametrize(("content", "note"), [
    ("OTHER=1\n", "has no OPENAI_API_KEY=... line"),
    (f"{NAME}\n", "has no OPENAI_API_KEY=... line"),  # a bare name: python-dotenv gives None
    (f"{NAME}=\n", "skipped the value in {path}: empty: the variable is set but holds no key"),
    (f"{NAME}=your-openai-api-key-here\n", "skipped the value in {path}: a placeholder, not a key"),
])
def test_an_env_file_without_a_usable_value_is_reported_by_path(
        clean: Path, content: str, note: str, headless: None, no_keyring: None) -> None:
    (clean / ".env").write_text(content)
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert note.format(path=clean / ".env") in str(caught.value)


def test_an_env_file_that_is_not_utf8_is_reported_without_its_bytes(
        clean: Path, headless: None, no_keyring: None) -> None:
    (clean / ".env").write_bytes(f"{NAME}=sk-\xe9{KEY[4:]}\n".encode("latin-1"))
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert f"project .env: {clean / '.env'} cannot be read (UnicodeDecodeError)" in str(caught.value)
    _no_value_anywhere(caught.value, KEY[4:20])


# --- 3. the OS keyring (a real backend) ----------------------------------------------------------

def test_a_key_in_the_keyring_is_found_under_the_documented_service_name(
        real_keyring: Backend, caplog: pytest.LogCaptureFixture, headless: None) -> None:
    real_keyring.set_password("llm-key-tutorial", NAME, KEY)
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME) == KEY
    assert "OPENAI_API_KEY: found in the OS keyring (service 'llm-key-tutorial')" in _logged(caplog)
    assert KEY.encode() not in Path(real_keyring.file_path).read_bytes(), "the backend is not encrypted"


def test_the_environment_and_env_file_come_before_the_keyring(
        clean: Path, real_keyring: Backend, headless: None) -> None:
    real_keyring.set_password(KEYRING_SERVICE, NAME, OTHER_KEY)
    (clean / ".env").write_text(f"{NAME}={KEY}\n")
    assert get_key(NAME) == KEY


def test_remember_stores_a_typed_key_and_the_next_session_finds_it_without_asking(
        real_keyring: Backend, typed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    typed.append(KEY)
    assert get_key(NAME, remember=True) == KEY
    # The next session: a new backend object reading the same file, and no one to ask.
    reopened = _cryptfile_keyring(Path(real_keyring.file_path).parent)
    keyring.set_keyring(reopened)
    monkeypatch.setattr(notebook_keys.sys, "stdin", None)
    assert get_key(NAME, prompt=True) == KEY
    assert forget_key(NAME) is True
    assert forget_key(NAME) is False
    assert reopened.get_password(KEYRING_SERVICE, NAME) is None


def test_without_remember_a_typed_key_is_not_stored(
        real_keyring: Backend, typed: list[str]) -> None:
    typed.append(KEY)
    assert get_key(NAME) == KEY
    assert real_keyring.get_password(KEYRING_SERVICE, NAME) is None


def test_a_keyring_without_backend_is_skipped_and_named_in_the_error(
        no_keyring: None, headless: None) -> None:
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert "OS keyring (service 'llm-key-tutorial'): unavailable (NoKeyringError: No recommended backend" \
        in str(caught.value)


def test_remember_with_a_failing_keyring_warns_and_still_returns_the_key(
        no_keyring: None, typed: list[str], caplog: pytest.LogCaptureFixture) -> None:
    typed.append(KEY)
    assert get_key(NAME, remember=True) == KEY
    assert "OPENAI_API_KEY was not stored in the OS keyring (NoKeyringError)" in _logged(caplog)
    assert KEY not in caplog.text


def test_remember_without_the_keyring_library_says_what_to_install_before_asking(
        monkeypatch: pytest.MonkeyPatch, headless: None) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # what `import keyring` sees when it is not installed
    with pytest.raises(ImportError, match=r"pip install keyring==25\.7\.0"):
        get_key(NAME, remember=True)
    with pytest.raises(KeyNotFoundError, match=r"skipped, the keyring library is not installed"):
        get_key(NAME, prompt=False)


@pytest.mark.parametrize("name", ["", "OPENAI API KEY", "1KEY", KEY, "OPENAI_API_KEY\n"])
def test_a_name_that_is_not_a_variable_name_is_refused_without_being_used(name: str, headless: None) -> None:
    with pytest.raises(InvalidKeyNameError, match="is not a variable name") as caught:
        get_key(name)
    assert isinstance(caught.value, NotebookKeyError)
    _no_value_anywhere(caught.value, KEY)  # a key pasted where its name belongs is not repeated


# --- 4. Colab (stand-in) -------------------------------------------------------------------------

def _colab(monkeypatch: pytest.MonkeyPatch, **answer: object) -> None:
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    from google.colab import _message
    monkeypatch.setattr(_message, "SECRETS", {NAME: answer} if answer else {})


def test_colab_secret_is_read_in_colab(standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None,
                                       caplog: pytest.LogCaptureFixture, headless: None) -> None:
    _colab(monkeypatch, exists=True, access=True, payload=KEY)
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME) == KEY
    assert "OPENAI_API_KEY: found in the Colab secrets" in _logged(caplog)


def test_colab_is_not_asked_outside_colab_even_when_the_module_imports(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    _colab(monkeypatch, exists=True, access=True, payload=KEY)
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    with pytest.raises(KeyNotFoundError, match="Colab secrets: skipped, not running in Colab"):
        get_key(NAME, prompt=False)


def test_a_missing_colab_secret_says_what_to_click(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    _colab(monkeypatch)
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert ("Colab secrets: no secret of that name: in Colab, click the key icon in the left sidebar, "
            "'Add new secret', name it OPENAI_API_KEY, paste the key as its value and switch "
            "'Notebook access' on") in str(caught.value)


def test_colab_without_notebook_access_raises_at_once_saying_what_to_click(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, typed: list[str]) -> None:
    _colab(monkeypatch, exists=True, access=False, payload=KEY)
    typed.append(OTHER_KEY)
    with pytest.raises(ColabAccessError) as caught:
        get_key(NAME)
    assert str(caught.value).startswith("Colab has a secret OPENAI_API_KEY, but this notebook may not "
                                        "read it: in Colab, click the key icon")
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert typed == [OTHER_KEY], "the learner was asked to type a key Colab already holds"


# --- 5. Kaggle (stand-in) ------------------------------------------------------------------------

def _kaggle(monkeypatch: pytest.MonkeyPatch, attached: dict[str, str], *, token: bool = True,
            internet: bool = True) -> None:
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    if token:
        monkeypatch.setenv("KAGGLE_USER_SECRETS_TOKEN", "a-kaggle-jwt-for-tests")
    import kaggle_secrets
    monkeypatch.setattr(kaggle_secrets, "ATTACHED", attached)
    monkeypatch.setattr(kaggle_secrets, "INTERNET_ON", internet)


def test_kaggle_secret_is_read_on_kaggle(standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None,
                                         caplog: pytest.LogCaptureFixture, headless: None) -> None:
    _kaggle(monkeypatch, {NAME: KEY})
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME) == KEY
    assert "OPENAI_API_KEY: found in the Kaggle secrets" in _logged(caplog)


@pytest.mark.parametrize(("options", "note"), [
    ({}, "no secret of that label is attached"),
    ({"token": False}, "the notebook has no access to Kaggle secrets"),
    ({"internet": False}, "Kaggle's secrets service cannot be reached (is the notebook's internet on?)"),
])
def test_kaggle_failures_say_what_to_click(standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None,
                                           headless: None, options: dict[str, bool], note: str) -> None:
    _kaggle(monkeypatch, {"SOME_OTHER_SECRET": OTHER_KEY}, **options)
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert (f"Kaggle secrets: {note}: on Kaggle, open Add-ons > Secrets in the notebook editor, add a "
            "secret labelled OPENAI_API_KEY and tick its 'Attach' box") in str(caught.value)
    _no_value_anywhere(caught.value, OTHER_KEY)


def test_other_platform_errors_name_their_type_only(standins: None, monkeypatch: pytest.MonkeyPatch,
                                                   no_keyring: None, headless: None) -> None:
    _colab(monkeypatch, exists=True, access=True, payload=KEY)
    from google.colab import userdata

    class TimeoutException(Exception):  # colabtools' userdata has one, for a request that times out
        pass

    def timing_out(key: str) -> str:
        raise TimeoutException(f"Requesting secret {key} timed out. Secrets can only be fetched ...")
    monkeypatch.setattr(userdata, "get", timing_out)
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert "Colab secrets: unavailable (TimeoutException)\n" in str(caught.value)


def test_kaggle_is_not_asked_off_kaggle(standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None,
                                        headless: None) -> None:
    _kaggle(monkeypatch, {NAME: KEY})
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    with pytest.raises(KeyNotFoundError, match="Kaggle secrets: skipped, not running on Kaggle"):
        get_key(NAME, prompt=False)


# --- 6. the prompt, and the error when nothing has the key ---------------------------------------

def test_no_source_and_no_prompt_names_the_variable_and_every_source_in_order(
        clean: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    monkeypatch.setenv(NAME, " 'your-openai-api-key-here' ")
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    err = caught.value
    assert isinstance(err, NotebookKeyError) and err.name == NAME
    assert [source for source, _note in err.tried] == [
        "environment", "project .env", "OS keyring (service 'llm-key-tutorial')", "Colab secrets",
        "Kaggle secrets", "getpass prompt"]
    assert str(err).startswith("OPENAI_API_KEY was not found. Sources tried, in order:\n  - environment: "
                               "skipped the value in the environment: leading or trailing")
    assert "  - getpass prompt: off (prompt=False)\n" in str(err)
    _no_value_anywhere(err, "your-openai-api-key-here")


def test_headless_with_prompt_on_never_blocks(monkeypatch: pytest.MonkeyPatch, no_keyring: None,
                                              headless: None) -> None:
    monkeypatch.setattr(notebook_keys.sys, "stdin", None)  # pythonw, a service: no stdin at all
    with pytest.raises(KeyNotFoundError, match=r"getpass prompt: no one to ask \(not a Jupyter kernel, "
                                               r"and stdin is not a terminal\)"):
        get_key(NAME, prompt=True)


def test_the_prompt_names_the_variable_and_hides_typing(no_keyring: None, typed: list[str]) -> None:
    typed.append(KEY)
    assert get_key("MY_SERVICE_TOKEN") == KEY
    assert typed[1:] == ["MY_SERVICE_TOKEN (typing is hidden): "]


@pytest.mark.parametrize(("value", "finding"), [
    (f" {KEY}", "leading or trailing whitespace"),
    (f'"{KEY}"', "quote characters around the value"),
    ("your-openai-api-key-here", "a placeholder, not a key"),
    (f"OPENAI_API_KEY={KEY}", "holds a whole NAME=value line"),
    (fake_key("anthropic", 3), "has the shape of a key from Anthropic"),
    ("", "empty: the variable is set but holds no key"),
])
def test_a_typed_value_with_a_copy_paste_mistake_is_refused_with_the_reason(
        real_keyring: Backend, typed: list[str], value: str, finding: str) -> None:
    typed.append(value)
    with pytest.raises(KeyRejectedError) as caught:
        get_key(NAME, remember=True)
    assert str(caught.value).startswith("the value typed for OPENAI_API_KEY was not used: ")
    assert finding in str(caught.value)
    assert real_keyring.get_password(KEYRING_SERVICE, NAME) is None, "a refused value was remembered"
    if value:
        _no_value_anywhere(caught.value, value.strip(' "'))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(typed_value=st.text(min_size=1, max_size=80))
def test_whatever_is_typed_is_returned_unchanged_or_refused_without_being_quoted(
        no_keyring: None, typed: list[str], typed_value: str) -> None:
    typed[:] = [typed_value]
    try:
        assert get_key(NAME) == typed_value
    except KeyRejectedError as err:
        assert len(typed_value.strip()) < 8 or typed_value.strip() not in str(err)


# --- the prompt for real: a terminal, and a Jupyter kernel ---------------------------------------

def _child_environment(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in (NAME, *PLATFORM_VARIABLES)}
    # keyring's "no backend" backend: the prompt is reached without a keyring asking for its password
    env.update(PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               IPYTHONDIR=str(tmp_path / "ipython"))
    return env


def test_getpass_in_a_real_terminal_hides_the_key(tmp_path: Path) -> None:
    import pexpect  # a pseudo-terminal, so getpass really turns echo off

    script = textwrap.dedent("""
        from helpers.notebook_keys import get_key
        from helpers.key_formats import fingerprint
        print("fingerprint", fingerprint(get_key("OPENAI_API_KEY")))
    """)
    child = pexpect.spawn(sys.executable, ["-c", script], cwd=str(tmp_path), env=_child_environment(tmp_path),
                          encoding="utf-8", timeout=60)
    child.expect_exact("OPENAI_API_KEY (typing is hidden): ")
    child.sendline(KEY)
    child.expect(pexpect.EOF)
    assert f"fingerprint {fingerprint(KEY)}" in child.before
    assert KEY not in child.before, "the terminal echoed the key"


def _run_in_kernel(tmp_path: Path, code: str, *, allow_stdin: bool, answer: str | None) -> dict[str, object]:
    """Run `code` in a real ipykernel; answer its input_request with `answer`. Returns what happened."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=_child_environment(tmp_path),
                                       cwd=str(tmp_path))
    try:
        msg_id = client.execute(code, allow_stdin=allow_stdin)
        seen: dict[str, object] = {"stdout": "", "prompts": [], "errors": []}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if answer is not None:
                try:
                    request = client.get_stdin_msg(timeout=0.05)
                    seen["prompts"].append(request["content"])  # type: ignore[union-attr]
                    client.input(answer)
                except queue.Empty:
                    pass
            try:
                message = client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                seen["stdout"] += content["text"]  # type: ignore[operator]
            elif kind == "error":
                seen["errors"].append(f"{content['ename']}: {content['evalue']}")  # type: ignore[union-attr]
            elif kind == "status" and content["execution_state"] == "idle":
                return seen
        raise AssertionError("the kernel did not finish within 60 s")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_in_a_jupyter_kernel_the_prompt_is_a_password_field_and_nothing_keeps_the_key(tmp_path: Path) -> None:
    code = ("from helpers.notebook_keys import get_key\nfrom helpers.key_formats import fingerprint\n"
            "print('fingerprint', fingerprint(get_key('OPENAI_API_KEY', prompt=True)))")
    seen = _run_in_kernel(tmp_path, code, allow_stdin=True, answer=KEY)
    assert seen["errors"] == []
    assert seen["prompts"] == [{"prompt": "OPENAI_API_KEY (typing is hidden): ", "password": True}]
    assert seen["stdout"] == f"fingerprint {fingerprint(KEY)}\n"
    history = tmp_path / "ipython" / "profile_default" / "history.sqlite"
    assert history.exists() and KEY.encode() not in history.read_bytes()


def test_in_a_kernel_whose_front_end_takes_no_input_the_prompt_does_not_block(tmp_path: Path) -> None:
    code = "from helpers.notebook_keys import get_key\nget_key('OPENAI_API_KEY', prompt=True)"
    seen = _run_in_kernel(tmp_path, code, allow_stdin=False, answer=None)
    assert len(seen["errors"]) == 1  # type: ignore[arg-type]
    assert seen["errors"][0].startswith("KeyNotFoundError: OPENAI_API_KEY was not found.")  # type: ignore[index]
    assert "getpass prompt: this front end accepts no input (nbval, nbconvert, papermill, CI)" \
        in seen["errors"][0]  # type: ignore[index]


# --- the Linux OS keyring: Secret Service from GNOME Keyring, in a D-Bus session of its own ------

_STORE = """import os, keyring
keyring.set_password("llm-key-tutorial", "OPENAI_API_KEY", os.environ.pop("KEY_TO_STORE"))"""
_READ = """import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="log: %(message)s")
from helpers.key_formats import fingerprint
from helpers.notebook_keys import forget_key, get_key
key = get_key("OPENAI_API_KEY", prompt=False)
print("fingerprint", fingerprint(key))
import os, pathlib
stored = [path.read_bytes() for path in pathlib.Path(os.environ["XDG_DATA_HOME"], "keyrings").iterdir()]
print("written", bool(stored), "in clear", any(key.encode() in data for data in stored))
print("forgotten", forget_key("OPENAI_API_KEY"), forget_key("OPENAI_API_KEY"))"""
_SESSION = """set -e
echo -n "$LOGIN_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$PYTHON" -c "$STORE"
"$PYTHON" -c "$READ"
"""


def _secret_service_or_skip() -> None:
    missing = [tool for tool in ("gnome-keyring-daemon", "dbus-run-session") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} missing (apt-get install gnome-keyring dbus-daemon)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI=true and {reason}: the Secret Service test must run in CI")
        pytest.skip(f"Secret Service test SKIPPED: {reason}")


def test_the_linux_os_keyring_serves_the_key_to_a_new_process(tmp_path: Path) -> None:
    _secret_service_or_skip()
    (tmp_path / "runtime").mkdir(mode=0o700)
    env = {**_child_environment(tmp_path), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), "LOGIN_PASSWORD": KEYRING_PASSWORD,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring", "PYTHON": sys.executable,
           "STORE": _STORE, "READ": _READ, "KEY_TO_STORE": KEY}
    done = subprocess.run(["dbus-run-session", "--", "sh", "-c", _SESSION], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "log: OPENAI_API_KEY: found in the OS keyring (service 'llm-key-tutorial')",
        f"fingerprint {fingerprint(KEY)}",
        "written True in clear False",
        "log: OPENAI_API_KEY: deleted from the OS keyring (service 'llm-key-tutorial')",
        "forgotten True False",
    ]


# --- exact texts: what a learner reads, and what the log says ------------------------------------

class _MemoryKeyring(Backend):
    """A keyring backend in memory that behaves as keyring's own do: ``delete_password`` of an
    entry that is not there raises PasswordDeleteError (keyring 25.7 ``backend.py``)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("Password not found")


class _BrokenKeyring(_MemoryKeyring):
    """A backend failing with its own error, not keyring's (a D-Bus call that times out, say)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the D-Bus call timed out")

    def __repr__(self) -> str:
        return "<BrokenKeyring>"


@pytest.fixture
def memory_keyring() -> Iterator[_MemoryKeyring]:
    before = keyring.get_keyring()
    backend = _MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def test_not_found_lists_each_source_and_ends_with_the_three_ways_to_provide_the_key(
        memory_keyring: _MemoryKeyring, headless: None) -> None:
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert caught.value.tried[0] == ("environment", "not set")
    assert caught.value.tried[2] == ("OS keyring (service 'llm-key-tutorial')", "no entry")
    assert str(caught.value).endswith(
        "  - getpass prompt: off (prompt=False)\nSet OPENAI_API_KEY in your .env file or the environment, "
        "store it with `keyring set llm-key-tutorial OPENAI_API_KEY`, or run this in JupyterLab with "
        "prompt=True to type it.")


def test_a_keyring_backend_failing_its_own_way_is_named_by_error_type_and_backend(headless: None) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(_BrokenKeyring())
    try:
        with pytest.raises(KeyNotFoundError) as caught:
            get_key(NAME, prompt=False)
    finally:
        keyring.set_keyring(before)
    assert caught.value.tried[2][1] == "unavailable (RuntimeError from <BrokenKeyring>)"


def test_a_refused_typed_value_says_why_and_to_paste_the_key_alone(
        typed: list[str], no_keyring: None) -> None:
    typed.append(f' "{KEY}" ')  # two mistakes: the spaces and the quotes
    with pytest.raises(KeyRejectedError) as caught:
        get_key(NAME)
    findings = diagnose_key(f' "{KEY}" ', expected_provider="openai")
    assert len(findings) == 2
    assert (caught.value.name, caught.value.findings) == (NAME, tuple(findings))
    assert str(caught.value) == (f"the value typed for OPENAI_API_KEY was not used: {'; '.join(findings)}. "
                                 "Run the cell again and paste the key alone.")


@pytest.mark.parametrize("name", ["openai_api_key", "ANTHROPIC_API_KEY", "deepseek_key"])
def test_a_typed_key_of_another_provider_is_refused_whatever_the_case_of_the_name(
        name: str, typed: list[str], no_keyring: None) -> None:
    other = fake_key("anthropic", 3) if not name.upper().startswith("ANTHROPIC") else KEY
    typed.append(other)
    with pytest.raises(KeyRejectedError, match="has the shape of a key from"):
        get_key(name)


def test_an_invalid_name_error_explains_what_a_variable_name_is(headless: None) -> None:
    with pytest.raises(InvalidKeyNameError) as caught:
        get_key("OPENAI API KEY")
    assert caught.value.name == ""
    assert str(caught.value) == ("the name given to get_key is not a variable name: use letters, digits and "
                                 "'_', not starting with a digit (e.g. 'OPENAI_API_KEY')")


def test_without_the_keyring_library_remember_and_forget_say_what_to_install(
        monkeypatch: pytest.MonkeyPatch, headless: None) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ImportError) as remembering:
        get_key(NAME, remember=True)
    with pytest.raises(ImportError) as forgetting:
        forget_key(NAME)
    assert str(remembering.value) == ("remember=True stores OPENAI_API_KEY in the OS keyring, which needs "
                                      "the keyring library: pip install keyring==25.7.0")
    assert str(forgetting.value) == "forget_key needs the keyring library: pip install keyring==25.7.0"


def test_typing_remembering_and_forgetting_are_logged_by_name_never_by_value(
        memory_keyring: _MemoryKeyring, typed: list[str], caplog: pytest.LogCaptureFixture) -> None:
    typed.append(KEY)
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        assert get_key(NAME, remember=True) == KEY
        assert memory_keyring.entries == {("llm-key-tutorial", NAME): KEY}
        assert forget_key(NAME) is True
        assert forget_key(NAME) is False
    assert [record.getMessage() for record in caplog.records] == [
        "OPENAI_API_KEY: typed at the prompt",
        "OPENAI_API_KEY: stored in the OS keyring (service 'llm-key-tutorial')",
        "OPENAI_API_KEY: deleted from the OS keyring (service 'llm-key-tutorial')"]


def test_a_keyring_refusing_to_store_is_one_warning_naming_the_error_type(
        no_keyring: None, typed: list[str], caplog: pytest.LogCaptureFixture) -> None:
    typed.append(KEY)
    with caplog.at_level(logging.WARNING, logger="helpers.notebook_keys"):
        assert get_key(NAME, remember=True) == KEY
    assert [record.getMessage() for record in caplog.records] == [
        "OPENAI_API_KEY was not stored in the OS keyring (NoKeyringError): it will be asked for again"]


def test_storing_without_the_keyring_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # get_key checks first; the storing step checks again on its own (the library may be gone by then)
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ImportError) as caught:
        notebook_keys._remember(NAME, KEY)
    assert str(caught.value) == "remember=True needs the keyring library: pip install keyring==25.7.0"


class _Kernel:
    """What ``IPython.get_ipython()`` returns in a Jupyter kernel: a shell with a ``kernel``."""

    kernel = object()


@pytest.fixture
def in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process seen as a Jupyter kernel (in-process, so a mutation run sees the calls; the
    real kernel tests above run one in a child process): ipykernel imported, a shell with a kernel,
    and no terminal."""
    import IPython

    ipykernel = sys.modules.get("ipykernel") or types.ModuleType("ipykernel")
    monkeypatch.setitem(sys.modules, "ipykernel", ipykernel)
    monkeypatch.setattr(IPython, "get_ipython", _Kernel)
    monkeypatch.setattr(notebook_keys.sys, "stdin", None)


def _getpass_raising(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def refuse(prompt: str = "") -> str:
        raise error
    monkeypatch.setattr(notebook_keys.getpass, "getpass", refuse)


def test_in_a_kernel_without_a_terminal_the_prompt_is_still_shown(
        in_a_kernel: None, typed: list[str], no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_keys.sys, "stdin", None)  # `typed` gave it a terminal: take it away
    typed.append(KEY)
    assert get_key(NAME) == KEY


def test_in_a_kernel_whose_front_end_takes_no_input_the_prompt_says_so(
        in_a_kernel: None, no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.error import StdinNotImplementedError

    _getpass_raising(monkeypatch, StdinNotImplementedError("raw_input was called, but this frontend does "
                                                           "not support input requests."))
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME)
    assert caught.value.tried[-1] == ("getpass prompt",
                                      "this front end accepts no input (nbval, nbconvert, papermill, CI)")


def test_in_a_kernel_any_other_prompt_failure_is_raised(
        in_a_kernel: None, no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _getpass_raising(monkeypatch, RuntimeError("the front end went away"))
    with pytest.raises(RuntimeError, match="the front end went away"):
        get_key(NAME)


def test_outside_a_kernel_a_prompt_failure_is_raised(
        typed: list[str], no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.error import StdinNotImplementedError

    _getpass_raising(monkeypatch, StdinNotImplementedError("no input here"))
    with pytest.raises(StdinNotImplementedError):
        get_key(NAME)


def test_a_placeholder_stored_on_colab_or_kaggle_is_skipped_naming_the_platform(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    _colab(monkeypatch, exists=True, access=True, payload="your-openai-api-key-here")
    _kaggle(monkeypatch, {NAME: "your-openai-api-key-here"})
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    reasons = "; ".join(diagnose_key("your-openai-api-key-here"))
    assert caught.value.tried[3:5] == (
        ("Colab secrets", f"skipped the value in Colab secrets: {reasons}"),
        ("Kaggle secrets", f"skipped the value in Kaggle secrets: {reasons}"))


def test_any_other_kaggle_failure_is_named_by_its_type_only(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    _kaggle(monkeypatch, {NAME: KEY})
    import kaggle_secrets

    def failing(self: object, label: str) -> str:
        raise ValueError(f"unexpected answer for {label}: {OTHER_KEY}")  # Kaggle's text may quote anything
    monkeypatch.setattr(kaggle_secrets.UserSecretsClient, "get_secret", failing)
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    assert caught.value.tried[4] == ("Kaggle secrets", "unavailable (ValueError)")
    _no_value_anywhere(caught.value, OTHER_KEY)


def test_a_skipped_value_is_logged_and_noted_with_every_reason(
        monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None,
        caplog: pytest.LogCaptureFixture) -> None:
    pasted = " 'your-openai-api-key-here' "
    monkeypatch.setenv(NAME, pasted)
    reasons = "; ".join(diagnose_key(pasted))
    assert reasons.count("; ") == 2  # whitespace, quotes, a placeholder
    with (caplog.at_level(logging.WARNING, logger="helpers.notebook_keys"),
          pytest.raises(KeyNotFoundError) as caught):
        get_key(NAME, prompt=False)
    assert caught.value.tried[0] == ("environment", f"skipped the value in the environment: {reasons}")
    assert [record.getMessage() for record in caplog.records] == [
        f"skipped the value in the environment, it cannot be a key: {reasons}"]


def test_colab_without_access_names_the_variable_in_the_error_and_the_clicks(
        standins: None, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    _colab(monkeypatch, exists=True, access=False, payload=KEY)
    with pytest.raises(ColabAccessError) as caught:
        get_key(NAME)
    assert caught.value.name == NAME
    assert str(caught.value) == (
        "Colab has a secret OPENAI_API_KEY, but this notebook may not read it: in Colab, click the key icon "
        "in the left sidebar, 'Add new secret', name it OPENAI_API_KEY, paste the key as its value and "
        "switch 'Notebook access' on")


def test_an_env_file_value_is_taken_literally_with_no_variable_expanded(
        clean: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None, headless: None) -> None:
    literal = KEY[:20] + "${PART}" + KEY[20:]  # python-dotenv expands ${PART} unless told not to
    monkeypatch.setenv("PART", "expanded")
    (clean / ".env").write_text(f"{NAME}={literal}\n")
    assert get_key(NAME) == literal


def test_a_placeholder_in_the_keyring_is_skipped_naming_the_keyring(
        memory_keyring: _MemoryKeyring, headless: None) -> None:
    memory_keyring.set_password(KEYRING_SERVICE, NAME, "your-openai-api-key-here")
    with pytest.raises(KeyNotFoundError) as caught:
        get_key(NAME, prompt=False)
    reasons = "; ".join(diagnose_key("your-openai-api-key-here"))
    assert caught.value.tried[2] == ("OS keyring (service 'llm-key-tutorial')",
                                     f"skipped the value in the OS keyring: {reasons}")


def test_the_source_that_had_the_key_is_the_only_thing_logged(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, headless: None) -> None:
    monkeypatch.setenv(NAME, KEY)
    with caplog.at_level(logging.INFO, logger="helpers.notebook_keys"):
        get_key(NAME)
    assert [record.getMessage() for record in caplog.records] == ["OPENAI_API_KEY: found in the environment"]
