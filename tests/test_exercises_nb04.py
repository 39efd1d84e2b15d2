"""tutorial.exercises.nb04: the make_store check passes the reference, fails every wrong answer, and
never reaches AWS, with or without the notebook's own moto mock around it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from helpers.key_formats import fake_key
from helpers.secret_store import AWSSecretsManagerStore, ChainStore, EnvStore, FileStore
from tutorial.exercises import NOT_DONE
from tutorial.exercises.nb04 import EXERCISE_SECRET_ID, REGION, SOLUTION, exercise


def define(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "AWSSecretsManagerStore": AWSSecretsManagerStore, "ChainStore": ChainStore, "EnvStore": EnvStore,
        "FileStore": FileStore, "EXERCISE_SECRET_ID": EXERCISE_SECRET_ID, "Path": Path, "boto3": boto3,
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
}


@pytest.mark.parametrize("source, problem", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_gets_a_cross_naming_the_problem_and_no_traceback(
        source: str, problem: str, no_network: None, capsys: pytest.CaptureFixture[str],
        assert_crossed) -> None:
    shown = assert_crossed(exercise, define(source), problem, capsys)
    assert "sk-" not in shown  # keys are described, never shown
