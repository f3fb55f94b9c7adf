"""Liveness and readiness for a process manager or load balancer: `/healthz` answers while the process lives;
`/readyz` answers 200 only when the database answers and its schema is at the newest migration, so a server is
not sent traffic before `plumb db upgrade` ran (or while the database is away). Both are public and carry no data."""
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.db import alembic_config
from backend.web import problems

blp = Blueprint("health", __name__)
_heads: dict[str, frozenset[str]] = {}


def migration_heads(url: str) -> frozenset[str]:
    """The newest revisions of the project's migrations (read once: they change only with a new release)."""
    if url not in _heads:
        _heads[url] = frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    return _heads[url]


@blp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    db = current_app.extensions["plumb"].db
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        current_app.logger.warning("readiness: the database does not answer", exc_info=True)
        return problems.problem(503, "Not ready", "The database does not answer.", "not-ready",
                                headers={"Retry-After": "5"})
    expected = migration_heads(db.url)
    if current != expected:
        # The revisions go to the log, not to a public answer.
        current_app.logger.warning("readiness: the schema is at %s, expected %s", sorted(current), sorted(expected))
        return problems.problem(503, "Not ready", "The database's schema is not at the newest migration: run "
                                "`plumb db upgrade`.", "not-ready", headers={"Retry-After": "5"})
    return jsonify(status="ready")
