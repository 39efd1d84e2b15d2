"""Notebook 04's exercise: ``make_store(mount_dir, clock)``, a store that reads mounted files first,
then one Secrets Manager secret cached for 60 seconds on the given clock, then the environment.

The check calls the learner's function with folders, clocks and values of its own, inside its own
moto mock (nested in the notebook's when that one runs, fresh otherwise), so it never reaches real
AWS, even after the notebook's clean-up cell stopped the notebook's mock. It probes the order of
the three sources with a name in two of them, a file changed on disk, a rotation at 59 and 60
seconds, an environment variable changed after the store was made, a second store on another
folder, and a name that no source has. A value it does not expect is described, never shown: the
problems carry no key.

Needs: exercises/__init__.py, clock.py, helpers/secret_store.py, helpers/key_formats.py,
helpers/redaction.py; boto3, moto.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, cast
from unittest import mock

import boto3
from moto import mock_aws

from helpers.key_formats import fake_key
from helpers.redaction import redact
from helpers.secret_store import SecretNotFoundError, SecretStore
from tutorial.clock import FakeClock
from tutorial.exercises import Exercise, describe_error, process_put_back

if TYPE_CHECKING:  # the boto3 stubs (types-boto3[secretsmanager]), for type checking only
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["EXERCISE_SECRET_ID", "REGION", "SOLUTION", "exercise", "store_problems"]

EXERCISE_SECRET_ID = "prod/exercise"
REGION = "us-east-1"
TTL = 60

SOLUTION = '''def make_store(mount_dir: Path, clock) -> ChainStore:
    client = boto3.client("secretsmanager")
    aws = AWSSecretsManagerStore(EXERCISE_SECRET_ID, client=client, ttl=60, clock=clock)
    return ChainStore(FileStore(mount_dir), aws, EnvStore())'''

HINT = ("Build one store per source and chain them, first match wins: `ChainStore(FileStore(...), "
        "AWSSecretsManagerStore(...), EnvStore())`. The AWS store takes the secret's id, a boto3 "
        "`secretsmanager` client, `ttl=` and `clock=`: use the folder and the clock you are given.")

FILE_KEY, OTHER_FILE_KEY, ROTATED_FILE_KEY = (fake_key("openai-project", seed) for seed in (61, 62, 63))
AWS_OPENAI_KEY = fake_key("openai-project", 64)
AWS_ANTHROPIC_KEY, ROTATED_ANTHROPIC_KEY, ENV_ANTHROPIC_KEY = (
    fake_key("anthropic", seed) for seed in (61, 62, 63))
SECRET = {"openai_api_key": AWS_OPENAI_KEY, "anthropic_api_key": AWS_ANTHROPIC_KEY,
          "nb04_shared_setting": "from Secrets Manager"}
ENVIRONMENT = {"NB04_ONLY_IN_ENV": "from the environment", "NB04_SHARED_SETTING": "from the environment",
               "ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY, "AWS_DEFAULT_REGION": REGION}
_MOVED = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "NB04_NOWHERE")

_NOWHERE_RULE = "a name no source has should raise SecretNotFoundError"
_ON_YOUR_CLOCK = f"(ttl={TTL}, on the clock you are given)"


def store_problems(make_store: object) -> list[str]:
    """What the store made by `make_store` gets wrong (empty when nothing)."""
    if not callable(make_store):
        return [f"make_store should be a function, not a {type(make_store).__name__}"]
    changed: list[str] = []  # what make_store left changed (secrets exported to os.environ, say)
    with _sandbox() as (sm, folders):
        first_clock = FakeClock()
        with process_put_back(changed):
            store = make_store(folders[0], first_clock)
        if not callable(getattr(store, "get", None)):
            return [f"make_store returned {type(store).__name__}; it should return a store with .get(name), "
                    "such as a ChainStore"]
        problems = _order_problems(cast(SecretStore, store))
        problems += _rotation_problems(cast(SecretStore, store), sm, first_clock, folders[0])
        with process_put_back(changed):
            other = make_store(folders[1], FakeClock())
        problems += _expect(cast(SecretStore, other), "openai_api_key", OTHER_FILE_KEY,
                            "a store made on another folder must read that folder (the one it is given)")
        return problems + list(dict.fromkeys(changed))


def _order_problems(store: SecretStore) -> list[str]:
    problems = _expect(store, "openai_api_key", FILE_KEY, "a mounted file must win over Secrets Manager")
    problems += _expect(store, "anthropic_api_key", AWS_ANTHROPIC_KEY,
                        "with no file of that name, Secrets Manager must win over the environment")
    problems += _expect(store, "nb04_shared_setting", "from Secrets Manager",
                        "Secrets Manager must win over the environment")
    problems += _expect(store, "nb04_only_in_env", "from the environment",
                        "a name found in neither the files nor Secrets Manager comes from the environment")
    try:
        value = store.get("nb04_nowhere")
    except SecretNotFoundError:
        return problems
    except Exception as error:  # noqa: BLE001 - reported as a problem
        return [*problems, f"{_NOWHERE_RULE}, not {describe_error(error)}"]
    return [*problems, f"{_NOWHERE_RULE}; it gave {_shown(value)}"]


def _rotation_problems(store: SecretStore, sm: SecretsManagerClient, clock: FakeClock,
                       folder: Path) -> list[str]:
    (folder / "openai_api_key").write_text(ROTATED_FILE_KEY + "\n")
    problems = _expect(store, "openai_api_key", ROTATED_FILE_KEY,
                       "a mounted file updated on disk must be read again at once")
    rotated = {**SECRET, "anthropic_api_key": ROTATED_ANTHROPIC_KEY}
    sm.put_secret_value(SecretId=EXERCISE_SECRET_ID, SecretString=json.dumps(rotated))
    clock.advance(TTL - 1)
    problems += _expect(store, "anthropic_api_key", AWS_ANTHROPIC_KEY,
                        f"{TTL - 1} s after the first read, the cached value must still be served "
                        f"{_ON_YOUR_CLOCK}")
    clock.advance(1)
    problems += _expect(store, "anthropic_api_key", ROTATED_ANTHROPIC_KEY,
                        f"{TTL} s after the first read, the store must read Secrets Manager again "
                        f"{_ON_YOUR_CLOCK}")
    os.environ["NB04_ONLY_IN_ENV"] = "changed in the environment"  # put back by the sandbox
    problems += _expect(store, "nb04_only_in_env", "changed in the environment",
                        "a variable changed after the store was made must be read as it is now "
                        "(read os.environ at each get, not a copy)")
    return problems


def _expect(store: SecretStore, name: str, wanted: str, rule: str) -> list[str]:
    try:
        value = store.get(name)
    except Exception as error:  # noqa: BLE001 - reported as a problem
        return [f"{rule}: get({name!r}) raised {describe_error(error)}"]
    # judged by str itself: an object whose __eq__ always says yes is not the value
    same = isinstance(value, str) and str.__eq__(value, wanted) is True
    return [] if same else [f"{rule}: get({name!r}) gave {_shown(value)}"]


_KNOWN = {FILE_KEY: "the mounted file's old value", OTHER_FILE_KEY: "another folder's file",
          ROTATED_FILE_KEY: "the mounted file's new value", AWS_OPENAI_KEY: "Secrets Manager's value",
          AWS_ANTHROPIC_KEY: "Secrets Manager's old value",
          ROTATED_ANTHROPIC_KEY: "Secrets Manager's new value", ENV_ANTHROPIC_KEY: "the environment's value"}


def _shown(value: object) -> str:
    """A value, described without showing a key: by where it comes from when the check knows it,
    else its repr with every key shape redacted (a whole JSON secret, say)."""
    if isinstance(value, bytes):
        return f"bytes, not a str ({_shown(value.decode(errors='replace'))})"
    if isinstance(value, str) and value in _KNOWN:
        return _KNOWN[value]
    if isinstance(value, str) and value.strip() in _KNOWN:
        return f"{_KNOWN[value.strip()]} with whitespace around it (strip what a file adds)"
    return redact(repr(value))


@contextmanager
def _sandbox() -> Iterator[tuple[SecretsManagerClient, tuple[Path, Path]]]:
    """A moto mock holding the exercise's secret, two mounted folders and a known environment."""
    kept = {name: value for name, value in os.environ.items() if name not in _MOVED}
    with tempfile.TemporaryDirectory(prefix="store-exercise-", ignore_cleanup_errors=True) as folder, \
            mock.patch.dict(os.environ, {**kept, **ENVIRONMENT}, clear=True), mock_aws():
        folders = (Path(folder) / "mounted", Path(folder) / "other-host")
        for mounted, key in zip(folders, (FILE_KEY, OTHER_FILE_KEY), strict=True):
            mounted.mkdir()
            (mounted / "openai_api_key").write_text(key + "\n")
        sm = boto3.client("secretsmanager", region_name=REGION)
        _delete_secret(sm)  # left over from an earlier attempt in the notebook's mock
        sm.create_secret(Name=EXERCISE_SECRET_ID, SecretString=json.dumps(SECRET))
        try:
            yield sm, folders
        finally:
            _delete_secret(sm)


def _delete_secret(sm: SecretsManagerClient) -> None:
    with suppress(sm.exceptions.ResourceNotFoundException):
        sm.delete_secret(SecretId=EXERCISE_SECRET_ID, ForceDeleteWithoutRecovery=True)


exercise = Exercise("make_store", store_problems, HINT, SOLUTION)
