"""Read secrets through one small interface, whether they live in the environment, in mounted files
or in AWS Secrets Manager.

Every store answers ``get(name) -> str``; code that needs a key does not care where it lives::

    store = ChainStore(FileStore("/run/secrets"), AWSSecretsManagerStore("prod/llm-app"), EnvStore())
    client = openai.OpenAI(api_key=api_key_from(store, "openai_api_key"))   # resolved per request
    call_with_key_refresh(store, "openai_api_key", client.models.list)      # survives a rotation

`AWSSecretsManagerStore` reads a secret holding a JSON object, returns one field per ``get``, and keeps
the whole object for `ttl` seconds, so a thousand requests cost one API call, not a thousand.
``refresh()`` re-reads at once: after a rotation, or when the provider answers 401. When AWS is
unreachable or keeps throttling, a value already cached keeps serving (up to `max_stale` seconds past
its TTL), with a warning naming the secret. Errors name the store, the secret id and the field, never
a value.

Why not ``aws-secretsmanager-caching``'s ``SecretCache`` (1.2.0, ``cache/items.py``): its
``refresh_secret_now()`` sleeps 2.5-5 s on purpose, too slow for the request that just got a 401; its
expiry reads the wall clock at a random point between ttl/2 and ttl, so it cannot be tested without
sleeping; a failed refresh quietly serves the old value with nothing logged; and it reads in two calls
(``DescribeSecret``, then ``GetSecretValue``), so the app needs two IAM permissions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "ACCESS_CODES", "api_key_from", "AWSSecretsManagerStore", "call_with_key_refresh", "ChainStore",
    "EnvStore", "FileStore", "RefreshableStore", "SecretAccessDeniedError", "SecretFormatError",
    "SecretNotFoundError", "SecretStore", "SecretStoreError", "SecretStoreUnavailableError",
    "TRANSIENT_CODES",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Error codes worth retrying (throttling, AWS-side failures), and those that mean "not allowed"
TRANSIENT_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                             "InternalServiceError", "InternalFailure", "ServiceUnavailable"})
ACCESS_CODES = frozenset({"AccessDeniedException", "DecryptionFailure", "UnrecognizedClientException",
                          "InvalidSignatureException", "ExpiredTokenException"})


class SecretStoreError(Exception):
    """Base class: something went wrong reading a secret (the message never holds its value)."""


class SecretNotFoundError(SecretStoreError, LookupError):
    """The store does not have this name (a `ChainStore` then asks the next store)."""


class SecretFormatError(SecretStoreError):
    """The secret exists but is not what we expect: not JSON, not an object, binary, or a field not text."""


class SecretAccessDeniedError(SecretStoreError):
    """AWS refused: missing credentials, an IAM or KMS policy that does not allow reading the secret."""


class SecretStoreUnavailableError(SecretStoreError):
    """AWS could not answer (unreachable, or still throttling after our retries) and nothing usable is
    cached. `reason` says why, in a few words."""

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


class EnvStore:
    """Secrets from environment variables: ``get("openai_api_key")`` reads ``OPENAI_API_KEY``.

    `environ` defaults to ``os.environ``, read at each ``get``. A process's environment is copied in
    when it starts: a rotated secret reaches it only through a restart. Empty values count as missing.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, prefix: str = "") -> None:
        self._environ = os.environ if environ is None else environ
        self.prefix = prefix

    def get(self, name: str) -> str:
        variable = f"{self.prefix}{name}".upper()
        value = self._environ.get(variable, "").strip()
        if not value:
            raise SecretNotFoundError(f"{self!r}: environment variable {variable} is not set or empty")
        return value

    def refresh(self) -> None:
        """Nothing to do: the environment cannot change from outside the process."""

    def __repr__(self) -> str:
        return f"EnvStore(prefix={self.prefix!r})"


