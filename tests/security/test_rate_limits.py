"""Limits on anonymous, expensive work: chat messages per address and per conversation, new chat
conversations per address, WeChat messages per openid, evidence uploads (requests per address and
per consumer; files and bytes per case and per 24 hours), complaints per sender, and /stats served
from a cache. Every limit is configuration, and says in Chinese what happened (429)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from tests.actions.conftest import make_tracker
from tests.helpers import SEVEN_DAY_DECISION, make_facts
from tests.security.test_intent_injection import wechat_post, wechat_say
from tests.web.conftest import (  # noqa: F401  (fixtures)
    ALICE,
    BOB,
    JPEG,
    PNG,
    FakeRasa,
    as_consumer,
    cases,
    csrf_from,
    factory,
    image_xml,
    web,
    wx,
)


@pytest.fixture
def rasa(web):  # noqa: F811
    fake = FakeRasa()
    web.extensions["rasa_client"] = fake
    return fake


def say(client, text: str = "七天无理由退货怎么算"):
    return client.post("/api/chat/messages", json={"text": text})


def assert_chinese_429(resp, message: str) -> None:
    assert resp.status_code == 429
    body = resp.get_json()["error"] if resp.is_json else resp.get_data(as_text=True)
    assert message in body, body
    assert int(resp.headers["Retry-After"]) >= 1


# ---------------------------------------------------------------- chat


def test_chat_messages_are_limited_per_conversation(web, rasa) -> None:  # noqa: F811
    web.config["CHAT_MESSAGE_LIMIT_SESSION"] = "3 per minute"
    bob = as_consumer(web.test_client(), BOB)
    codes = [say(bob).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert_chinese_429(say(bob), "您发送消息太频繁了")
    assert len(rasa.calls) == 3  # a refused message costs no dialogue turn
    assert say(as_consumer(web.test_client(), ALICE)).status_code == 200  # others are not affected


def test_chat_messages_are_limited_per_address(web, rasa) -> None:  # noqa: F811
    web.config["CHAT_MESSAGE_LIMIT_IP"] = "4 per minute"
    clients = [as_consumer(web.test_client(), f"web-same-address-{i}") for i in range(5)]
    assert [say(c).status_code for c in clients] == [200, 200, 200, 200, 429]
    elsewhere = as_consumer(web.test_client(), "web-elsewhere")
    resp = elsewhere.post("/api/chat/messages", json={"text": "你好"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert resp.status_code == 200


def test_new_chat_conversations_are_limited_per_address(web, rasa) -> None:  # noqa: F811
    web.config["CHAT_NEW_SESSION_LIMIT_IP"] = "2 per minute"
    assert [web.test_client().get("/").status_code for _ in range(2)] == [200, 200]
    page = web.test_client().get("/")
    assert_chinese_429(page, "新建对话过于频繁")
    assert "text/html" in page.headers["Content-Type"]
    assert_chinese_429(say(web.test_client()), "新建对话过于频繁")  # JSON on the API
    assert rasa.calls == []
    # a browser that already has its conversation goes on
    known = as_consumer(web.test_client(), BOB)
    assert known.get("/").status_code == 200 and say(known).status_code == 200


def test_wechat_messages_are_limited_per_openid(wx) -> None:  # noqa: F811
    wx.config["WECHAT_MESSAGE_LIMIT"] = "2 per minute"
    rasa = wx.extensions["rasa_client"]
    client = wx.test_client()
    replies = [wechat_say(client, f"你好{i}", "oFastTyper00000000000000001") for i in range(3)]
    assert replies[:2] == ["您好，请问有什么可以帮您？"] * 2
    assert "太频繁" in replies[2] and len(rasa.calls) == 2
    assert wechat_say(client, "你好", "oSomeoneElse000000000000001") == "您好，请问有什么可以帮您？"


# ---------------------------------------------------------------- evidence


def upload(client, token: str, data: bytes = PNG, case_no: str | None = None):
    form = {"file": (io.BytesIO(data), "照片.png"), "csrf_token": token}
    if case_no:
        form["case_no"] = case_no
    return client.post("/api/chat/evidence", data=form, content_type="multipart/form-data")


def evidence_count(factory_) -> int:
    from disputes.models import EvidenceFile

    with factory_() as db:
        return db.scalar(select(func.count()).select_from(EvidenceFile))


def test_evidence_uploads_are_limited_per_consumer(web, cases, factory) -> None:  # noqa: F811
    web.config["EVIDENCE_UPLOAD_LIMIT_SESSION"] = "2 per minute"
    cases.submit()
    alice = as_consumer(web.test_client(), ALICE)
    token = csrf_from(alice, "/")
    assert [upload(alice, token).status_code for _ in range(2)] == [201, 201]
    assert_chinese_429(upload(alice, token), "上传证据过于频繁")
    assert evidence_count(factory) == 2


def test_evidence_uploads_are_limited_per_address(web, cases, factory) -> None:  # noqa: F811
    web.config["EVIDENCE_UPLOAD_LIMIT_IP"] = "2 per minute"
    for sender in ("web-up-1", "web-up-2", "web-up-3"):
        cases.submit(sender=sender)
    codes = []
    for sender in ("web-up-1", "web-up-2", "web-up-3"):
        client = as_consumer(web.test_client(), sender)
        codes.append(upload(client, csrf_from(client, "/")).status_code)
    assert codes == [201, 201, 429]


def stored_bytes(factory_) -> int:
    from disputes.models import EvidenceFile

    with factory_() as db:
        return db.scalar(select(func.coalesce(func.sum(EvidenceFile.size), 0)))


def test_evidence_bytes_per_case_are_limited(web, cases, factory) -> None:  # noqa: F811
    cases.submit()
    alice = as_consumer(web.test_client(), ALICE)
    token = csrf_from(alice, "/")
    assert [upload(alice, token).status_code for _ in range(2)] == [201, 201]
    web.config["EVIDENCE_MAX_CASE_BYTES"] = stored_bytes(factory) + len(PNG) - 1
    resp = upload(alice, token)
    assert resp.status_code == 413 and "总大小已达上限" in resp.get_json()["error"]
    assert evidence_count(factory) == 2


def test_evidence_per_day_counts_every_case_of_the_consumer(web, cases, factory) -> None:  # noqa: F811
    web.config.update(EVIDENCE_DAILY_FILES=2)
    first, second = cases.submit(), cases.submit(order_id="2026050199999999")
    alice = as_consumer(web.test_client(), ALICE)
    token = csrf_from(alice, "/")
    assert upload(alice, token, case_no=first).status_code == 201
    assert upload(alice, token, case_no=second).status_code == 201
    resp = upload(alice, token, case_no=first)
    assert resp.status_code == 429 and "24小时内最多上传2个证据文件" in resp.get_json()["error"]
    web.config.update(EVIDENCE_DAILY_FILES=60, EVIDENCE_DAILY_BYTES=stored_bytes(factory) + len(PNG) - 1)
    resp = upload(alice, token, case_no=first)
    assert resp.status_code == 429 and "总大小已达上限" in resp.get_json()["error"]
    assert evidence_count(factory) == 2


def test_wechat_images_count_against_the_evidence_quota(wx, cases, factory) -> None:  # noqa: F811
    openid = "oImageSender000000000000001"
    wx.config["EVIDENCE_DAILY_FILES"] = 1
    case_no = cases.submit(sender=f"wx-{openid}", channel="wechat")
    wx.extensions["wechat_client"].add_media("M1", JPEG, "image/jpeg")
    client = wx.test_client()
    assert case_no in wechat_post(client, image_xml("M1", msg_id=81001, openid=openid))
    reply = wechat_post(client, image_xml("M1", msg_id=81002, openid=openid))
    assert "图片未保存" in reply and "24小时内最多上传1个证据文件" in reply
    assert evidence_count(factory) == 1


# ---------------------------------------------------------------- complaints per sender


@pytest.fixture
def action_store(actions_case_store):
    return actions_case_store


def file_directly(sessions, sender: str, at: str) -> None:
    from disputes import service
    from disputes.clock import FrozenClock

    with sessions() as db:
        service.submit_complaint(db, channel="web", sender_id=sender, facts=make_facts(), decision=SEVEN_DAY_DECISION,
                                 clock=FrozenClock(at))


def confirm_complaint(sender: str) -> tuple[str, list]:
    from actions.cases import ActionSubmitComplaint
    from tests.actions.test_submit_complaint import FACTS, confirmed

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"intake": confirmed(FACTS)}, text="确认无误，同意提交", intent="affirm",
                           sender_id=sender)
    events = asyncio.run(ActionSubmitComplaint().run(dispatcher, tracker, {}))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), events


def cases_of(sessions, sender: str) -> int:
    from disputes.models import Case

    with sessions() as db:
        return db.scalar(select(func.count()).select_from(Case).where(Case.sender_id == sender))


def test_complaints_per_sender_are_limited(action_store, monkeypatch) -> None:
    monkeypatch.setenv("ODR_MAX_COMPLAINTS_PER_DAY", "2")
    file_directly(action_store, BOB, "2026-11-26T09:00:00+08:00")  # two days ago: does not count
    for _ in range(2):
        file_directly(action_store, BOB, "2026-11-28T09:00:00+08:00")
    reply, events = confirm_complaint(BOB)
    assert "已达到上限" in reply and "案件编号" not in reply
    assert events == [SlotSet("intake", None), SlotSet("intake_answer", None)]
    assert cases_of(action_store, BOB) == 3
    reply, _ = confirm_complaint(ALICE)  # another sender files as usual
    assert "投诉已提交" in reply and cases_of(action_store, ALICE) == 1


# ---------------------------------------------------------------- /stats


@pytest.fixture
def collect_calls(monkeypatch) -> list[int]:
    import web.stats as stats

    calls: list[int] = []
    original = stats.collect

    def counted(db, **kwargs):
        calls.append(1)
        return original(db, **kwargs)

    monkeypatch.setattr(stats, "collect", counted)
    return calls


def test_stats_are_served_from_a_cache(web, cases, collect_calls) -> None:  # noqa: F811
    cases.submit()
    client = web.test_client()
    for _ in range(3):
        assert client.get("/stats/").status_code == 200
        assert client.get("/stats/cases.csv").status_code == 200
    assert len(collect_calls) == 1  # one scan of the case store, not one per request
    web.config["STATS_CACHE_SECONDS"] = 1
    from web.caching import cache

    with web.app_context():
        cache.clear()
    client.get("/stats/")
    time.sleep(1.2)
    client.get("/stats/")
    assert len(collect_calls) == 3  # recomputed once the figures are older than STATS_CACHE_SECONDS


def test_stats_are_limited_per_address(web, collect_calls) -> None:  # noqa: F811
    web.config["STATS_LIMIT_IP"] = "2 per minute"
    client = web.test_client()
    assert [client.get("/stats/").status_code for _ in range(2)] == [200, 200]
    assert_chinese_429(client.get("/stats/"), "访问统计页面过于频繁")


# ---------------------------------------------------------------- scaled profile: Redis


def test_scaled_profile_shares_limits_and_the_stats_cache_through_redis(tmp_path, monkeypatch, collect_calls):
    """Two web workers (two apps) on the scaled profile's Redis storage count together and share
    the cached figures."""
    from tests.e2e.scaled import ENV_FILE, read_env_file
    from tests.services import require_redis
    from web import create_app

    scaled = read_env_file(ENV_FILE)
    assert scaled["ODR_RATELIMIT_STORAGE"].startswith("redis://")
    assert scaled["ODR_CACHE_URL"].startswith("redis://")
    redis_url = require_redis()
    monkeypatch.setenv("ODR_RATELIMIT_STORAGE", redis_url)
    prefix = f"odr-test-{uuid.uuid4().hex[:8]}:"
    config = {"TESTING": True, "SECRET_KEY": "scaled", "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.sqlite3'}",
              "RASA_URL": "http://127.0.0.1:9", "UPLOAD_DIR": str(tmp_path / "uploads"), "CACHE_URL": redis_url,
              "CACHE_KEY_PREFIX": prefix, "CHAT_MESSAGE_LIMIT_SESSION": "3 per minute"}
    workers = [create_app(dict(config)) for _ in range(2)]
    from cachelib import RedisCache

    from web.caching import cache

    try:
        for app in workers:
            app.extensions["rasa_client"] = FakeRasa()
            assert isinstance(app.extensions["cache"][cache], RedisCache)
            assert app.extensions["odr_limiter"]._storage_uri.startswith("redis://")
        sender = f"web-scaled-{uuid.uuid4().hex}"
        codes = [say(as_consumer(workers[i % 2].test_client(), sender)).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
        assert workers[0].test_client().get("/stats/").status_code == 200
        assert workers[1].test_client().get("/stats/").status_code == 200
        assert len(collect_calls) == 1
    finally:
        with workers[0].app_context():
            cache.clear()  # only this test's prefix
