"""AWS for the notebooks: moto's in-process Secrets Manager, so no cell ever reaches a real account.

`start_aws_mock` starts moto once per kernel and never stops it: a cell run again after the
notebook's clean-up still talks to moto, not to AWS with whatever credentials the machine has.
Calling it again (running the set-up cell again) empties the mock instead, for a fresh start.

`count_api_calls` and `cut_network` stage notebook 04's demonstrations: how many calls a way of
reading a secret makes, and what a store does when AWS cannot be reached.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.core.models import MockAWS

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["count_api_calls", "cut_network", "reset_secret", "start_aws_mock"]

_MOCK: list[MockAWS] = []  # the kernel's one mock, once started


def start_aws_mock() -> MockAWS:
    """moto's AWS for this kernel: started on the first call, emptied on every later one."""
    if _MOCK:
        _MOCK[0].reset()
    else:
        _MOCK.append(mock_aws())
        _MOCK[0].start()
    return _MOCK[0]


def reset_secret(client: SecretsManagerClient, secret_id: str) -> None:
    """Delete `secret_id` if it exists, so a cell that creates it can run again."""
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)


def count_api_calls(region: str) -> Counter[str]:
    """Give boto3 a fresh default session in `region`, and count the Secrets Manager API calls of every
    client made from it from now on (``boto3.client(...)``), by operation name (``"GetSecretValue"``)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls.update([model.name])

    session = boto3.Session(region_name=region)
    session.events.register("before-call.secrets-manager", count)
    boto3.DEFAULT_SESSION = session  # what boto3.setup_default_session does
    return calls


def cut_network(client: SecretsManagerClient) -> None:
    """Make every later ``GetSecretValue`` of `client` fail as an unreachable AWS does, with botocore's
    ``EndpointConnectionError``, before anything is sent. Other clients are not affected."""
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=client.meta.endpoint_url)

    client.meta.events.register_first("before-send.secrets-manager.GetSecretValue", unreachable)
