"""Get an API key into a notebook without writing it anywhere: ``get_key("OPENAI_API_KEY")``.

`get_key` returns the key from the first of these sources that has it, and logs (never shows)
which source that was:

1. the process environment;
2. the project's ``.env`` file, found by `helpers.env_files.find_env_file` (from the working
   directory up to the project root, never above) and read with python-dotenv's
   ``dotenv_values``: it is *not* loaded into ``os.environ``, so ``!`` commands and child
   processes do not inherit the key;
3. the OS keyring through the ``keyring`` library (macOS Keychain, Windows Credential Locker,
   Secret Service on Linux), under the service name `KEYRING_SERVICE` (``llm-key-tutorial``)
   with the variable name as user name: ``keyring set llm-key-tutorial OPENAI_API_KEY`` in a
   terminal stores one;
4. Google Colab's secrets (``google.colab.userdata.get``), only in Colab (``COLAB_RELEASE_TAG``
   is set there);
5. Kaggle's secrets (``kaggle_secrets.UserSecretsClient().get_secret``), only on Kaggle
   (``KAGGLE_KERNEL_RUN_TYPE`` is set there);
6. a masked ``getpass`` prompt, only when ``prompt=True`` and someone can answer: a Jupyter
   kernel whose front end accepts input (JupyterLab does; nbval, nbconvert and papermill do not)
   or a terminal. Never ``input()``, which echoes the key into the notebook.

Every value is checked with `helpers.key_hygiene` before it is used: a typed value with a
copy-paste mistake (stray spaces, quotes, a placeholder, another provider's key) is refused with
the reason; a stored value that cannot be a key (a placeholder left from ``.env.example``, say)
is skipped, and the reason is logged. With ``remember=True`` a typed key is stored in the
keyring, so the next session does not ask.

When no source has the key, `KeyNotFoundError` names the variable and every source tried, with
what each said. No message, log record or exception chain of this module holds a key.

The Colab and Kaggle paths are tested against stand-in modules (tests/test_notebook_keys.py),
not on those platforms. They follow the public sources: googlecolab/colabtools
``google/colab/userdata.py`` (``get(key)``; ``SecretNotFoundError`` when no secret has that
name, ``NotebookAccessError`` when the notebook was not granted access) and Kaggle/docker-python
``patches/kaggle_secrets.py`` (``UserSecretsClient()`` raises ``CredentialError`` without a
token; ``get_secret(label)`` raises ``BackendError`` for an unknown label and ``ConnectionError``
when the notebook's internet is off).

Needs: ``env_files.py`` (the bounded ``.env`` search), ``key_hygiene.py`` (the copy-paste check, and
through it ``key_formats.py``);
python-dotenv; keyring (optional: without it the keyring source is skipped).
"""

from __future__ import annotations

import getpass
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from dotenv import dotenv_values

from .env_files import EnvFileError, find_env_file
from .key_hygiene import diagnose_key, is_malformed

__all__ = [
    "ColabAccessError", "forget_key", "get_key", "InvalidKeyNameError", "KEYRING_INSTALL", "KEYRING_SERVICE",
    "KeyNotFoundError", "KeyRejectedError", "NotebookKeyError",
]

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "llm-key-tutorial"
KEYRING_INSTALL = "pip install keyring==25.7.0"
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COLAB_MARKER = "COLAB_RELEASE_TAG"
KAGGLE_MARKER = "KAGGLE_KERNEL_RUN_TYPE"
COLAB_CLICKS = ("in Colab, click the key icon in the left sidebar, 'Add new secret', name it {name}, "
                "paste the key as its value and switch 'Notebook access' on")
KAGGLE_CLICKS = ("on Kaggle, open Add-ons > Secrets in the notebook editor, add a secret labelled "
                 "{name} and tick its 'Attach' box")
# The provider a variable is for, by its first word: a typed Anthropic key in OPENAI_API_KEY is refused.
_PROVIDER_BY_PREFIX = {"OPENAI": "openai", "ANTHROPIC": "anthropic", "DEEPSEEK": "deepseek",
                       "DASHSCOPE": "dashscope", "GROQ": "groq", "XAI": "xai",
                       "OPENROUTER": "openrouter", "GEMINI": "google", "GOOGLE": "google"}


