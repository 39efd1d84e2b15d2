"""Read secrets through one small interface, whether they live in the environment, in mounted files
or in AWS Secrets Manager.

Every store answers ``get(name) -> str``; code that needs a key does not care where it lives::

    store = ChainStore(FileStore("/run/secrets"), AWSSecretsManagerStore("prod/llm-app"), EnvStore())
    client = openai.OpenAI(api_key=api_key_from(store, "openai_api_key"))   # resolved per request
    call_with_key_refresh(store, "openai_api_key", client.models.list)      # survives a rotation

`AWSSecretsManagerStore` lives in ``aws_secret_store.py`` (it needs boto3) and is importable from
here too. Every error derives from `SecretStoreError` and names the store, the secret and the field,
never a value: not in its message, and not on its exception chain. A value holding a character no
secret is meant to hold (a NUL, a zero-width space, a byte-order mark left inside, a typographic
quote) is refused with `SecretFormatError`, never returned.

Needs: nothing for `EnvStore`, `FileStore` and `ChainStore`; ``aws_secret_store.py`` and boto3
(``pip install boto3``) for `AWSSecretsManagerStore`.
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
import stat
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from .aws_secret_store import ACCESS_CODES, DEFAULT_CLIENT_CONFIG, TRANSIENT_CODES, AWSSecretsManagerStore

__all__ = [
    "ACCESS_CODES", "api_key_from", "AWSSecretsManagerStore", "call_with_key_refresh", "ChainStore",
    "check_secret_name", "DEFAULT_CLIENT_CONFIG", "EnvStore", "FileStore", "RefreshableStore",
    "refuse_unwanted_characters", "SecretAccessDeniedError", "SecretFormatError", "SecretNotFoundError",
    "SecretStore", "SecretStoreError", "SecretStoreUnavailableError", "TRANSIENT_CODES",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_AWS_NAMES = frozenset({"AWSSecretsManagerStore", "ACCESS_CODES", "DEFAULT_CLIENT_CONFIG", "TRANSIENT_CODES"})
# Byte-order marks, longest first: a UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_TYPOGRAPHIC_QUOTES = frozenset("\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a\u00ab\u00bb")
_MAX_FILE_BYTES = 1024 * 1024  # a Kubernetes Secret holds at most 1 MiB; Docker's secrets less
# Control and format characters (NUL, zero-width spaces, BOM, bidi marks), line and paragraph separators
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class SecretStoreError(Exception):
    """Base class: something went wrong reading a secret (the message never holds its value)."""


class SecretNotFoundError(SecretStoreError, LookupError):
    """The store does not have this name, or the name cannot be one (a `ChainStore` asks the next store)."""


class SecretFormatError(SecretStoreError):
    """The secret exists but is not what we expect: not JSON, not an object, binary, not text, or
    holding an invisible or typographic character."""


class SecretAccessDeniedError(SecretStoreError):
    """Reading was refused: a secret file we may not read; at AWS, missing credentials, an IAM or KMS
    policy that does not allow reading the secret."""


class SecretStoreUnavailableError(SecretStoreError):
    """AWS could not answer (unreachable, hanging, or still throttling after our retries) and nothing
    usable is cached. `reason` says why, in a few words."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: AWS Secrets Manager could not be read ({reason})")
        self.reason = reason


@runtime_checkable
class SecretStore(Protocol):
    """Anything that can look a secret up by name."""

    def get(self, name: str) -> str: ...


@runtime_checkable
class RefreshableStore(SecretStore, Protocol):
    """A store that can be told to re-read its source now (every store in this module is one)."""

    def refresh(self) -> None: ...


def check_secret_name(name: str, where: str) -> None:
    """Raise `SecretNotFoundError` if `name` cannot name a secret: empty, or holding a control
    character such as NUL (which no environment variable, file name or JSON field of ours has)."""
    if not name or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise SecretNotFoundError(f"{where}: {name!r} is not a valid secret name")


def refuse_unwanted_characters(value: str, what: str) -> None:
    """Raise `SecretFormatError` if `value` holds a character no secret is meant to hold.

    Refused: control characters other than tab and line breaks (NUL first of all), invisible
    format characters (zero-width spaces and joiners, a byte-order mark, bidi marks), Unicode
    line separators, spaces other than the plain one (no-break space), typographic quotes. Letters
    of any script and several lines (a PEM certificate) are fine: a secret is not always an API key.
    The message names the character, never where it stands (that would tell the value's length).
    """
    for ch in value:
        category = unicodedata.category(ch)
        if ch in "\t\n\r":  # pragma: no mutate (mutmut's "XX...XX" adds a letter: allowed anyway)
            continue
        if (category in _INVISIBLE_CATEGORIES or ch in _TYPOGRAPHIC_QUOTES
                or (category == "Zs" and ch != " ")):
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            raise SecretFormatError(f"{what} holds an invisible or typographic character ({name}): "
                                    "copy the secret again as plain text (and save files as UTF-8)")


