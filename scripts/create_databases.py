"""Create the PostgreSQL databases of the scaled-out profile if they do not exist yet.

Usage: python scripts/create_databases.py [postgresql://user@host:port/maintenance_db] NAME...
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql


def main(argv: list[str]) -> int:
    url, names = argv[0], argv[1:]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
