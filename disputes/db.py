"""Database plumbing: URL resolution, engines, cached session factories and programmatic Alembic
migrations that several processes may run at the same time on start-up."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "disputes_alembic_version"
# Arbitrary constant for pg_advisory_lock: "ODR" + migration.
_PG_LOCK_KEY = 0x4F44_5201
WRITE_OPTION = "odr_write"

_factories: dict[str, sessionmaker[Session]] = {}
_factories_lock = threading.Lock()


def database_url() -> str:
    """`ODR_DATABASE_URL`, else the embedded SQLite file under `<repo>/var/`."""
    url = os.environ.get("ODR_DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'odr.sqlite3'}"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to psycopg 3 (the installed driver)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def with_redis_auth(url: str) -> str:
    """A Redis URL with the Redis AUTH password from env ODR_REDIS_PASSWORD, unless the URL names
    a password itself or is not a Redis URL (the password never has to be written into a file)."""
    password = os.environ.get("ODR_REDIS_PASSWORD", "")
    parts = urlsplit(url)
    if not password or parts.scheme not in ("redis", "rediss") or parts.password is not None:
        return url
    user = parts.username or ""
    netloc = f"{user}:{quote(password, safe='')}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine. On SQLite (WAL mode, busy timeout) write transactions opened through
    `begin_write` start with BEGIN IMMEDIATE, so concurrent writers queue up for the lock instead
    of failing halfway through; plain reads use a deferred BEGIN and never block writers.
    PostgreSQL uses its defaults (READ COMMITTED)."""
    url = normalise_url(url or database_url())
    if is_sqlite(url):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - driver callback
        # Take transaction control away from pysqlite so BEGIN is emitted by us.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA foreign_keys = ON")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        except Exception:  # read-only media or in-memory databases
            pass
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - driver callback
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction (BEGIN IMMEDIATE on SQLite)."""
    session.connection(execution_options={WRITE_OPTION: True})


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A sessionmaker per database URL, created once per process (engines are pooled).
    Objects stay usable after commit (`expire_on_commit=False`) so callers can read them."""
    key = normalise_url(url or database_url())
    with _factories_lock:
        factory = _factories.get(key)
        if factory is None:
            factory = sessionmaker(bind=make_engine(key), expire_on_commit=False)
            _factories[key] = factory
        return factory


def dispose(url: str | None = None) -> None:
    """Forget a cached factory and close its pool (tests dropping their database use this)."""
    key = normalise_url(url or database_url())
    with _factories_lock:
        factory = _factories.pop(key, None)
    if factory is not None:
        factory.kw["bind"].dispose()


def alembic_config(url: str):
    """Alembic configuration built in code (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("version_table", VERSION_TABLE)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision`. Safe to call from several processes at once: a file lock
    (SQLite) or a PostgreSQL advisory lock serialises the runs; later runs find nothing to do."""
    from alembic import command

    url = normalise_url(url or database_url())
    cfg = alembic_config(url)
    engine = make_engine(url, poolclass=_null_pool())
    try:
        with _migration_lock(url, engine) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            if conn.in_transaction():
                conn.commit()
    finally:
        engine.dispose()


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


@contextlib.contextmanager
def _migration_lock(url: str, engine: Engine) -> Iterator:
    if is_sqlite(url):
        db_path = make_url(url).database
        if not db_path or db_path == ":memory:":
            with engine.connect() as conn:
                yield conn
            return
        lock_path = Path(db_path).with_name(Path(db_path).name + ".migrate.lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        # Session-level lock, held across Alembic's own transaction and released on close.
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()


def head_revision() -> str | None:
    """The newest migration in `disputes/migrations/versions`."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    """The applied migration revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(normalise_url(url or database_url()), poolclass=_null_pool())
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()
