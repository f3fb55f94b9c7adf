"""The migrations build exactly the schema the models describe, constraint names included (Alembic's compare finds
nothing, and every primary key, foreign key, unique constraint, check and index has the model's name), on SQLite
and PostgreSQL. A database built before the naming convention (`backend.db.NAMING_CONVENTION`) gets every
constraint named by the upgrade, keeps its rows and its ledger triggers, and the downgrade gives the old names back."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from backend.accounts.models import include_object, kept_outside_the_models
from backend.db import alembic_config
from backend.models import metadata

BEFORE_THE_CONVENTION = "0006"  # the last revision written before the naming convention
SQLALCHEMY_DEFAULT_CONVENTION = {"ix": "ix_%(column_0_label)s"}  # what a MetaData() without one names


def schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": include_object,
                                                                   "compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def model_names() -> dict[str, dict[str, set]]:
    """Every table's constraint and index names, as the models (with the naming convention) give them."""
    names = {}
    for table in metadata.sorted_tables:
        kinds = {"pk": {table.primary_key.name}, "fk": set(), "uq": set(), "ck": set(),
                 "ix": {index.name for index in table.indexes}}
        for constraint in table.constraints:
            kind = {"ForeignKeyConstraint": "fk", "UniqueConstraint": "uq", "CheckConstraint": "ck"}.get(
                type(constraint).__name__)
            if kind:
                kinds[kind].add(constraint.name)
        names[table.name] = kinds
    return names


def reflected_names(url: str) -> dict[str, dict[str, set]]:
    """The same, read back from the database."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        names = {}
        for table in inspector.get_table_names():
            if table == "alembic_version" or kept_outside_the_models(table, "table"):
                continue
            names[table] = {
                "pk": {inspector.get_pk_constraint(table)["name"]},
                "fk": {fk["name"] for fk in inspector.get_foreign_keys(table)
                       if not kept_outside_the_models(fk["name"], "foreign_key_constraint")},
                "uq": {uq["name"] for uq in inspector.get_unique_constraints(table)},
                "ck": {ck["name"] for ck in inspector.get_check_constraints(table)},
                # PostgreSQL also lists the index behind each unique constraint; it is the constraint.
                "ix": {ix["name"] for ix in inspector.get_indexes(table) if "duplicates_constraint" not in ix},
            }
        return names
    finally:
        engine.dispose()


def triggers(url: str) -> set[tuple[str, str]]:
    """(table, trigger) for every trigger the migrations made: the ledger's append-only and balance rules."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                rows = connection.execute(text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                    "AND NOT t.tgisinternal"))
            else:
                rows = connection.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
            return set(map(tuple, rows))
    finally:
        engine.dispose()


def assert_exactly_the_models(url: str) -> None:
    assert schema_differences(url) == []
    assert reflected_names(url) == model_names()


def build_as_before_the_convention(url: str, monkeypatch) -> None:
    """Migrate to 0006 as it ran before the convention existed: Alembic applies the models' convention to
    constraints a migration leaves unnamed, so the models' convention is SQLAlchemy's default while it runs."""
    with monkeypatch.context() as patched:
        patched.setattr(metadata, "naming_convention", SQLALCHEMY_DEFAULT_CONVENTION)
        command.upgrade(alembic_config(url), BEFORE_THE_CONVENTION)


def add_rows(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO employers (id, name, ein, address_line1, city, state, postal_code, pay_frequency, "
            "anchor_pay_date, created_at) VALUES ('emp_old', 'Old Bakery', '12-3456789', '1 Main St', 'Provo', "
            "'UT', '84601', 'biweekly', '2026-01-02', '2026-01-01 09:00:00')"))
        connection.execute(text("INSERT INTO login_attempts (id, email, at, succeeded) "
                                "VALUES ('lat_old', 'old@example.com', '2026-01-01 09:00:00', true)"))
    engine.dispose()


def rows(url: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT e.id, e.ein, l.id, l.email FROM employers e, login_attempts l")).all()
    engine.dispose()
    return [tuple(row) for row in found]


def test_the_migrated_schema_is_exactly_what_the_models_describe(database_url):
    assert_exactly_the_models(database_url)


def test_the_models_name_every_constraint_by_the_convention():
    for table, kinds in model_names().items():
        assert kinds["pk"] == {f"pk_{table}"}
        assert all(name.startswith(f"fk_{table}_") for name in kinds["fk"]), kinds["fk"]
        assert all(name.startswith("uq_") for name in kinds["uq"]), kinds["uq"]
        assert all(name.startswith("ix_") for name in kinds["ix"]), kinds["ix"]
        assert all(len(name) <= 63 for names in kinds.values() for name in names)  # PostgreSQL's limit


def test_a_database_built_before_the_naming_convention_has_every_constraint_named_by_the_upgrade(
        scratch_url, monkeypatch):
    build_as_before_the_convention(scratch_url, monkeypatch)
    add_rows(scratch_url)
    old_names, old_triggers, old_rows = reflected_names(scratch_url), triggers(scratch_url), rows(scratch_url)
    # The database's own defaults: `<table>_pkey` on PostgreSQL, no name at all on SQLite.
    assert old_names["ledger_entries"]["pk"] in ({"ledger_entries_pkey"}, {None})
    assert old_names != model_names()

    command.upgrade(alembic_config(scratch_url), "head")

    assert_exactly_the_models(scratch_url)
    assert rows(scratch_url) == old_rows
    assert triggers(scratch_url) >= old_triggers  # SQLite rebuilt the ledger tables: their triggers were made again

    command.downgrade(alembic_config(scratch_url), BEFORE_THE_CONVENTION)

    assert reflected_names(scratch_url) == old_names
    assert triggers(scratch_url) == old_triggers
    assert rows(scratch_url) == old_rows

    command.upgrade(alembic_config(scratch_url), "head")

    assert_exactly_the_models(scratch_url)
    assert rows(scratch_url) == old_rows


def test_a_database_built_with_the_convention_downgrades_and_upgrades_again(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    assert_exactly_the_models(scratch_url)
    head_triggers = triggers(scratch_url)

    command.downgrade(alembic_config(scratch_url), BEFORE_THE_CONVENTION)
    names = reflected_names(scratch_url)
    assert names["ledger_entries"]["pk"] in ({"ledger_entries_pkey"}, {None})
    assert names["ledger_entries"]["uq"] in ({"ledger_entries_idempotency_key_key"}, {None})

    command.upgrade(alembic_config(scratch_url), "head")
    assert_exactly_the_models(scratch_url)
    assert triggers(scratch_url) == head_triggers
