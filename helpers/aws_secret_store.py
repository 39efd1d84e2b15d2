"""AWS Secrets Manager behind the `SecretStore` interface: one JSON secret, cached, calm under an outage.

`AWSSecretsManagerStore` reads a secret holding a JSON object, returns one field per ``get``, and keeps
the whole object for `ttl` seconds, so a thousand requests cost one API call, not a thousand.
``refresh()`` re-reads at once: after a rotation, or when the provider answers 401.

Under an outage (AWS unreachable, hanging, or throttling): one thread reads AWS, with no lock held,
while every other thread is served the cached value at once; a value keeps serving up to `max_stale`
seconds past its TTL, with a warning naming the secret, and never beyond, not even while the store
waits `retry_after` seconds before trying AWS again. The default client gives up on a hung endpoint
after about ten seconds (`DEFAULT_CLIENT_CONFIG`), not botocore's three minutes.

Secrets stay out of logs: botocore logs every response body at DEBUG (``botocore.parsers``, botocore
1.44 ``parsers.py``: ``LOG.debug('Response body:\\n%r', ...)``), the ``SecretString`` in clear; the
store replaces that body in the records of its own calls. ``on_secret`` hands each value read to a
callback, e.g. ``lambda value: install_redaction(secrets=[value])`` (``helpers.redaction``), so a
field with no known key shape (a database password) is redacted wherever it is logged later.

Why not ``aws-secretsmanager-caching``'s ``SecretCache`` (1.2.0, ``cache/items.py``): its
``refresh_secret_now()`` sleeps 2.5-5 s on purpose, too slow for the request that just got a 401; its
expiry reads the wall clock at a random point between ttl/2 and ttl, so it cannot be tested without
sleeping; a failed refresh quietly serves the old value with nothing logged; and it reads in two calls
(``DescribeSecret``, then ``GetSecretValue``), so the app needs two IAM permissions.

Needs: ``secret_store.py`` (the interface and its errors); boto3 (``pip install boto3``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .secret_store import (
    SecretAccessDeniedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretStoreError,
    SecretStoreUnavailableError,
    check_secret_name,
    refuse_unwanted_characters,
)

try:
    import boto3
    import botocore.exceptions as aws
    from botocore.config import Config
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError("AWSSecretsManagerStore needs boto3: pip install boto3") from missing

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import GetSecretValueResponseTypeDef

__all__ = ["ACCESS_CODES", "AWSSecretsManagerStore", "DEFAULT_CLIENT_CONFIG", "TRANSIENT_CODES"]

logger = logging.getLogger(__name__)

# Error codes worth retrying (throttling, AWS-side failures), and those that mean "not allowed"
TRANSIENT_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                             "InternalServiceError", "InternalFailure", "ServiceUnavailable"})
ACCESS_CODES = frozenset({"AccessDeniedException", "DecryptionFailure", "UnrecognizedClientException",
                          "InvalidSignatureException", "ExpiredTokenException"})
# botocore 1.44's defaults are 60 s to connect, 60 s per read and 3 attempts (retry mode "standard",
# ``retries/standard.py``): up to three minutes on a hung endpoint. A GetSecretValue answers in well
# under a second, so: 2 s to connect, 3 s to read, 2 attempts: about 10 s at worst.
DEFAULT_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3,
                               retries={"mode": "standard", "total_max_attempts": 2})
_HIDDEN_BODY = "Response body: [hidden by helpers.aws_secret_store: a GetSecretValue answer holds the secret]"
Fields = dict[str, object]
_NOT_JSON = object()


class _SecretBodyFilter(logging.Filter):
    """On ``botocore.parsers``: hides the response body of GetSecretValue calls made by a store, in the
    thread that makes them. Other botocore calls log as usual."""

    def __init__(self) -> None:
        super().__init__()
        self._inside = threading.local()

    @contextmanager
    def hiding(self) -> Iterator[None]:
        parsers = logging.getLogger("botocore.parsers")
        if self not in parsers.filters:
            parsers.addFilter(self)
        depth = getattr(self._inside, "depth", 0)
        self._inside.depth = depth + 1
        try:
            yield
        finally:
            self._inside.depth = depth

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._inside, "depth", 0) > 0 and str(record.msg).startswith("Response body"):
            record.msg, record.args = _HIDDEN_BODY, ()
        return True


_BODY_FILTER = _SecretBodyFilter()


class AWSSecretsManagerStore:
    """One AWS Secrets Manager secret holding a JSON object; ``get(name)`` returns its field `name`.

    secret_id:    the secret's name or ARN.
    client:       a boto3 ``secretsmanager`` client (default: one with `DEFAULT_CLIENT_CONFIG`).
    ttl:          seconds a fetched secret is served from memory before the next ``get`` re-reads it.
    max_stale:    seconds past `ttl` a cached secret may still be served while AWS is unreachable or
                  throttling (each failed read logs a warning); after that, `SecretStoreUnavailableError`.
    retry_after:  seconds to wait, after such a failure, before trying AWS again (the stale value
                  serves meanwhile, within `max_stale`; with none usable, every ``get`` tries).
    max_attempts, backoff: throttled calls are retried `max_attempts` times in all, waiting
                  ``backoff * 2**n`` seconds in between (on top of botocore's own retries).
    version_stage: the staging label to read; ``"AWSPENDING"`` lets a rotation job test a staged key.
    on_secret:    called with each text value of the secret after every successful read.
    clock, sleep: injectable for tests (defaults ``time.monotonic`` and ``time.sleep``).
    """

    def __init__(self, secret_id: str, *, client: SecretsManagerClient | None = None, ttl: float = 300.0,
                 max_stale: float = 3600.0, retry_after: float = 30.0, max_attempts: int = 3,
                 backoff: float = 0.5, version_stage: str = "AWSCURRENT",
                 on_secret: Callable[[str], object] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if ttl < 0 or max_stale < 0 or max_attempts < 1:
            raise ValueError("ttl and max_stale must be >= 0 and max_attempts >= 1")
        self.secret_id, self.version_stage = secret_id, version_stage
        self.ttl, self.max_stale, self.retry_after = ttl, max_stale, retry_after
        self.max_attempts, self.backoff, self.on_secret = max_attempts, backoff, on_secret
        self._client, self._clock, self._sleep = client, clock, sleep
        self._lock = threading.Lock()  # guards the fields below; never held across a network call
        self._read_done = threading.Condition(self._lock)
        self._fields: Fields | None = None
        self._reading = False  # one thread at a time reads AWS
        self._reads_finished = 0
        # no mutate: each read sets these before anything reads them, so their first values are never seen
        self._fetched_at = self._next_attempt = 0.0  # pragma: no mutate
        self._outage: str | None = None  # pragma: no mutate - why the last read failed (None: it did not)
        self.version_id: str | None = None  # of the cached value, for logs and demos

    def get(self, name: str) -> str:
        check_secret_name(name, repr(self))
        fields = self._current_fields(name)
        if name not in fields:
            near = [f for f in fields if f.lower() == name.lower()]
            hint = f" (field names are case-sensitive: did you mean {near[0]!r}?)" if near else ""
            raise SecretNotFoundError(f"{self!r}: the secret has no field {name!r}{hint}")
        value = fields[name]
        if not isinstance(value, str):
            kind = type(value).__name__
            raise SecretFormatError(f"{self!r}: field {name!r} is a JSON {kind}, not a string")
        refuse_unwanted_characters(value, f"{self!r}: field {name!r}")
        return value

    def refresh(self) -> None:
        """Re-read the secret now (after a rotation, or a 401), after any read in progress. If AWS
        cannot be reached, the cached value is kept (within `max_stale`) and a warning is logged."""
        with self._lock:
            self._read_done.wait_for(lambda: not self._reading)
            self._reading = True
        self._read(None, doing="refresh")

    def _current_fields(self, field: str) -> Fields:
        """The cached fields if they may be served now; else read AWS, or wait for the thread reading."""
        while True:
            with self._lock:
                now = self._clock()
                usable = self._usable(now)
                if usable is not None and (now - self._fetched_at < self.ttl or self._reading
                                           or now < self._next_attempt):
                    return usable
                if not self._reading:
                    self._reading = True
                    break
                self._wait_for_the_read_in_progress()  # nothing usable to serve meanwhile
                usable = self._usable(self._clock())
                if usable is not None:
                    return usable
                if self._outage is not None:  # that read found AWS down: do not queue up behind it
                    raise SecretStoreUnavailableError(self._where(field), self._outage)
        return self._read(field, doing="re-reading after the TTL")

    def _wait_for_the_read_in_progress(self) -> None:
        """Wait (with the lock held, released while waiting) until the current read has finished."""
        finished = self._reads_finished
        self._read_done.wait_for(lambda: self._reads_finished != finished)

    def _usable(self, now: float) -> Fields | None:
        """The cached fields, unless there are none or they are older than ``ttl + max_stale``."""
        if self._fields is None or now - self._fetched_at > self.ttl + self.max_stale:
            return None
        return self._fields

    def _read(self, field: str | None, *, doing: str) -> Fields:
        """Read AWS with no lock held (this thread set `_reading`), then publish the result. `doing`
        names the read in the warning logged if AWS cannot be reached."""
        started = self._clock()
        try:
            response = self._fetch(field)
            fields = self._parse(response, field)
        except SecretStoreUnavailableError as err:
            with self._lock:
                self._finish(outage=err.reason)
                now = self._clock()
                stale = self._usable(now)
                if stale is None:
                    raise
                self._next_attempt, age = now + self.retry_after, now - self._fetched_at
            logger.warning("%r: %s failed (%s); serving the value cached %.0f s ago", self, doing,
                           err.reason, age)
            return stale
        except BaseException:
            with self._lock:
                self._finish(outage=None)
            raise
        with self._lock:
            self._fields, self.version_id = fields, response.get("VersionId")
            self._fetched_at = self._next_attempt = started
            self._finish(outage=None)
        if self.on_secret is not None:
            for value in fields.values():
                if isinstance(value, str) and value:
                    self.on_secret(value)
        return fields

    def _finish(self, *, outage: str | None) -> None:
        """Mark the read done and wake the threads waiting for it (called with the lock held)."""
        self._reading, self._outage = False, outage
        self._reads_finished += 1
        self._read_done.notify_all()

    def _fetch(self, field: str | None) -> GetSecretValueResponseTypeDef:
        where, attempt = self._where(field), 1
        while True:
            try:
                with _BODY_FILTER.hiding():
                    return self.client.get_secret_value(SecretId=self.secret_id,
                                                        VersionStage=self.version_stage)
            except aws.ClientError as err:
                code = err.response.get("Error", {}).get("Code")
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

    def _translate(self, code: str | None, attempts: int, where: str) -> SecretStoreError:
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(f"{where}: no such secret, or no {self.version_stage} version of it")
        if code in ACCESS_CODES:
            return SecretAccessDeniedError(f"{where}: access denied ({code}); check the IAM policy "
                                           "(secretsmanager:GetSecretValue) and the KMS key policy")
        if code in TRANSIENT_CODES:
            tries = "once" if attempts == 1 else f"{attempts} times in a row"
            return SecretStoreUnavailableError(where, f"{code} {tries}")
        return SecretStoreError(f"{where}: GetSecretValue failed with {code or 'an unknown error'}")

    def _parse(self, response: Mapping[str, object], field: str | None) -> Fields:
        where = self._where(field)
        text = response.get("SecretString")
        if not isinstance(text, str):
            raise SecretFormatError(f"{where}: the secret is binary; store a JSON object as SecretString")
        fields = _json_or_not_json(text)
        # Raised here, not in an except block: a JSONDecodeError's .doc is the whole secret.
        if fields is _NOT_JSON:
            raise SecretFormatError(f"{where}: the secret is not JSON; store a JSON object of "
                                    'name/value pairs, e.g. {"openai_api_key": "..."}')
        if not isinstance(fields, dict):
            raise SecretFormatError(f"{where}: the secret is a JSON {type(fields).__name__}, not an object")
        return {str(name): value for name, value in fields.items()}

    @property
    def client(self) -> SecretsManagerClient:
        if self._client is None:
            self._client = boto3.client("secretsmanager", config=DEFAULT_CLIENT_CONFIG)
        return self._client

    def _where(self, field: str | None) -> str:
        return f"{self!r}, field {field!r}" if field else repr(self)

    def __repr__(self) -> str:
        return f"AWSSecretsManagerStore({self.secret_id!r})"


def _json_or_not_json(text: str) -> object:
    """`text` parsed as JSON, or `_NOT_JSON` if it is not JSON."""
    try:
        parsed: object = json.loads(text)
    except json.JSONDecodeError:
        return _NOT_JSON
    return parsed
