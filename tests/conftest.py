"""Fixtures shared by the service and end-to-end tests.

Database tests run once per backend (`--backends sqlite,postgresql`, both by default). Each
backend gets a fresh schema per test session, upgraded with Alembic; each test runs inside
a transaction that is rolled back, with the service's own transactions as savepoints.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import schema
from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A Friday morning in Beijing: the tests' "now" unless a test moves the clock.
TEST_NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("TEST_BACKENDS", "sqlite,postgresql"),
        help="comma-separated database backends for database tests (sqlite, postgresql)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("backends").split(",") if b]
        if metafunc.definition.get_closest_marker("one_backend"):
            backends = backends[:1]
        metafunc.parametrize("backend", backends, scope="session")


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database nobody else uses: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    if backend != "postgresql":
        raise pytest.UsageError(f"unknown backend {backend!r}")
    yield from postgres_schema_url(postgres_server_url())


def postgres_schema_url(server_url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    schema.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def database(migrated_database: Database) -> Iterator[Database]:
    """The test database; everything a test writes is rolled back afterwards."""
    with migrated_database.engine.connect() as connection:
        outer = connection.begin()
        yield migrated_database.pinned(connection)
        outer.rollback()


@pytest.fixture
def fresh_database(
    backend: str, tmp_path: Path
) -> Iterator[Database]:
    """A database of its own, committed for real: for tests of concurrent transactions."""
    if backend == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'fresh.db'}"])
    else:
        urls = postgres_schema_url(postgres_server_url())
    database = Database(next(urls))
    schema.upgrade(database)
    yield database
    database.dispose()
    for _ in urls:  # lets the PostgreSQL generator drop its schema
        pass


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_NOW)


@pytest.fixture
def config(database_url: str) -> Config:
    return Config(database_url=database_url, testing=True, secret_key="test", log_format="text")


@pytest.fixture
def app(config: Config, database: Database, clock: FixedClock) -> Flask:
    return create_app(config, database=database, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
