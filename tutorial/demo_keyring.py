"""A keyring backend in one encrypted file: notebook 07 and its exercise use it in place of your OS
keychain, so their demos never write into yours.

``keyring.set_keyring(DemoKeyring(path, password))`` makes every ``keyring.get_password`` /
``set_password`` / ``delete_password`` call (and so `helpers.notebook_keys.get_key`) use the file.
Each value is encrypted with Fernet (AES-128-CBC with an HMAC, from the ``cryptography`` library)
under a key derived from `password` with scrypt; the file holds no value in clear. The backend
registers as not viable, so the keyring library never picks it by itself: unlike an installed
keyrings.cryptfile, it cannot end up in your default chain and ask you for a password there.

Needs: nothing of helpers/; keyring, cryptography (a dependency of moto and of keyring on Linux).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError

__all__ = ["DemoKeyring"]


class DemoKeyring(KeyringBackend):
    """Entries ``(service, username) -> value`` in the encrypted file `path`."""

    def __init__(self, path: str | os.PathLike[str], password: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = Path(path)
        if not self.path.exists():
            self._write({"salt": base64.b64encode(os.urandom(16)).decode(), "entries": {}})
        self._fernet = Fernet(self._derive(password, base64.b64decode(self._read()["salt"])))

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("DemoKeyring is used only when set with keyring.set_keyring()")

    def get_password(self, service: str, username: str) -> str | None:
        token: str | None = self._read()["entries"].get(_entry(service, username))
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise KeyringError(f"{self.path}: wrong password, or the file was changed") from None

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data["entries"][_entry(service, username)] = self._fernet.encrypt(password.encode()).decode()
        self._write(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        if data["entries"].pop(_entry(service, username), None) is None:
            raise PasswordDeleteError(f"no entry for {username!r} in service {service!r}")
        self._write(data)

    @staticmethod
    def _derive(password: str, salt: bytes) -> bytes:
        derived = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(password.encode())
        return base64.urlsafe_b64encode(derived)

    def _read(self) -> dict[str, Any]:  # {"salt": base64 text, "entries": {entry: token}}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def _write(self, data: object) -> None:
        self.path.write_text(json.dumps(data, indent=1))
        self.path.chmod(0o600)


def _entry(service: str, username: str) -> str:
    return json.dumps([service, username])
