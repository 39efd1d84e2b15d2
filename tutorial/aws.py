"""AWS for the notebooks: moto's in-process Secrets Manager, so no cell ever reaches a real account.

`start_aws_mock` starts moto once per kernel and never stops it: a cell run again after the
notebook's clean-up still talks to moto, not to AWS with whatever credentials the machine has.
Calling it again (running the set-up cell again) empties the mock instead, for a fresh start.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from moto import mock_aws
from moto.core.models import MockAWS

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["reset_secret", "start_aws_mock"]

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
