"""Fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so), the app, a client.

Every test starts from empty tables; the schema is built once per run through the Alembic migrations, so the
migrations themselves are under test."""
import os
from datetime import date

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, text

from backend.app import create_app
from backend.clock import Clock
from backend.config import Config
from backend.db import migrate
from backend.models import metadata

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'plumb-test.db'}"
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            # A clean schema each run: drop what an earlier run left behind, then migrate from nothing.
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def _engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(database_url, _engine):
    config = Config(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    pii_key=Fernet.generate_key().decode(), password_time_cost=1, password_memory_kib=8192,
                    testing=True)
    application = create_app(config, clock=Clock(fixed_today=TODAY))
    yield application
    application.extensions["plumb"].db.engine.dispose()
    with _engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app) -> Clock:
    return app.extensions["plumb"].clock


@pytest.fixture
def plumb(app):
    return app.extensions["plumb"]
