"""Engine, sessions, the declarative base, column types shared by every package, and the one transaction helper."""
import secrets
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, String, any_, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def new_id(prefix: str) -> str:
    """Opaque, non-sequential id with a type prefix (emp_…, pln_…): 80 random bits, so ids cannot be guessed."""
    return f"{prefix}_{secrets.token_hex(10)}"


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids like new_id's, from one read of the random source (a pay run needs tens of thousands)."""
    raw = secrets.token_bytes(10 * count).hex()
    return [f"{prefix}_{raw[i * 20:(i + 1) * 20]}" for i in range(count)]


def chunks(items: list, size: int = 5000):
    """`items` in slices of `size`: each under every database's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def any_of(session: Session, column, values: list):
    """`column IN values` for long lists: one array parameter on PostgreSQL (no statement with thousands of
    placeholders to parse and plan), a plain IN elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, value=list(values), type_=ARRAY(column.type)))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An instant, stored as naive UTC and returned timezone-aware, so SQLite and PostgreSQL behave alike."""

    impl = DateTime
    cache_ok = True

    @property
    def python_type(self):
        # TypeDecorator answers `object`; cursor pagination reads this to decode a cursor's instant.
        return datetime

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Dec(TypeDecorator):
    """An exact Decimal: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a binary float)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 12, scale: int = 6):
        super().__init__()
        self.precision, self.scale = precision, scale

    def __repr__(self) -> str:  # so Alembic's autogenerate writes the precision into migrations
        return f"Dec({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # Canonical form (6.000000 → 6, 1E+2 → 100) so both databases hand back identical values.
        return Decimal(format(Decimal(value).normalize(), "f"))


Cents = BigInteger


# Every constraint gets a predictable name, so a migration can drop or alter it by name on both databases (SQLite's
# batch mode rebuilds tables and finds constraints only by name). Index names are SQLAlchemy's default, which every
# existing index already has; a CHECK must be named by hand. Foreign keys leave out the referred table to stay
# within PostgreSQL's 63 characters.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """One engine and its session factory; `transaction()` is how code outside a request writes."""

    def __init__(self, url: str, echo: bool = False, session_info: dict | None = None):
        kwargs = {}
        if url.startswith("sqlite"):
            # The embedded default serves requests and the dispatcher thread from one file.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.url = url
        # hide_parameters: a logged database error shows the statement but never the row it carried (census
        # rows hold names, emails and phones).
        self.engine = create_engine(url, echo=echo, future=True, hide_parameters=True, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # session_info rides on every session: the wiring puts the event bus there (backend/events.py).
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info=dict(session_info or {}))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def transaction(self):
        """A session whose work commits on success and rolls back on any exception."""
        session = self.sessionmaker()
        try:
            with session.begin():
                yield session
        finally:
            session.close()


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MB of page cache (the default is 2 MB): the ledger's balance check reads back the entries a pay run just
    # wrote, and a 10,000-person run's pages would otherwise be read from disk again.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def alembic_config(url: str) -> AlembicConfig:
    """Alembic's configuration for the database at `url`, with the project's migrations."""
    root = Path(__file__).resolve().parent.parent
    config = AlembicConfig(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest Alembic revision (every schema change is a migration)."""
    command.upgrade(alembic_config(url), "head")


def insert_unless_held(session: Session, table, **values):
    """Insert one row unless a unique index already holds one like it: the new row's primary key, or None. Two
    transactions racing to insert both get their answer from the database: one inserts, the other waits for it
    to commit and gets None. Columns left out take their defaults."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return session.execute(insert(table).values(**values).on_conflict_do_nothing()
                           .returning(*table.primary_key.columns)).scalar()


def bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Insert many rows in the session's transaction as fast as the database allows: COPY on PostgreSQL, one
    executemany elsewhere. Values pass through the columns' own bind processing (UTC instants, exact decimals,
    JSON), so both paths store the same thing. Columns left out of the rows take their server defaults."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = [c for c in table.columns if c.key in rows[0]]
    values_of = itemgetter(*[c.key for c in columns]) if len(columns) > 1 else lambda row: (row[columns[0].key],)
    # Only the columns that need it pay for bind processing (a pay run's ledger lines: two of six).
    processed = [(i, p) for i, p in enumerate(c.type._cached_bind_processor(dialect) for c in columns) if p]
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = connection.connection.driver_connection.cursor()
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        _copy_rows(cursor, statement, rows, values_of, processed)
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's own statements raise it (IntegrityError for a unique violation, …), without the rows.
        raise DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error, hide_parameters=True,
                                  dialect=dialect) from None


def _copy_rows(cursor, statement: str, rows: list[dict], values_of, processed) -> None:
    with cursor.copy(statement) as copy:
        write_row = copy.write_row
        if not processed:
            for row in rows:
                write_row(values_of(row))
            return
        for row in rows:
            values = list(values_of(row))
            for i, process in processed:
                values[i] = process(values[i])
            write_row(values)
