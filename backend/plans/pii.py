"""Encryption at rest for personal data (SSN, date of birth): Fernet with the key from the environment."""
import hashlib
import hmac
from datetime import date

from cryptography.fernet import Fernet


class PiiVault:
    def __init__(self, key: str):
        raw = key.encode() if isinstance(key, str) else key
        self._fernet = Fernet(raw)
        self._mac_key = hashlib.sha256(b"plumb-fingerprint:" + raw).digest()

    def fingerprint(self, text: str) -> str:
        """A keyed digest for change detection: a plain hash of a row with an SSN in it could be brute-forced."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def seal_date(self, value: date) -> bytes:
        return self.seal(value.isoformat())

    def open_date(self, token: bytes) -> date:
        return date.fromisoformat(self.open(token))
