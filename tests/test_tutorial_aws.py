"""Tests for the helpers notebook 04 stages its demonstrations with: counting Secrets Manager calls,
cutting one client off the network, and the kubelet's layout of a mounted Secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from helpers.secret_store import FileStore
from tutorial.aws import count_api_calls, cut_network, reset_secret
from tutorial.kubelet import kubelet_publish


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's AWS with fake credentials, and boto3's default session put back afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FAKEACCESSKEYEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "FAKE-secret-access-key-EXAMPLE")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with mock_aws():
        yield


def test_calls_of_clients_made_afterwards_are_counted_by_operation(aws: None) -> None:
    calls = count_api_calls("eu-west-1")
    client = boto3.client("secretsmanager")  # no region given: the session's
    client.create_secret(Name="app", SecretString=json.dumps({"k": "v"}))
    for _ in range(3):
        client.get_secret_value(SecretId="app")
    assert client.meta.region_name == "eu-west-1"
    assert calls == {"CreateSecret": 1, "GetSecretValue": 3}


def test_counting_again_starts_a_new_count_and_the_old_one_stops(aws: None) -> None:
    first = count_api_calls("us-east-1")
    boto3.client("secretsmanager").list_secrets()
    second = count_api_calls("us-east-1")
    boto3.client("secretsmanager").list_secrets()
    assert first == {"ListSecrets": 1}
    assert second == {"ListSecrets": 1}


def test_a_cut_client_cannot_read_while_other_clients_still_can(aws: None) -> None:
    count_api_calls("us-east-1")
    cut, other = boto3.client("secretsmanager"), boto3.client("secretsmanager")
    cut.create_secret(Name="app", SecretString="{}")
    cut_network(cut)
    with pytest.raises(EndpointConnectionError, match="secretsmanager.us-east-1.amazonaws.com"):
        cut.get_secret_value(SecretId="app")
    assert other.get_secret_value(SecretId="app")["SecretString"] == "{}"
    assert cut.describe_secret(SecretId="app")["Name"] == "app"  # only GetSecretValue is cut


def test_reset_secret_lets_a_secret_be_created_again(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    reset_secret(client, "app")  # nothing there yet: no error
    client.create_secret(Name="app", SecretString="1")
    reset_secret(client, "app")
    client.create_secret(Name="app", SecretString="2")
    assert client.get_secret_value(SecretId="app")["SecretString"] == "2"


def test_the_mount_shows_the_published_version_through_the_data_link(tmp_path: Path) -> None:
    mount = tmp_path / "secrets"
    kubelet_publish(mount, 1, {"openai_api_key": "old", "db_password": "one"})
    assert sorted(path.name for path in mount.iterdir()) == [
        "..data", "..v1", "db_password", "openai_api_key"]
    assert (mount / "..data").readlink() == Path("..v1")
    kubelet_publish(mount, 2, {"openai_api_key": "new", "db_password": "two"})
    assert (mount / "..data").readlink() == Path("..v2")
    assert FileStore(mount).get("openai_api_key") == "new"
    assert (mount / "openai_api_key").readlink() == Path("..data/openai_api_key")
    assert not (mount / "..data_tmp").exists()


def test_publishing_a_version_again_is_allowed(tmp_path: Path) -> None:
    mount = tmp_path / "secrets"
    kubelet_publish(mount, 1, {"openai_api_key": "old"})
    kubelet_publish(mount, 1, {"openai_api_key": "old"})
    assert (mount / "openai_api_key").read_text() == "old"
