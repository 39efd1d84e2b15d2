"""tutorial.demo_keyring: a real keyring backend in one encrypted file, never picked by keyring itself."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.errors import KeyringError, PasswordDeleteError

from helpers.key_formats import fake_key
from tutorial.demo_keyring import DemoKeyring

KEY = fake_key("openai-project", 3)


def test_values_go_through_the_keyring_api_and_are_encrypted_at_rest(tmp_path: Path) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(DemoKeyring(tmp_path / "keyring.json", "demo-password"))
    try:
        keyring.set_password("llm-key-tutorial", "OPENAI_API_KEY", KEY)
        assert keyring.get_password("llm-key-tutorial", "OPENAI_API_KEY") == KEY
        assert keyring.get_password("llm-key-tutorial", "OTHER") is None
        assert keyring.get_password("another-service", "OPENAI_API_KEY") is None
    finally:
        keyring.set_keyring(before)
    stored = (tmp_path / "keyring.json").read_text()
    assert KEY not in stored and KEY[8:40] not in stored
    assert (tmp_path / "keyring.json").stat().st_mode & 0o777 == 0o600


def test_a_new_session_reads_the_file_with_the_password_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    DemoKeyring(tmp_path / "k.json", "demo-password").set_password("svc", "NAME", KEY)
    assert DemoKeyring(tmp_path / "k.json", "demo-password").get_password("svc", "NAME") == KEY
    with pytest.raises(KeyringError, match="wrong password") as caught:
        DemoKeyring(tmp_path / "k.json", "not-the-password").get_password("svc", "NAME")
    assert caught.value.__context__ is None or KEY not in repr(caught.value.__context__)


def test_deleting_a_missing_entry_raises_the_libraries_error(tmp_path: Path) -> None:
    backend = DemoKeyring(tmp_path / "k.json", "demo-password")
    backend.set_password("svc", "NAME", KEY)
    backend.delete_password("svc", "NAME")
    assert backend.get_password("svc", "NAME") is None
    with pytest.raises(PasswordDeleteError):
        backend.delete_password("svc", "NAME")


def test_the_keyring_library_never_chooses_it_by_itself() -> None:
    assert not DemoKeyring.viable
    assert DemoKeyring not in {type(backend) for backend in keyring.backend.get_all_keyring()}
