"""Fixtures of the fault tests: a case store per backend (SQLite file or a throwaway PostgreSQL
schema), a frozen clock, recorded background jobs, and row counts of every table."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, table

from disputes import db as dbmod
from tests.services import postgres_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
        yield url
        dbmod.dispose(url)
    else:
        with postgres_schema_url("odr_f") as url:
            yield url
            dbmod.dispose(url)


# Request bookkeeping, not case data: every signed request uses up its signature, refused or not.
BOOKKEEPING = {"replay_marks"}


def row_counts(db_url: str) -> dict[str, int]:
    """Rows per table of the case store: what a refused request must leave unchanged."""
    engine = dbmod.session_factory(db_url).kw["bind"]
    names = sorted(set(inspect(engine).get_table_names()) - BOOKKEEPING)
    with engine.connect() as conn:
        return {n: conn.scalar(select(func.count()).select_from(table(n))) for n in names}
