"""Secrets at rest: a MultiFernet cipher over `TOKEN_ENCRYPTION_KEYS` (newest key first).

New values are encrypted with the newest key; any listed key decrypts, so keys can be rotated
without downtime: add a key in front, run `rotate-keys`, then drop the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A stored secret can't be decrypted with any configured key."""


class Cipher:
    """Encrypts and decrypts short secrets (tokens, API secrets) as URL-safe text."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored secret does not decrypt with any configured key") from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored secret does not decrypt with any configured key") from None

    def is_current(self, ciphertext: str) -> bool:
        """True when the newest key alone decrypts the value."""
        try:
            self._fernets[0].decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
