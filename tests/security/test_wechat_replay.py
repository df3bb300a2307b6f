"""WeChat replays.

Reproduced before the fix: in plaintext mode the signature covers only token, timestamp and nonce,
so one captured query string let anyone post any message as any openid for five minutes (e.g.
「接受」 in the victim's conversation to accept an offer); a message carrying a MsgId already used
by another consumer got that consumer's stored reply back; and with an EncodingAESKey configured
the endpoint still took unencrypted pushes. Now the (timestamp, nonce) pairs are remembered for
the window, bound to the message they carried; a duplicate MsgId is answered with the stored reply
only for the same openid; a configured key means safe mode only.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import xmltodict

from tests.web.conftest import (  # noqa: F401  (fixtures)
    AES_KEY,
    APP_ID,
    OPENID,
    TOKEN,
    decrypt_reply,
    post_encrypted,
    text_xml,
    web,
    wx,
    wx_query,
)

ATTACKER = "oAttacker00000000000000000001"


@pytest.fixture
def plain(wx):  # noqa: F811
    """A plaintext-mode account (no EncodingAESKey), where the signature does not cover the body."""
    wx.config["WECHAT_ENCODING_AES_KEY"] = ""
    return wx


def post(client, query: str, xml: str):
    return client.post(f"/wechat?{query}", data=xml.encode(), content_type="text/xml")


def content(resp) -> str:
    return xmltodict.parse(resp.data)["xml"]["Content"]


def test_captured_query_cannot_carry_another_message(plain) -> None:
    rasa, client = plain.extensions["rasa_client"], plain.test_client()
    query = wx_query(nonce="captured-nonce")
    assert post(client, query, text_xml("查询进度", msg_id=1001)).status_code == 200
    forged = post(client, query, text_xml("接受", msg_id=1002))  # same signature, the victim's openid
    assert forged.status_code == 403 and "重放" in forged.get_data(as_text=True)
    other_sender = post(client, query, text_xml("查询进度", msg_id=1001, openid=ATTACKER))
    assert other_sender.status_code == 403
    assert rasa.calls == [(f"wx-{OPENID}", "查询进度")]


def test_wechat_retry_with_the_same_query_still_gets_its_answer(plain) -> None:
    rasa, client = plain.extensions["rasa_client"], plain.test_client()
    query, xml = wx_query(nonce="retry-nonce"), text_xml("你好", msg_id=2001)
    first = post(client, query, xml)
    again = post(client, query, xml)  # WeChat's own retry of the same push
    assert first.status_code == again.status_code == 200 and content(again) == content(first)
    assert len(rasa.calls) == 1


def test_duplicate_msgid_from_another_openid_gets_no_stored_reply(plain) -> None:
    rasa, client = plain.extensions["rasa_client"], plain.test_client()
    rasa.reply = [{"text": "您的案件 ODR-20260504-0001 当前状态：协商中"}]
    victim = post(client, wx_query(), text_xml("查询进度", msg_id=3001))
    assert "ODR-20260504-0001" in content(victim)
    stolen = post(client, wx_query(), text_xml("随便", msg_id=3001, openid=ATTACKER))
    assert stolen.status_code == 200 and stolen.get_data(as_text=True) == "success"
    assert "ODR-20260504-0001" not in stolen.get_data(as_text=True)
    assert len(rasa.calls) == 1
    retry = post(client, wx_query(), text_xml("查询进度", msg_id=3001))  # the victim's own retry still works
    assert content(retry) == content(victim)


def test_plaintext_is_refused_once_an_aes_key_is_configured(wx) -> None:  # noqa: F811
    rasa, client = wx.extensions["rasa_client"], wx.test_client()
    assert wx.config["WECHAT_ENCODING_AES_KEY"] == AES_KEY
    resp = post(client, wx_query(), text_xml("接受", msg_id=4001))
    assert resp.status_code == 403 and "安全模式" in resp.get_data(as_text=True)
    assert rasa.calls == []
    resp, (ts, nonce) = post_encrypted(client, text_xml("接受", msg_id=4002))
    assert resp.status_code == 200 and decrypt_reply(resp.get_data(as_text=True), ts, nonce)["Content"]
    assert rasa.calls == [(f"wx-{OPENID}", "接受")]


def test_replay_is_refused_by_another_worker_too(plain, database_url, tmp_path) -> None:
    """The memory is in the case database: a second app instance (another gunicorn worker)
    refuses the captured pair as well."""
    from web import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
                        "UPLOAD_DIR": str(tmp_path / "uploads"), "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID,
                        "WECHAT_ENCODING_AES_KEY": "", "WECHAT_PUSH_DELAY": 0})
    other.extensions["rasa_client"] = plain.extensions["rasa_client"]
    query = wx_query(nonce="two-workers")
    assert post(plain.test_client(), query, text_xml("你好", msg_id=5001)).status_code == 200
    assert post(other.test_client(), query, text_xml("接受", msg_id=5002)).status_code == 403


def test_unconfigured_token_refuses_every_request(plain) -> None:
    plain.config["WECHAT_TOKEN"] = ""
    resp = plain.test_client().get("/wechat?" + wx_query(token="", echostr="abc"))
    assert resp.status_code == 503 and "WECHAT_TOKEN" in resp.get_data(as_text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    from disputes import db as dbmod

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'replay.sqlite3'}"
        return
    from tests.services import postgres_schema_url

    with postgres_schema_url() as url:
        yield url
        dbmod.dispose(url)


def test_replay_marks_on_both_backends(store_url) -> None:
    """First use wins, a later use sees the first one's digest, expired marks are forgotten
    (SQLite and PostgreSQL, as in the embedded and the scaled profile)."""
    from sqlalchemy import func, select

    from disputes.db import session_factory, upgrade
    from web.replay import ReplayMark, expiry, remember, wall_clock

    upgrade(store_url)
    factory = session_factory(store_url)
    ts = int(time.time())
    now = wall_clock(ts)
    first = remember(factory, "wechat", f"{ts}:n1", expires_at=expiry(ts, 300), now=now, digest="a")
    again = remember(factory, "wechat", f"{ts}:n1", expires_at=expiry(ts, 300), now=now, digest="b")
    assert first.first and not again.first and again.digest == "a"
    assert remember(factory, "platform:sandbox", f"{ts}:n1", expires_at=expiry(ts, 300), now=now).first
    later = now + timedelta(seconds=300 + 61 + 1)
    assert remember(factory, "wechat", f"{ts + 400}:n2", expires_at=expiry(ts + 400, 300), now=later).first
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(ReplayMark)) == 1  # the old ones were pruned
