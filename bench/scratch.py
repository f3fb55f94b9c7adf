"""A database of its own for each benchmark run: created next to the one in DATABASE_URL (or a temporary SQLite
file) and dropped afterwards, so benchmarks never touch real data."""
import tempfile
import uuid

from sqlalchemy import create_engine, text


class ScratchDatabase:
    """A database of its own for the run, created and dropped here."""

    def __init__(self, base_url: str | None):
        self.base_url = base_url
        self.tmp = None
        if base_url and base_url.startswith("postgresql"):
            self.name = f"plumb_bench_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = base_url.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.tmp = tempfile.TemporaryDirectory()
            self.url = f"sqlite:///{self.tmp.name}/bench.db"

    def drop(self):
        if self.tmp:
            self.tmp.cleanup()
            return
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
