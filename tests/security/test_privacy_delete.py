"""Withdrawal with deletion (个人信息保护法第四十七条): the button on the case page, and the case
service underneath it on SQLite and PostgreSQL. After deletion nothing the consumer told us is
left in the case store, the upload folder, the Rasa tracker or the WeChat rows, while /stats
still counts the case."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from disputes import db as dbmod
from tests.web.conftest import ALICE, BOB, PNG, Cases, as_consumer, csrf_from

# What the consumer told us; none of it may survive the deletion anywhere.
PERSONAL = {"phone": "13912345678", "name": "李小红", "address": "上海市徐汇区某某路88号",
            "description": "耳机左耳没声音，客服小王说不给退", "order_id": "998877665544",
            "product": "降噪耳机Pro", "message": "我的身份证是310101199001011234"}


@pytest.fixture
def web(app, clock, tmp_path):
    app.config.update(CLOCK=clock, TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'tracker.sqlite3'}")
    return app


@pytest.fixture
def factory(web):
    return dbmod.session_factory(web.config["DATABASE_URL"])


@pytest.fixture
def cases(factory, clock) -> Cases:
    return Cases(factory, clock)


def tracker_db(path: Path, rows: list[tuple[str, str]]) -> None:
    """A tracker store as Rasa's SQLTrackerStore creates it, with (sender, text) user events."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                     "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                     "action_name VARCHAR(255), data TEXT)")
        for i, (sender, said) in enumerate(rows):
            conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                         (sender, 1_777_000_000 + i, json.dumps({"event": "user", "text": said}, ensure_ascii=False)))


def tracker_senders(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted({r[0] for r in conn.execute("SELECT sender_id FROM events")})


def full_case(cases: Cases, client, sender: str = ALICE) -> str:
    """A negotiating case with an offer, contact data, evidence and a message to the desk."""
    from disputes import service

    case_no = cases.with_offer(sender=sender, phone=PERSONAL["phone"], name=PERSONAL["name"],
                               address=PERSONAL["address"], description=PERSONAL["description"],
                               order_id=PERSONAL["order_id"], product=PERSONAL["product"])
    as_consumer(client, sender)
    token = csrf_from(client, f"/cases/{case_no}")
    resp = client.post(f"/cases/{case_no}/evidence", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(PNG), "李小红的耳机.png"),
                             "description": PERSONAL["description"]})
    assert resp.status_code == 302
    with cases.factory() as db:
        service.record_consumer_message(db, case_no, sender_id=sender, text=PERSONAL["message"], clock=cases.clock)
    return case_no


def delete(client, case_no: str, *, confirm: bool = True, token: str | None = None):
    data = {"csrf_token": token if token is not None else csrf_from(client, f"/cases/{case_no}")}
    if confirm:
        data["confirm"] = "y"
    return client.post(f"/cases/{case_no}/delete", data=data)


def database_text(factory) -> str:
    """Every value of every row of every table, as text."""
    from disputes.models import Base

    out = []
    with factory() as db:
        for table in Base.metadata.sorted_tables:
            out += [repr(tuple(row)) for row in db.execute(table.select())]
        for name in ("wechat_inbound", "wechat_outbound"):
            out += [repr(tuple(row)) for row in db.execute(text(f"SELECT * FROM {name}"))]
    return "\n".join(out)


def stats(factory) -> dict[str, Any]:
    from web.stats import collect

    with factory() as db:
        data = collect(db, min_count=1)
    return {"total": data["total"], **{k: [(r["label"], r["count"]) for r in t["rows"]] for k, t in data["tables"].items()}}


# ---------------------------------------------------------------- the case page