class EnvStore:
    """Secrets from environment variables: ``get("openai_api_key")`` reads ``OPENAI_API_KEY``.

    `environ` defaults to ``os.environ``, read at each ``get``. A process's environment is copied in
    when it starts: a rotated secret reaches it only through a restart. Empty values count as missing.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, prefix: str = "") -> None:
        self._environ = os.environ if environ is None else environ
        self.prefix = prefix

    def get(self, name: str) -> str:
        check_secret_name(name, repr(self))
        variable = f"{self.prefix}{name}".upper()
        value = self._environ.get(variable, "").strip()
        if not value:
            raise SecretNotFoundError(f"{self!r}: environment variable {variable} is not set or empty")
        refuse_unwanted_characters(value, f"{self!r}: environment variable {variable}")
        return value

    def refresh(self) -> None:
        """Nothing to do: the environment cannot change from outside the process."""

    def __repr__(self) -> str:
        return f"EnvStore(prefix={self.prefix!r})"


class FileStore:
    """Secrets mounted as files, one per name: Docker's ``/run/secrets``, a Kubernetes secret volume.

    Each ``get`` reads the file again, so a secret that Kubernetes updates in place (it swaps the
    ``..data`` symlink atomically) is picked up with no restart. Surrounding whitespace is stripped.
    Files are UTF-8; a file starting with a byte-order mark is decoded as the mark says (Windows
    PowerShell 5's ``>`` writes UTF-16), and the mark is not part of the value.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def get(self, name: str) -> str:
        check_secret_name(name, repr(self))
        if name.startswith(".") or "/" in name or "\\" in name:
            raise SecretNotFoundError(f"{self!r}: {name!r} is not a valid secret file name")
        data = self._read(name)
        text = _decoded(data)
        if text is None:  # raised here, not in an except block: a decode error holds the bytes
            raise SecretFormatError(f"{self!r}: secret file {name!r} is not text (UTF-8, or UTF-16/32 "
                                    "with a byte-order mark)")
        value = text.strip()
        if not value:
            raise SecretNotFoundError(f"{self!r}: secret file {name!r} is empty")
        refuse_unwanted_characters(value, f"{self!r}: secret file {name!r}")
        return value

    def _read(self, name: str) -> bytes:
        """The bytes of the file `name`; whatever else is there, a `SecretStoreError` at once."""
        where = f"{self!r}: secret file {name!r}"
        try:
            data = _read_regular_file(self.directory / name)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise SecretNotFoundError(f"{self!r}: no secret file named {name!r}") from None
        except PermissionError:
            raise SecretAccessDeniedError(f"{where} cannot be read: permission denied") from None
        except OSError as err:
            if err.errno == errno.ENAMETOOLONG:
                raise SecretNotFoundError(f"{self!r}: no secret file named {name!r}") from None
            raise SecretStoreError(f"{where} cannot be read ({err.strerror})") from None
        if data is None:  # a FIFO would wait for a writer, a device such as /dev/zero never ends
            raise SecretFormatError(f"{where} is not a regular file")
        if len(data) > _MAX_FILE_BYTES:
            raise SecretFormatError(f"{where} is larger than 1 MiB: not a mounted secret")
        return data

    def refresh(self) -> None:
        """Nothing to do: every ``get`` reads the file."""

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"


def _read_regular_file(path: Path) -> bytes | None:
    """Up to 1 MiB and one byte of `path`, or None if it is not a regular file (checked on the open
    file, without blocking on a FIFO). A directory raises IsADirectoryError."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        return file.read(_MAX_FILE_BYTES + 1) if stat.S_ISREG(mode) else None


def _decoded(data: bytes) -> str | None:
    """`data` decoded as its byte-order mark says (none: UTF-8), without the mark; None if it is not
    text in that encoding."""
    # No mutation on the next line: codec names ignore case, "UTF-8" is the same codec as "utf-8".
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")  # pragma: no mutate
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


class ChainStore:
    """Ask several stores in order; the first that has the name wins.

    Only "not found" moves on to the next store. Any other error (access denied, AWS unreachable)
    is raised: falling back silently to, say, a developer's environment in production hides the fault.
    """

    def __init__(self, *stores: SecretStore) -> None:
        if not stores:
            raise ValueError("ChainStore needs at least one store")
        self.stores = stores

    def get(self, name: str) -> str:
        misses = []
        for store in self.stores:
            try:
                return store.get(name)
            except SecretNotFoundError as err:
                misses.append(str(err))
        raise SecretNotFoundError(f"no store has {name!r}: " + "; ".join(misses))

    def refresh(self) -> None:
        for store in self.stores:
            refresh = getattr(store, "refresh", None)
            if callable(refresh):
                refresh()

    def __repr__(self) -> str:
        return f"ChainStore({', '.join(map(repr, self.stores))})"


def api_key_from(store: SecretStore, name: str) -> Callable[[], str]:
    """The callable to give ``openai.OpenAI(api_key=...)``: the SDK calls it before each request,
    so every request uses whatever the store holds now (cached, refreshed after a rotation)."""
    return lambda: store.get(name)


def call_with_key_refresh(store: RefreshableStore, name: str, call: Callable[[], T]) -> T:
    """Run `call`; if it fails with HTTP 401 (the key was rotated underneath us), refresh the store and,
    if that brought a different key, try once more. `call` must read the key from `store` itself, e.g.
    through a client built with `api_key_from`. Any other error, or a second 401, is raised.

    The 401 test is ``err.status_code == 401``: the openai and anthropic SDKs' errors both have it.
    """
    key_before = store.get(name)  # read before the call: the TTL may run out while it is in flight
    try:
        return call()
    except Exception as err:
        if getattr(err, "status_code", None) != 401:
            raise
        refused = err
    # Out of the except block: an error of the store's is not chained to the SDK's 401, whose
    # request (Authorization header included) holds the key.
    store.refresh()
    if store.get(name) == key_before:
        raise refused  # nothing was rotated: the key really is bad
    logger.warning("%r: %r was refused with 401; retrying once with the refreshed key", store, name)
    return call()


def __getattr__(name: str) -> object:
    """``from helpers.secret_store import AWSSecretsManagerStore`` works, and imports boto3 only then."""
    if name in _AWS_NAMES:
        from . import aws_secret_store

        return getattr(aws_secret_store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