class FileStore:
    """Secrets mounted as files, one per name: Docker's ``/run/secrets``, a Kubernetes secret volume.

    Each ``get`` reads the file again, so a secret that Kubernetes updates in place (it swaps the
    ``..data`` symlink atomically) is picked up with no restart. Surrounding whitespace is stripped.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def get(self, name: str) -> str:
        if not name or name.startswith(".") or "/" in name or "\\" in name:
            raise SecretNotFoundError(f"{self!r}: {name!r} is not a valid secret file name")
        path = self.directory / name
        try:
            value = path.read_bytes().decode("utf-8").strip()  # bytes: keep a "\r" inside as it is
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise SecretNotFoundError(f"{self!r}: no secret file named {name!r}") from None
        except UnicodeDecodeError:
            raise SecretFormatError(f"{self!r}: secret file {name!r} is not UTF-8 text") from None
        if not value:
            raise SecretNotFoundError(f"{self!r}: secret file {name!r} is empty")
        return value

    def refresh(self) -> None:
        """Nothing to do: every ``get`` reads the file."""

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"


class AWSSecretsManagerStore:
    """One AWS Secrets Manager secret holding a JSON object; ``get(name)`` returns its field `name`.

    secret_id:    the secret's name or ARN.
    client:       a boto3 ``secretsmanager`` client (default: ``boto3.client("secretsmanager")``).
    ttl:          seconds a fetched secret is served from memory before the next ``get`` re-reads it.
    max_stale:    seconds past `ttl` a cached secret may still be served while AWS is unreachable or
                  throttling (each time with a warning); after that, `SecretStoreUnavailableError`.
    retry_after:  seconds to wait, after such a failure, before the next ``get`` tries AWS again.
    max_attempts, backoff: throttled calls are retried `max_attempts` times in all, waiting
                  ``backoff * 2**n`` seconds in between (on top of botocore's own retries).
    version_stage: the staging label to read; ``"AWSPENDING"`` lets a rotation job test a staged key.
    clock, sleep: injectable for tests (defaults ``time.monotonic`` and ``time.sleep``).
    """

    def __init__(self, secret_id: str, *, client: Any = None, ttl: float = 300.0, max_stale: float = 3600.0,
                 retry_after: float = 30.0, max_attempts: int = 3, backoff: float = 0.5,
                 version_stage: str = "AWSCURRENT", clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if ttl < 0 or max_stale < 0 or max_attempts < 1:
            raise ValueError("ttl and max_stale must be >= 0 and max_attempts >= 1")
        self.secret_id, self.version_stage = secret_id, version_stage
        self.ttl, self.max_stale, self.retry_after = ttl, max_stale, retry_after
        self.max_attempts, self.backoff = max_attempts, backoff
        self._client, self._clock, self._sleep = client, clock, sleep
        self._lock = threading.Lock()
        self._fields: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._next_attempt = 0.0
        self.version_id: str | None = None  # of the cached value, for logs and demos

    def get(self, name: str) -> str:
        with self._lock:
            now = self._clock()
            fields = self._fields
            if fields is None or (now - self._fetched_at >= self.ttl and now >= self._next_attempt):
                fields = self._load(now, name)
        if name not in fields:
            near = [f for f in fields if f.lower() == name.lower()]
            hint = f" (field names are case-sensitive: did you mean {near[0]!r}?)" if near else ""
            raise SecretNotFoundError(f"{self!r}: the secret has no field {name!r}{hint}")
        value = fields[name]
        if not isinstance(value, str):
            kind = type(value).__name__
            raise SecretFormatError(f"{self!r}: field {name!r} is a JSON {kind}, not a string")
        return value

    def refresh(self) -> None:
        """Re-read the secret now (after a rotation, or a 401). If AWS cannot be reached, the cached
        value is kept (within `max_stale`) and a warning is logged."""
        with self._lock:
            self._load(self._clock(), forced=True)

    def _load(self, now: float, field: str | None = None, forced: bool = False) -> dict[str, Any]:
        """Fetch the secret into the cache and return its fields; on a transient failure, return the
        cached fields instead if they are not too old (with a warning)."""
        try:
            response = self._fetch(field)
        except SecretStoreUnavailableError as err:
            age = now - self._fetched_at
            if self._fields is None or age > self.ttl + self.max_stale:
                raise
            self._next_attempt = now + self.retry_after
            logger.warning("%r: %s failed (%s); serving the value cached %.0f s ago",
                           self, "refresh" if forced else "re-reading after the TTL", err.reason, age)
            return self._fields
        self._fields = self._parse(response, field)
        self.version_id = response.get("VersionId")
        self._fetched_at = self._next_attempt = now
        return self._fields

    def _fetch(self, field: str | None) -> dict[str, Any]:
        import botocore.exceptions as aws  # imported here: EnvStore and FileStore work without boto3

        where, attempt = self._where(field), 1
        while True:
            try:
                return self.client.get_secret_value(SecretId=self.secret_id, VersionStage=self.version_stage)
            except aws.ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code in TRANSIENT_CODES and attempt < self.max_attempts:
                    self._sleep(self.backoff * 2 ** (attempt - 1))
                    attempt += 1
                    continue
                raise self._translate(code, attempt, where) from err
            except aws.NoCredentialsError as err:
                raise SecretAccessDeniedError(f"{where}: no AWS credentials found (set a profile, role "
                                              "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)") from err
            except (aws.ConnectionError, aws.HTTPClientError) as err:
                raise SecretStoreUnavailableError(where, f"unreachable: {type(err).__name__}") from err

    def _translate(self, code: str, attempts: int, where: str) -> SecretStoreError:
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(f"{where}: no such secret, or no {self.version_stage} version of it")
        if code in ACCESS_CODES:
            return SecretAccessDeniedError(f"{where}: access denied ({code}); check the IAM policy "
                                           "(secretsmanager:GetSecretValue) and the KMS key policy")
        if code in TRANSIENT_CODES:
            return SecretStoreUnavailableError(where, f"{code} {attempts} times in a row")
        return SecretStoreError(f"{where}: GetSecretValue failed with {code or 'an unknown error'}")

    def _parse(self, response: Mapping[str, Any], field: str | None) -> dict[str, Any]:
        where = self._where(field)
        text = response.get("SecretString")
        if text is None:
            raise SecretFormatError(f"{where}: the secret is binary; store a JSON object as SecretString")
        try:
            fields = json.loads(text)
        except json.JSONDecodeError:
            raise SecretFormatError(f"{where}: the secret is not JSON; store a JSON object of "
                                    'name/value pairs, e.g. {"openai_api_key": "..."}') from None
        if not isinstance(fields, dict):
            raise SecretFormatError(f"{where}: the secret is a JSON {type(fields).__name__}, not an object")
        return fields

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError as err:  # pragma: no cover
                raise ImportError("AWSSecretsManagerStore needs boto3: pip install boto3") from err
            self._client = boto3.client("secretsmanager")
        return self._client

    def _where(self, field: str | None) -> str:
        return f"{self!r}, field {field!r}" if field else repr(self)

    def __repr__(self) -> str:
        return f"AWSSecretsManagerStore({self.secret_id!r})"


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
        store.refresh()
        if store.get(name) == key_before:
            raise  # nothing was rotated: the key really is bad
        logger.warning("%r: %r was refused with 401; retrying once with the refreshed key", store, name)
    return call()
