"""Deletion of personal information (个人信息保护法第四十七条) and the retention purge
(`disputes/erasure.py`): `cases.erased_at` marks a case kept only as an anonymised record, and the
append-only triggers of `case_events` let exactly one kind of UPDATE through, the redaction: the
payload replaced by one that says `"erased": true` and the time coarsened, with the event's case,
type, actor and legal basis unchanged. DELETE stays refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_REDACTION = (
    "NEW.id = OLD.id AND NEW.case_id IS OLD.case_id AND NEW.type = OLD.type AND NEW.actor = OLD.actor "
    "AND NEW.legal_basis IS OLD.legal_basis AND json_extract(NEW.payload, '$.erased') IS 1"
)
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id "
    "AND NEW.type = OLD.type AND NEW.actor = OLD.actor AND NEW.legal_basis::text = OLD.legal_basis::text "
    "AND (NEW.payload ->> 'erased') = 'true' THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'case_events is append-only'; END; $$ LANGUAGE plpgsql"
)
_PG_FUNCTION_0001 = (
    "CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'case_events is append-only'; END; $$ LANGUAGE plpgsql"
)


def upgrade() -> None:
    op.add_column("cases", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute(
            "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
            f"WHEN NOT coalesce(({_SQLITE_REDACTION}), 0) "
            "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END"
        )
    else:
        op.execute(_PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute(
            "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
            "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END"
        )
    else:
        op.execute(_PG_FUNCTION_0001)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
