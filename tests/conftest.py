"""Fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so), the app, a client.

The schema is built once per run through the Alembic migrations, so the migrations themselves are under test.
Every test starts from empty tables: on SQLite each test gets its own copy of the migrated file; on PostgreSQL the
tables are truncated (TRUNCATE, because the ledger's triggers refuse row deletes, by design)."""
import os
import shutil
from datetime import date

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from backend.app import create_app
from backend.clock import Clock
from backend.config import Config
from backend.db import migrate
from backend.models import metadata
from tests import scenario
from tests.support.receivers import Receiver, free_port
from tests.support.served import Served

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory):
    """The migrated database: a template file for SQLite, or the PostgreSQL database in DATABASE_URL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        template = tmp_path_factory.mktemp("db") / "template.db"
        migrate(f"sqlite:///{template}")
        return template
    engine = create_engine(url)
    with engine.begin() as connection:
        # A clean schema each run: whatever an earlier run left behind goes, then migrate from nothing.
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(url)
    return url


@pytest.fixture
def database_url(_migrated, tmp_path):
    if isinstance(_migrated, str):
        yield _migrated
        engine = create_engine(_migrated)
        with engine.begin() as connection:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        copy = tmp_path / "plumb.db"
        shutil.copyfile(_migrated, copy)
        yield f"sqlite:///{copy}"


@pytest.fixture
def app(database_url, tmp_path):
    # Tests talk to receivers on loopback over http; per-client rate limits have tests of their own.
    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    allow_loopback_http=True, rate_limits_enabled=False, instance_dir=str(tmp_path),
                    testing=True)
    application = create_app(config, clock=Clock(fixed_today=TODAY))
    yield application
    application.extensions["plumb"].db.engine.dispose()


@pytest.fixture
def world(app, client):
    """The usual cast (`tests.scenario.World`) with a plan that posts pay runs without approval; a package or module
    that needs another cast defines its own `world`."""
    return scenario.World(app, client, requires_approval=False)


@pytest.fixture
def connection(client, world):
    """The world's payroll connection (its signing secret included)."""
    return scenario.connect_payroll(client, world.sponsor, world.employer_id)


@pytest.fixture
def served(app):
    """The app on a real port, for requests fired in parallel (`tests.support.served`)."""
    server = Served(app)
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app) -> Clock:
    return app.extensions["plumb"].clock


@pytest.fixture
def plumb(app):
    return app.extensions["plumb"]


SCRATCH_SCHEMA = "plumb_scratch"


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the test's own, for migrations to run on: a new SQLite file, or a schema of its own in
    DATABASE_URL's database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{SCRATCH_SCHEMA}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
    admin.dispose()


@pytest.fixture
def receiver(tmp_path):
    """A payroll receiver process on a free port (started by `tests.support.receivers.connected_world`)."""
    r = Receiver(tmp_path, free_port())
    yield r
    r.stop()
