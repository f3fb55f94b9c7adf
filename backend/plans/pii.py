"""Encryption at rest for personal data (SSN, date of birth): Fernet with the key from the environment."""
import hashlib
import hmac
from datetime import date

from cryptography.fernet import Fernet


class PiiVault:
    # Years of birth opened, at most this many kept (some 50 MB), by sealed date of birth: see birth_year.
    MAX_BIRTH_YEARS = 200_000

    def __init__(self, key: str):
        raw = key.encode() if isinstance(key, str) else key
        self._fernet = Fernet(raw)
        self._mac_key = hashlib.sha256(b"plumb-fingerprint:" + raw).digest()
        self._birth_years: dict[bytes, int] = {}

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

    def birth_year(self, sealed_date_of_birth: bytes) -> int:
        """The year of a sealed date of birth: all that ages (catch-up, HCE look-backs) need. Opening 10,000 dates
        on every compliance recompute cost more than the tests themselves, so each year is opened once and kept
        in this process's memory only, never written anywhere (the dates stay sealed at rest), and never the day
        or month. Keyed by the sealed bytes, so a corrected date (sealed anew) is opened afresh."""
        key = bytes(sealed_date_of_birth)
        year = self._birth_years.get(key)
        if year is None:
            if len(self._birth_years) >= self.MAX_BIRTH_YEARS:
                self._birth_years.clear()
            year = self._birth_years[key] = self.open_date(key).year
        return year
