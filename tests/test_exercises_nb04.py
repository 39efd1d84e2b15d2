"""tutorial.exercises.nb04: the make_store check passes the reference, fails every wrong answer, and
never reaches AWS, with or without the notebook's own moto mock around it."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from helpers.key_formats import fake_key
from helpers.secret_store import (
    AWSSecretsManagerStore,
    ChainStore,
    EnvStore,
    FileStore,
    SecretNotFoundError,
)
from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb04 import EXERCISE_SECRET_ID, REGION, SOLUTION, exercise


def define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "AWSSecretsManagerStore": AWSSecretsManagerStore, "ChainStore": ChainStore, "EnvStore": EnvStore,
        "FileStore": FileStore, "EXERCISE_SECRET_ID": EXERCISE_SECRET_ID, "Path": Path, "boto3": boto3,
        "os": os, "SecretNotFoundError": SecretNotFoundError,
        "KEY": fake_key("openai-project", 99).replace("FAKE", "REAL")}
    exec(source, namespace)  # noqa: S102 - answers written in this file
    return namespace["make_store"]  # type: ignore[no-any-return]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: real AWS must never be asked."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_reference_solution_passes_without_any_mock_around_it(
        no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(SOLUTION)) is True
    assert capsys.readouterr().out.startswith("✅ ")


def test_inside_the_notebooks_mock_the_check_leaves_its_secrets_and_its_mock_alone(no_network: None) -> None:
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name=REGION)
        sm.create_secret(Name="prod/llm-app", SecretString='{"a": "b"}')
        sm.create_secret(Name=EXERCISE_SECRET_ID, SecretString='{"left": "over"}')  # an earlier attempt
        assert exercise.problems(define(SOLUTION)) == []
        assert sm.get_secret_value(SecretId="prod/llm-app")["SecretString"] == '{"a": "b"}'
        names = [entry["Name"] for entry in sm.list_secrets()["SecretList"]]
        assert EXERCISE_SECRET_ID not in names


def answer(*stores: str, client: str = 'boto3.client("secretsmanager")') -> str:
    return f"""def make_store(mount_dir, clock):
    client = {client}
    return ChainStore({", ".join(stores)})
