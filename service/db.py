"""Database engine and transactions: one `Database` per app, one transaction per unit of work."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message is one line for people."""


# What a lost or refused connection raises: loops log one line and try again later.
DATABASE_ERRORS = (OperationalError, InterfaceError, DatabaseUnavailable)


class Database:
    """Engines and sessions for one database URL.

    SQLite gets two engines on the same file: writers start with BEGIN IMMEDIATE so that
    concurrent writers queue on the busy timeout instead of failing on a lock upgrade,
    while readers use a deferred BEGIN and run beside them under WAL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        if self.backend == "sqlite":
            ensure_sqlite_folder(url)
            # One writer connection per process: writers queue in the pool, which
            # gevent can switch away from, rather than in SQLite's busy handler,
            # which would block every greenlet of the process while it waits.
            self.engine = create_engine(
                url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=30
            )
            configure_sqlite(self.engine, begin="BEGIN IMMEDIATE")
            self.read_engine = create_engine(url, connect_args={"timeout": 30})
            configure_sqlite(self.read_engine, begin="BEGIN")
        else:
            self.engine = create_engine(
                url, pool_pre_ping=True, pool_size=10, connect_args={"connect_timeout": 5}
            )
            self.read_engine = self.engine
        self._write_bind: Engine | Connection = self.engine
        self._read_bind: Engine | Connection = self.read_engine

    def pinned(self, connection: Connection) -> Database:
        """This database with every session inside `connection`, each as a savepoint.

        Tests roll the connection back afterwards, so each test starts from the same state.
        """
        twin = copy.copy(self)
        twin._write_bind = twin._read_bind = connection
        return twin

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A read-write session whose changes commit together, or not at all."""
        with self._session(self._write_bind) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session for queries; nothing it does is committed."""
        with self._session(self._read_bind) as session:
            try:
                yield session
            finally:
                session.rollback()

    def _session(self, bind: Engine | Connection) -> Session:
        return Session(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)

    def check(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query succeeds."""
        try:
            with self.reading() as session:
                session.connection().execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as error:
            raise DatabaseUnavailable(describe_connection_error(self.url, error)) from None

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def configure_sqlite(engine: Engine, *, begin: str) -> None:
    """WAL, foreign keys and explicit transactions (pysqlite's own handling breaks savepoints)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(f"cannot create folder for {database}: {error}") from None


def describe_connection_error(url: str, error: Exception) -> str:
    """One line naming the database (without its password) and the driver's first complaint."""
    shown = make_url(url).render_as_string(hide_password=True)
    original = getattr(error, "orig", error)
    lines = str(original).strip().splitlines()
    reason = lines[0] if lines else type(original).__name__
    return f"cannot open database {shown}: {reason}"