class NotebookKeyError(Exception):
    """A key could not be had: `name` is the variable asked for. Never holds a value."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class KeyNotFoundError(NotebookKeyError):
    """No source had the key; `tried` holds (source, what it said) for each, in order."""

    def __init__(self, name: str, tried: tuple[tuple[str, str], ...]) -> None:
        lines = "\n".join(f"  - {source}: {note}" for source, note in tried)
        super().__init__(
            f"{name} was not found. Sources tried, in order:\n{lines}\nSet {name} in your .env "
            f"file or the environment, store it with `keyring set {KEYRING_SERVICE} {name}`, or run "
            "this in JupyterLab with prompt=True to type it.", name)
        self.tried = tried


class KeyRejectedError(NotebookKeyError):
    """The typed value has a copy-paste mistake; `findings` say which (never quoting it)."""

    def __init__(self, name: str, findings: list[str]) -> None:
        super().__init__(f"the value typed for {name} was not used: {'; '.join(findings)}. Run the "
                         "cell again and paste the key alone.", name)
        self.findings = tuple(findings)


class InvalidKeyNameError(NotebookKeyError):
    """The name asked for is not a variable name (empty, spaces, a value pasted instead of a name)."""


class ColabAccessError(NotebookKeyError):
    """Colab has a secret of that name, but this notebook was not granted access to it."""


@dataclass(frozen=True)
class _Answer:
    """What one source said: the value, or `note`, why it has none."""

    value: str | None
    note: str


_Source = tuple[str, Callable[[str], _Answer]]


def get_key(name: str, *, prompt: bool = True, remember: bool = False) -> str:
    """The key called `name` (e.g. ``"OPENAI_API_KEY"``) from the first source that has it.

    prompt:   ask with a masked ``getpass`` prompt when no stored source has it (only in an
              interactive kernel or a terminal; headless runs never block).
    remember: store a *typed* key in the OS keyring under `KEYRING_SERVICE`, so the next session
              finds it there. A keyring that refuses is logged as a warning, and the key is
              still returned.
    Raises `KeyNotFoundError`, `KeyRejectedError` (typed value refused), `ColabAccessError` or
    `InvalidKeyNameError`;
    ``ImportError`` when ``remember=True`` and the keyring library is not installed.
    """
    if not _VARIABLE_NAME.fullmatch(name):
        # Not quoted: a key pasted where its name belongs is a mistake this error must not repeat.
        raise InvalidKeyNameError("the name given to get_key is not a variable name: use letters, "
                                  "digits and '_', not starting with a digit (e.g. 'OPENAI_API_KEY')", "")
    if remember and _keyring() is None:
        raise ImportError(f"remember=True stores {name} in the OS keyring, which needs the keyring "
                          f"library: {KEYRING_INSTALL}")
    tried: list[tuple[str, str]] = []
    for source, look_up in _stored_sources():
        answer = look_up(name)
        if answer.value is not None:
            logger.info("%s: found in the %s", name, source)
            return answer.value
        tried.append((source, answer.note))
    typed = _prompt(name) if prompt else _Answer(None, "off (prompt=False)")
    if typed.value is None:
        tried.append(("getpass prompt", typed.note))
        raise KeyNotFoundError(name, tuple(tried))
    findings = diagnose_key(typed.value, expected_provider=_provider_of(name))
    if findings:
        raise KeyRejectedError(name, findings)
    logger.info("%s: typed at the prompt", name)
    if remember:
        _remember(name, typed.value)
    return typed.value


def forget_key(name: str) -> bool:
    """Delete `name` from the OS keyring; True if an entry was deleted, False if there was none."""
    keyring = _keyring()
    if keyring is None:
        raise ImportError(f"forget_key needs the keyring library: {KEYRING_INSTALL}")
    try:
        keyring.delete_password(KEYRING_SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False
    logger.info("%s: deleted from the OS keyring (service %r)", name, KEYRING_SERVICE)
    return True


def _stored_sources() -> tuple[_Source, ...]:
    return (("environment", _from_environment), ("project .env", _from_env_file),
            (f"OS keyring (service {KEYRING_SERVICE!r})", _from_keyring),
            ("Colab secrets", _from_colab), ("Kaggle secrets", _from_kaggle))


def _usable(value: str, where: str) -> _Answer:
    """A stored value, unless it cannot be a key (empty, a placeholder left from a template...)."""
    if is_malformed(value):
        reasons = "; ".join(diagnose_key(value))
        logger.warning("skipped the value %s, it cannot be a key: %s", where, reasons)
        return _Answer(None, f"skipped the value {where}: {reasons}")
    return _Answer(value, "")  # pragma: no mutate (a note is read only when there is no value)


def _from_environment(name: str) -> _Answer:
    value = os.environ.get(name)
    return _Answer(None, "not set") if value is None else _usable(value, "in the environment")


def _from_env_file(name: str) -> _Answer:
    try:
        path = find_env_file()
    except EnvFileError as err:
        return _Answer(None, str(err))
    try:
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as err:
        # The decode error's text quotes the bytes at fault (a piece of the file): name the type only.
        return _Answer(None, f"{path} cannot be read ({type(err).__name__})")
    value = values.get(name)
    if value is None:  # no line, or a bare `NAME` line without '='
        return _Answer(None, f"{path} has no {name}=... line")
    return _usable(value, f"in {path}")


def _keyring() -> ModuleType | None:
    try:
        return importlib.import_module("keyring")
    except ImportError:
        return None


def _from_keyring(name: str) -> _Answer:
    keyring = _keyring()
    if keyring is None:
        return _Answer(None, f"skipped, the keyring library is not installed ({KEYRING_INSTALL})")
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError as err:
        return _Answer(None, f"unavailable ({type(err).__name__}: {err})")
    except Exception as err:  # a backend's own failure (D-Bus down, a locked file): the source is out
        return _Answer(None, f"unavailable ({type(err).__name__} from {keyring.get_keyring()!r})")
    return _Answer(None, "no entry") if value is None else _usable(value, "in the OS keyring")


def _from_colab(name: str) -> _Answer:
    userdata = _platform_module(COLAB_MARKER, "google.colab.userdata")
    if userdata is None:
        return _Answer(None, "skipped, not running in Colab")
    failure = ""  # pragma: no mutate (every path below sets it before it is read)
    try:
        return _usable(userdata.get(name), "in Colab secrets")
    except userdata.SecretNotFoundError:
        failure = "not found"  # pragma: no mutate (only ever compared with "no access")
    except userdata.NotebookAccessError:
        failure = "no access"
    except Exception as err:  # e.g. a timeout: its text is Colab's, so only its type is told
        return _Answer(None, f"unavailable ({type(err).__name__})")
    if failure == "no access":  # raised outside the except block: nothing of Colab's error rides along
        raise ColabAccessError(f"Colab has a secret {name}, but this notebook may not read it: "
                               + COLAB_CLICKS.format(name=name), name)
    return _Answer(None, "no secret of that name: " + COLAB_CLICKS.format(name=name))


def _from_kaggle(name: str) -> _Answer:
    kaggle_secrets = _platform_module(KAGGLE_MARKER, "kaggle_secrets")
    if kaggle_secrets is None:
        return _Answer(None, "skipped, not running on Kaggle")
    failure = ""  # pragma: no mutate (every path below sets it before it is read)
    try:
        return _usable(kaggle_secrets.UserSecretsClient().get_secret(name), "in Kaggle secrets")
    except kaggle_secrets.CredentialError:
        failure = "the notebook has no access to Kaggle secrets"
    except kaggle_secrets.BackendError:
        failure = "no secret of that label is attached"
    except ConnectionError:
        failure = "Kaggle's secrets service cannot be reached (is the notebook's internet on?)"
    except Exception as err:  # its text is Kaggle's (it may quote the service's answer): type only
        return _Answer(None, f"unavailable ({type(err).__name__})")
    return _Answer(None, f"{failure}: " + KAGGLE_CLICKS.format(name=name))


def _platform_module(marker: str, module: str) -> ModuleType | None:
    """`module`, when the platform's marker variable is set and the module imports."""
    if marker not in os.environ:
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _prompt(name: str) -> _Answer:
    """Ask with getpass, when someone can answer: a kernel's front end, or a terminal."""
    no_input: type[Exception] | None = _kernel_no_input_error()
    if no_input is None and not (sys.stdin is not None and sys.stdin.isatty()):
        return _Answer(None, "no one to ask (not a Jupyter kernel, and stdin is not a terminal)")
    try:
        return _Answer(getpass.getpass(f"{name} (typing is hidden): "), "")
    except Exception as err:
        if no_input is not None and isinstance(err, no_input):
            return _Answer(None, "this front end accepts no input (nbval, nbconvert, papermill, CI)")
        raise


def _kernel_no_input_error() -> type[Exception] | None:
    """IPython's StdinNotImplementedError when running in a Jupyter kernel, else None."""
    if "ipykernel" not in sys.modules:
        return None
    from IPython import get_ipython
    from IPython.core.error import StdinNotImplementedError

    return StdinNotImplementedError if getattr(get_ipython(), "kernel", None) is not None else None


def _provider_of(name: str) -> str | None:
    return _PROVIDER_BY_PREFIX.get(name.split("_", 1)[0].upper())


def _remember(name: str, value: str) -> None:
    keyring = _keyring()
    if keyring is None:  # get_key checks this before prompting
        raise ImportError(f"remember=True needs the keyring library: {KEYRING_INSTALL}")
    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except Exception as err:  # a backend's own failure must not lose the key just typed
        logger.warning("%s was not stored in the OS keyring (%s): it will be asked for again",
                       name, type(err).__name__)
        return
    logger.info("%s: stored in the OS keyring (service %r)", name, KEYRING_SERVICE)