"""


FILES = "FileStore(mount_dir)"
AWS = "AWSSecretsManagerStore(EXERCISE_SECRET_ID, client=client, ttl=60, clock=clock)"
ENV = "EnvStore()"

WRONG = {
    "stub": ("def make_store(mount_dir, clock):\n    ...", NOT_DONE),
    "environment first": (answer(ENV, AWS, FILES), "Secrets Manager must win over the environment"),
    "AWS before files": (answer(AWS, FILES, ENV), "a mounted file must win over Secrets Manager"),
    "default ttl": (answer(FILES, AWS.replace("ttl=60", "ttl=300"), ENV), "60 s after the first read"),
    "real clock": (answer(FILES, AWS.replace(", clock=clock", ""), ENV), "60 s after the first read"),
    "no cache": (answer(FILES, AWS.replace("ttl=60", "ttl=0"), ENV), "59 s after the first read"),
    "a folder of its own": (answer('FileStore(Path("/tmp/nb04-exercise-mount"))', AWS, ENV),
                            "a mounted file must win"),
    "no environment": (answer(FILES, AWS), "comes from the environment"),
    "the notebook's secret": (answer(FILES, AWS.replace("EXERCISE_SECRET_ID", '"prod/llm-app"'), ENV),
                              "Secrets Manager must win over the environment"),
    "values read once": ('''def make_store(mount_dir, clock):
    return {"openai_api_key": (mount_dir / "openai_api_key").read_text().strip()}''',
                         "a mounted file updated on disk must be read again"),
    "returns a list": ("def make_store(mount_dir, clock):\n    return [FileStore(mount_dir)]",
                       "make_store returned list"),
    "raises with a key": ('def make_store(mount_dir, clock):\n    raise RuntimeError(f"no access for {KEY}")',
                          "raised RuntimeError: no access for [REDACTED"),
    "a cache a minute too long": (answer(FILES, AWS.replace("ttl=60", "ttl=61"), ENV),
                                  "60 s after the first read, the store must read Secrets Manager again"),
    "a cache a second too short": (answer(FILES, AWS.replace("ttl=60", "ttl=59"), ENV),
                                   "59 s after the first read, the cached value must still be served"),
    "the file as it is, newline and all": ('''class Raw:
    def __init__(self, folder, rest):
        self.folder, self.rest = folder, rest
    def get(self, name):
        path = self.folder / name
        return path.read_text() if path.exists() else self.rest.get(name)
def make_store(mount_dir, clock):
    client = boto3.client("secretsmanager")
    return Raw(mount_dir, ChainStore(''' + AWS + ", " + ENV + "))",
                                           "gave the mounted file's old value with whitespace around it"),
    "the whole JSON secret": ('''class Whole:
    def get(self, name):
        return boto3.client("secretsmanager").get_secret_value(SecretId=EXERCISE_SECRET_ID)["SecretString"]
def make_store(mount_dir, clock):
    return Whole()''', 'gave \'{"openai_api_key": "[REDACTED openai-project'),
    "bytes, not text": ('''class Encoded:
    def __init__(self, store):
        self.store = store
    def get(self, name):
        return self.store.get(name).encode()
def make_store(mount_dir, clock):
    client = boto3.client("secretsmanager")
    return Encoded(ChainStore(''' + ", ".join((FILES, AWS, ENV)) + "))", "gave bytes, not a str"),
    "a copy of the environment": (answer(FILES, AWS, "EnvStore(dict(os.environ))"),
                                  "a variable changed after the store was made must be read as it is now"),
    "one store for every call": ('''STORES = []
def make_store(mount_dir, clock):
    client = boto3.client("secretsmanager")
    if not STORES:
        STORES.append(ChainStore(''' + ", ".join((FILES, AWS, ENV)) + '''))
    return STORES[0]''', "a store made on another folder must read that folder"),
    "prints what it read": ('''def make_store(mount_dir, clock):
    client = boto3.client("secretsmanager")
    store = ChainStore(''' + ", ".join((FILES, AWS, ENV)) + ''')
    print("loaded", store.get("openai_api_key"))
    return store''', "your answer printed or logged a key (redacted above)"),
    "moves into the folder": ('''def make_store(mount_dir, clock):
    os.chdir(mount_dir)
    client = boto3.client("secretsmanager")
    return ChainStore(FileStore("."), ''' + AWS + ", " + ENV + ")",
                              "your answer changed the working directory (os.chdir)"),
    "a value equal to anything": ('''class Anything(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
class Agreeable:
    def get(self, name):
        if name == "nb04_nowhere":
            raise SecretNotFoundError(name)
        return Anything("?")
def make_store(mount_dir, clock):
    return Agreeable()''', "a mounted file must win over Secrets Manager: get('openai_api_key') gave '?'"),
    "exports the mounted secrets": ('''def make_store(mount_dir, clock):
    for secret in mount_dir.iterdir():
        os.environ[secret.name.upper()] = secret.read_text().strip()
    client = boto3.client("secretsmanager")
    return ChainStore(''' + ", ".join((FILES, AWS, ENV)) + ")",
                                    "your answer changed os.environ (OPENAI_API_KEY) and left it changed"),
}

RIGHT = {
    "the reference": SOLUTION,
    "the store's own client": answer(FILES, AWS.replace("client=client, ", ""), ENV),
    "a store of its own": '''class MountedFirst:
    def __init__(self, mount_dir, clock):
        self.files, self.env = FileStore(mount_dir), EnvStore()
        self.aws = AWSSecretsManagerStore(EXERCISE_SECRET_ID, ttl=60, clock=clock)
    def get(self, name):
        return ChainStore(self.files, self.aws, self.env).get(name)
def make_store(mount_dir, clock):
    return MountedFirst(mount_dir, clock)''',
}


@pytest.mark.parametrize("source", RIGHT.values(), ids=RIGHT.keys())
def test_a_right_answer_written_differently_passes(
        source: str, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercise.check(define(source)) is True, capsys.readouterr().out


@pytest.mark.parametrize("source, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        source: str, problem: str, no_network: None, capsys: pytest.CaptureFixture[str],
        assert_crossed) -> None:
    shown = assert_crossed(exercise, define(source), problem, capsys)
    assert "sk-" not in shown  # keys are described, never shown
