"""Retention (个人信息保护法第十九条): the worker's purge job anonymises finished cases, deletes
their evidence files, orphaned uploads, idle conversations and old WeChat rows after configurable
periods, and leaves everything younger (and every open case) alone."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from disputes.clock import FrozenClock
from disputes.erasure import RetentionPolicy, purge
from tests.web.conftest import Cases

POLICY = RetentionPolicy(case_days=365, upload_days=90, tracker_days=30, wechat_days=7)





def test_defaults_and_environment(monkeypatch):
    for name in ("CASE", "UPLOAD", "TRACKER", "WECHAT"):
        monkeypatch.delenv(f"ODR_RETENTION_{name}_DAYS", raising=False)
    assert RetentionPolicy.from_env() == POLICY
    monkeypatch.setenv("ODR_RETENTION_CASE_DAYS", "180")
    monkeypatch.setenv("ODR_RETENTION_TRACKER_DAYS", "0")
    assert RetentionPolicy.from_env() == RetentionPolicy(case_days=180, upload_days=90, tracker_days=0, wechat_days=7)
    monkeypatch.setenv("ODR_RETENTION_WECHAT_DAYS", "-1")
    with pytest.raises(ValueError, match="ODR_RETENTION_WECHAT_DAYS"):
        RetentionPolicy.from_env()


def test_the_worker_runs_the_purge_every_hour():
    from disputes import tasks

    periodic = {t.name for t in tasks.huey._registry.periodic_tasks}
    assert any(name.endswith("purge_task") for name in periodic), periodic
    assert "erase_conversation" in tasks._JOBS  # the second pass after a deletion, from the web tier


def evidence(factory, clock, case_no: str, sender: str, root: Path, name: str) -> str:
    from disputes import service

    rel = f"ab/{name}.png"
    (root / "ab").mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b"\x89PNG...")
    with factory() as db:
        service.add_evidence(db, case_no, sender_id=sender, filename=f"{name}.png", clock=clock, storage_path=rel,
                             description="我的照片")
    return rel


def aged(path: Path, clock: FrozenClock, days: float) -> None:
    when = (clock.now() - timedelta(days=days)).timestamp()
    os.utime(path, (when, when))


def tracker(path: Path, rows: list[tuple[str, float]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                     "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                     "action_name VARCHAR(255), data TEXT)")
        conn.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, '{}')", rows)


def test_purge_after_the_retention_periods(store, tmp_path):
    from disputes import negotiation, service
    from disputes.core import get_case
    from disputes.models import Case, EvidenceFile
    from web.wechat_store import WechatInbound, claim_inbound

    clock = FrozenClock("2025-01-06T10:00:00+08:00")
    cases = Cases(store, clock)
    root = tmp_path / "uploads"

    # Finished more than a year ago: anonymised, files gone.
    old = cases.negotiating(sender="web-old", phone="13911112222")
    old_file = evidence(store, clock, old, "web-old", root, "old")
    with store() as db:
        service.withdraw_case(db, old, sender_id="web-old", clock=clock)
    # Still open after more than a year: left alone.
    still_open = cases.negotiating(sender="web-open")
    open_file = evidence(store, clock, still_open, "web-open", root, "open")

    clock.advance(days=300)
    # Settled 100 days before the purge: the case stays, its evidence files go.
    settled = cases.with_offer(sender="web-settled")
    settled_file = evidence(store, clock, settled, "web-settled", root, "settled")
    with store() as db:
        service.respond_to_offer(db, settled, sender_id="web-settled", accept=True, clock=clock)

    clock.advance(days=70)
    recent = cases.submit(sender="web-recent")
    negotiation.open_submitted(store, clock, recent)
    with store() as db:
        service.withdraw_case(db, recent, sender_id="web-recent", clock=clock)  # closed 30 days before
    recent_file = evidence(store, clock, recent, "web-recent", root, "recent")
    claim_inbound(store, "old-msg", "oOld", "text", clock.now())

    clock.advance(days=30)
    claim_inbound(store, "new-msg", "oNew", "text", clock.now() - timedelta(days=1))
    (root / "cd").mkdir()
    (root / "cd" / "orphan.png").write_bytes(b"left behind")
    (root / "cd" / "fresh.part").write_bytes(b"being written")
    aged(root / "cd" / "orphan.png", clock, 2)
    for rel in (old_file, open_file, settled_file, recent_file):
        aged(root / rel, clock, 400)  # evidence files are judged by their case, not their age
    tracks = tmp_path / "tracker.sqlite3"
    now = clock.now().timestamp()
    tracker(tracks, [("web-idle", now - 40 * 86400), ("web-idle", now - 31 * 86400), ("web-busy", now - 40 * 86400),
                     ("web-busy", now - 86400)])

    counts = purge(store, clock, policy=POLICY, upload_root=root, tracker_url=f"sqlite:///{tracks}")
    assert counts == {"cases_erased": 1, "evidence_files_removed": 1, "orphan_files_removed": 1,
                      "tracker_events_deleted": 2, "wechat_rows_deleted": 1}
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == sorted([open_file, recent_file, "cd/fresh.part"])
    with sqlite3.connect(tracks) as conn:
        assert [r[0] for r in conn.execute("SELECT DISTINCT sender_id FROM events")] == ["web-busy"]
    with store() as db:
        assert [r.msg_id for r in db.scalars(select(WechatInbound))] == ["new-msg"]
        erased = db.scalars(select(Case).where(Case.erased_at.is_not(None))).one()
        assert erased.case_no.startswith("ERASED-") and erased.consumer.phone is None
        assert get_case(db, still_open).state == "negotiating" and get_case(db, still_open).erased_at is None
        kept = get_case(db, settled)
        assert kept.state == "settled" and kept.erased_at is None and kept.consumer.phone
        assert [(e.storage_path, e.description) for e in kept.evidence] == [(None, "（文件已按保存期限删除）")]
        assert db.scalar(select(EvidenceFile.storage_path).where(EvidenceFile.case_id == get_case(db, recent).id))

    # Idempotent: a second run finds nothing more.
    assert set(purge(store, clock, policy=POLICY, upload_root=root, tracker_url=f"sqlite:///{tracks}").values()) == {0}


def test_zero_keeps_until_the_consumer_deletes(store, tmp_path):
    from disputes import service

    clock = FrozenClock("2024-01-06T10:00:00+08:00")
    case_no = Cases(store, clock).submit(sender="web-keep")
    with store() as db:
        service.withdraw_case(db, case_no, sender_id="web-keep", clock=clock)
    clock.advance(days=1000)
    counts = purge(store, clock, policy=RetentionPolicy(case_days=0, upload_days=0, tracker_days=0, wechat_days=0),
                   upload_root=tmp_path / "none", tracker_url="")
    assert set(counts.values()) == {0}


def test_the_tracker_store_is_found_like_rasa_finds_it(monkeypatch):
    from disputes.erasure import tracker_database_url

    for name in ("ODR_TRACKER_DATABASE_URL", "ODR_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert tracker_database_url().endswith("/var/rasa_tracker.sqlite3")  # bot/endpoints.yml
    monkeypatch.setenv("ODR_PROFILE", "scaled")  # bot/endpoints.scaled.yml with scaled.env
    for name, value in {"ODR_PG_HOST": "127.0.0.1", "ODR_PG_PORT": "5432", "ODR_PG_DB": "odr_tracker",
                        "ODR_PG_USER": "postgres"}.items():
        monkeypatch.setenv(name, value)
    assert tracker_database_url() == "postgresql+psycopg://postgres@127.0.0.1:5432/odr_tracker"
    monkeypatch.setenv("ODR_TRACKER_DATABASE_URL", "postgresql://rasa@db.internal/trackers")
    assert tracker_database_url() == "postgresql+psycopg://rasa@db.internal/trackers"