def test_the_case_page_offers_withdrawal_and_says_what_is_kept(web, client, cases):
    case_no = cases.submit()
    page = as_consumer(client, ALICE).get(f"/cases/{case_no}").get_data(as_text=True)
    form = re.search(r'<form[^>]+action="/cases/[^"]+/delete".*?</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(0) and 'name="confirm"' in form.group(0)
    assert "第四十七条" in page and "不含个人信息的统计记录" in page and "无法恢复" in page


def test_deletion_needs_the_csrf_token_and_the_confirmation(web, client, cases):
    case_no = cases.with_offer()
    before = cases.snapshot(case_no)
    as_consumer(client, ALICE)
    assert delete(client, case_no, token="forged").status_code == 400
    resp = delete(client, case_no, confirm=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#privacy")
    assert "请先勾选确认" in client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_only_the_owner_can_delete(web, client, cases):
    case_no = cases.with_offer()
    before = cases.snapshot(case_no)
    token = csrf_from(as_consumer(client, BOB), "/")
    assert client.post(f"/cases/{case_no}/delete", data={"csrf_token": token, "confirm": "y"}).status_code == 404
    anonymous = web.test_client()
    token = csrf_from(anonymous, "/")
    with anonymous.session_transaction() as s:
        s.pop("sender_id", None)
    assert anonymous.post(f"/cases/{case_no}/delete", data={"csrf_token": token, "confirm": "y"}).status_code == 404
    assert cases.snapshot(case_no) == before


def test_deletion_blanks_the_case_its_files_and_the_conversation(web, client, cases, jobs, tmp_path):
    from disputes import service
    from disputes.models import Case, CaseEvent, Consumer, EvidenceFile

    with cases.factory() as db:  # a hand-off asked for before there was a case
        service.record_handoff(db, ALICE, "想找人工", cases.clock, channel="web", sender_id=ALICE)
    case_no = full_case(cases, client)
    uploads = Path(web.config["UPLOAD_DIR"])
    assert [p for p in uploads.rglob("*") if p.is_file()]
    tracker = tmp_path / "tracker.sqlite3"
    tracker_db(tracker, [(ALICE, PERSONAL["description"]), (ALICE, PERSONAL["phone"]), (BOB, "七天无理由怎么算")])
    counted = stats(cases.factory)
    assert PERSONAL["phone"] in database_text(cases.factory)

    resp = delete(client, case_no)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/cases")
    listing = client.get("/cases").get_data(as_text=True)
    assert "已撤回" in listing and "个人信息" in listing and f'href="/cases/{case_no}"' not in listing
    assert client.get(f"/cases/{case_no}").status_code == 404

    everything = database_text(cases.factory)
    for what, value in PERSONAL.items():
        assert value not in everything, what
    assert ALICE not in everything and case_no not in everything
    assert not [p for p in uploads.rglob("*") if p.is_file()], "the evidence file is still on disk"
    assert tracker_senders(tracker) == [BOB]
    assert ("erase_conversation", {"sender_id": ALICE}) in jobs  # a second pass after a running turn

    with cases.factory() as db:
        case = db.scalars(select(Case)).one()
        assert case.erased_at is not None and case.state == "closed" and case.case_no.startswith("ERASED-")
        assert case.facts == {"problem": "质量问题"} and case.decision is None and case.merchant_id is None
        assert db.scalar(select(func.count(EvidenceFile.id))) == 0
        consumer = db.scalars(select(Consumer)).one()
        assert consumer.id == case.consumer_id and (consumer.name, consumer.phone, consumer.address) == (None,) * 3
        types = [e.type for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
        assert types[-1] == "data_erased" and "state_changed" in types
        assert all(e.payload.get("erased") for e in db.scalars(select(CaseEvent)))
    after = stats(cases.factory)  # the statistics count the case as before; withdrawn, it is now closed
    assert {k: v for k, v in after.items() if k != "outcome"} == {k: v for k, v in counted.items() if k != "outcome"}
    assert counted["outcome"] == [("处理中", 1)] and after["outcome"] == [("结案（未和解）", 1)]


def test_another_case_keeps_the_contact_data_it_needs(web, client, cases):
    from disputes.core import get_case

    first = cases.submit(name=PERSONAL["name"], phone=PERSONAL["phone"])
    second = cases.submit(product="手机壳", phone=PERSONAL["phone"])
    as_consumer(client, ALICE)
    assert delete(client, first).status_code == 302
    page = client.get(f"/cases/{second}")
    assert page.status_code == 200 and client.get(f"/cases/{first}").status_code == 404
    with cases.factory() as db:
        consumer = get_case(db, second).consumer
        assert (consumer.name, consumer.phone) == (PERSONAL["name"], PERSONAL["phone"])


# ---------------------------------------------------------------- the case service, both backends





OPENID = "oPrivacy1234567890abcdefghi"


def test_erasure_of_a_wechat_case_and_the_append_only_log(store, clock, tmp_path):
    from disputes import negotiation
    from disputes.erasure import erase_case, erase_conversation
    from disputes.errors import AccessDenied
    from disputes.models import CaseEvent, Notification
    from web.wechat_store import WechatInbound, claim_inbound, claim_outbound

    sender = f"wx-{OPENID}"
    cases = Cases(store, clock)
    case_no = cases.submit(sender=sender, channel="wechat", phone=PERSONAL["phone"],
                           description=PERSONAL["description"])
    negotiation.open_submitted(store, clock, case_no)
    claim_inbound(store, "msg-1", OPENID, "text", clock.now())
    claim_inbound(store, "msg-2", "oSomeoneElse", "text", clock.now())
    with store() as db:
        note = db.scalars(select(Notification.id)).first()
    assert claim_outbound(store, note, OPENID, clock.now())

    with store() as db, pytest.raises(AccessDenied):
        erase_case(db, case_no, clock=clock, upload_root=tmp_path, sender_id="wx-intruder")
    with store() as db:
        result = erase_case(db, case_no, clock=clock, upload_root=tmp_path, sender_id=sender)
        assert result["erased"] and result["consumer_deleted"] and result["events_redacted"] >= 3
        counts = erase_conversation(db, sender, tracker_url="")
        assert counts["wechat_rows_deleted"] == 1
        again = erase_case(db, result["case_no"], clock=clock, upload_root=tmp_path)
        assert again["erased"] is False  # idempotent
    with store() as db:
        assert [r.openid for r in db.scalars(select(WechatInbound))] == ["oSomeoneElse"]
        assert db.scalar(select(func.count()).select_from(Notification)) == 0
    everything = database_text(store)
    assert PERSONAL["phone"] not in everything and PERSONAL["description"] not in everything
    assert OPENID not in everything and case_no not in everything

    # Still append-only: an ordinary UPDATE or DELETE of the audit log is refused by the database.
    for statement in ("UPDATE case_events SET payload = '{}'", "UPDATE case_events SET type = 'x'",
                      "DELETE FROM case_events"):
        with store() as db, pytest.raises(Exception, match="append-only"):
            db.execute(text(statement))
            db.commit()
    with store() as db:
        assert db.scalar(select(func.count(CaseEvent.id))) >= 4
