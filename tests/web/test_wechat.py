"""WeChat Official Account protocol: signatures, safe mode, MsgId de-duplication across workers,
the 5-second rule, images as evidence, notification pushes, and hostile input."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import xmltodict

from tests.web.conftest import (
    AES_KEY,
    APP_ID,
    JPEG,
    OPENID,
    TOKEN,
    decrypt_reply,
    image_xml,
    post_encrypted,
    post_plain,
    text_xml,
    wx_query,
)

XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
       "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>42</MsgId></xml>")
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>'
          f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><Content>&lol3;</Content>"
          "<MsgId>43</MsgId></xml>")


@pytest.fixture
def wx(wx):
    """This module's account is in plaintext mode (no EncodingAESKey) unless a test asks for
    `wx_safe`."""
    wx.config["WECHAT_ENCODING_AES_KEY"] = ""
    return wx


@pytest.fixture
def wx_safe(wx):
    """Safe mode: an EncodingAESKey is configured."""
    wx.config["WECHAT_ENCODING_AES_KEY"] = AES_KEY
    return wx


def inbound_count(factory) -> int:
    from sqlalchemy import func, select

    from web.wechat_store import WechatInbound

    with factory() as db:
        return db.scalar(select(func.count()).select_from(WechatInbound))


def reply_content(resp) -> str:
    return xmltodict.parse(resp.data)["xml"]["Content"]


def local_client(app):
    return app.extensions["wechat_client"]


def wait_until(predicate, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


# ---------------------------------------------------------------- signatures


def test_server_verification_echoes_echostr(wx, client):
    resp = client.get(f"/wechat?{wx_query(echostr='1234567890abc')}")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "1234567890abc"


@pytest.mark.parametrize("query,status,message", [
    (lambda: wx_query(token="wrong-token", echostr="abc"), 403, "签名校验失败"),
    (lambda: "echostr=abc", 400, "缺少签名参数"),
    (lambda: wx_query(timestamp=str(int(time.time()) - 3600), echostr="abc"), 403, "请求已过期"),
    (lambda: wx_query(timestamp="yesterday", echostr="abc"), 400, "签名参数格式错误"),
    (lambda: wx_query(echostr="<script>"), 400, "echostr"),
])
def test_bad_verification_requests(wx, client, query, status, message):
    resp = client.get(f"/wechat?{query()}")
    assert resp.status_code == status and message in resp.get_data(as_text=True)


def test_forged_post_changes_nothing(wx, client, factory):
    resp = client.post(f"/wechat?{wx_query(token='attacker')}", data=text_xml("你好").encode(),
                       content_type="text/xml")
    assert resp.status_code == 403 and "签名校验失败" in resp.get_data(as_text=True)
    assert wx.extensions["rasa_client"].calls == [] and inbound_count(factory) == 0


# ---------------------------------------------------------------- text messages and the 5-second rule


def test_text_message_gets_a_passive_reply(wx, client):
    rasa = wx.extensions["rasa_client"]
    rasa.reply = [{"text": "遇到的是哪类问题？", "buttons": [{"title": "质量问题", "payload": "质量问题"},
                                                         {"title": "假货", "payload": "假货"}]}]
    resp = post_plain(client, text_xml("我要投诉"))
    assert resp.status_code == 200
    reply = xmltodict.parse(resp.data)["xml"]
    assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text"
    assert reply["Content"] == "遇到的是哪类问题？\n请回复：「质量问题」 / 「假货」"
    assert rasa.calls == [(f"wx-{OPENID}", "我要投诉")]


def test_duplicate_msgid_gets_the_same_answer_without_a_second_turn(wx, client, factory):
    rasa = wx.extensions["rasa_client"]
    first = post_plain(client, text_xml("你好", msg_id=777))
    for _ in range(3):  # WeChat retries up to three times
        again = post_plain(client, text_xml("你好", msg_id=777), nonce="other-nonce")
        assert again.status_code == 200 and reply_content(again) == reply_content(first)
    assert len(rasa.calls) == 1 and inbound_count(factory) == 1


def test_slow_bot_replies_success_then_through_customer_service_api(wx, client):
    rasa = wx.extensions["rasa_client"]
    rasa.delay = 0.6
    wx.config["WECHAT_PASSIVE_TIMEOUT"] = 0.1
    rasa.reply = [{"text": "好的，请问是哪个平台？"}]
    resp = post_plain(client, text_xml("我要投诉", msg_id=888))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    retry = post_plain(client, text_xml("我要投诉", msg_id=888), nonce="retry-1")
    assert retry.get_data(as_text=True) == "success"
    wait_until(lambda: local_client(wx).messages_to(OPENID))
    assert local_client(wx).messages_to(OPENID) == ["好的，请问是哪个平台？"]
    assert len(rasa.calls) == 1
    from disputes.db import session_factory
    from web.wechat_store import SENT, WechatInbound

    def state():
        with session_factory(wx.config["DATABASE_URL"])() as db:
            return db.query(WechatInbound).filter_by(msg_id="888").one().state

    wait_until(lambda: state() == SENT)


def test_bot_down_gets_a_clear_passive_answer(wx, client):
    wx.extensions["rasa_client"].fail = True
    resp = post_plain(client, text_xml("你好", msg_id=999))
    assert "助手暂时无法回复" in reply_content(resp)


def test_duplicates_across_two_workers_produce_one_turn(wx, database_url, tmp_path):
    """Two app instances (as two gunicorn workers) on one database receive the same push at once."""
    from web import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url,
                        "UPLOAD_DIR": str(tmp_path / "uploads"), "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID,
                        "WECHAT_PUSH_DELAY": 0})
    rasa = wx.extensions["rasa_client"]
    rasa.delay = 0.3
    other.extensions["rasa_client"] = rasa
    results = []

    def hit(app, nonce):
        results.append(post_plain(app.test_client(), text_xml("同时到达", msg_id=4242), nonce=nonce).status_code)

    threads = [threading.Thread(target=hit, args=(app, f"n{i}")) for i, app in enumerate([wx, other, wx, other])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200] * 4
    assert len(rasa.calls) == 1


# ---------------------------------------------------------------- safe mode


def test_encrypted_message_gets_an_encrypted_reply(wx_safe, client):
    resp, (ts, nonce) = post_encrypted(client, text_xml("七天无理由退货怎么算", msg_id=5001))
    assert resp.status_code == 200
    reply = decrypt_reply(resp.get_data(as_text=True), ts, nonce)
    assert reply["Content"] == "您好，请问有什么可以帮您？" and reply["ToUserName"] == OPENID
    assert wx_safe.extensions["rasa_client"].calls == [(f"wx-{OPENID}", "七天无理由退货怎么算")]


def test_encrypted_with_forged_signature_or_other_app_changes_nothing(wx_safe, client, factory):
    resp, _ = post_encrypted(client, text_xml("hi", msg_id=5002), tamper=True)
    assert resp.status_code == 403 and "消息签名校验失败" in resp.get_data(as_text=True)
    resp, _ = post_encrypted(client, text_xml("hi", msg_id=5003), app_id="wxSomeoneElse")
    assert resp.status_code == 403 and "不属于本公众号" in resp.get_data(as_text=True)
    resp, _ = post_encrypted(client, text_xml("hi", msg_id=5004), key="B" * 43)
    assert resp.status_code == 400 and "解密失败" in resp.get_data(as_text=True)
    assert wx_safe.extensions["rasa_client"].calls == [] and inbound_count(factory) == 0


def test_entities_inside_the_encrypted_payload_are_refused(wx_safe, client, factory):
    resp, _ = post_encrypted(client, XXE)
    assert resp.status_code == 400 and "DOCTYPE" in resp.get_data(as_text=True)
    assert inbound_count(factory) == 0


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("body", [XXE, LAUGHS, XXE.replace("DOCTYPE", "doctype")])
def test_xxe_and_billion_laughs_are_refused_before_parsing(wx, client, factory, body):
    resp = post_plain(client, body)
    assert resp.status_code == 400 and "DOCTYPE 或实体声明" in resp.get_data(as_text=True)
    assert wx.extensions["rasa_client"].calls == [] and inbound_count(factory) == 0


def test_xmltodict_itself_refuses_entity_declarations():
    with pytest.raises(ValueError):
        xmltodict.parse(LAUGHS)


@pytest.mark.parametrize("kwargs,status,message", [
    ({"data": text_xml("hi").encode(), "content_type": "application/json"}, 415, "仅接受 XML"),
    ({"data": b"text=hi", "content_type": "application/x-www-form-urlencoded"}, 415, "仅接受 XML"),
    ({"data": b"<xml>" + b"a" * 70000 + b"</xml>", "content_type": "text/xml"}, 413, "消息体过大"),
    ({"data": b"", "content_type": "text/xml"}, 400, "消息体为空"),
    ({"data": "<xml>你好</xml>".encode("gbk"), "content_type": "text/xml"}, 400, "UTF-8"),
    ({"data": b"<xml><MsgType>text</MsgType", "content_type": "text/xml"}, 400, "XML 格式错误"),
    ({"data": b"<xml><MsgType>text</MsgType><Content>hi</Content></xml>", "content_type": "text/xml"}, 400,
     "FromUserName"),
])
def test_malformed_requests_get_clear_errors(wx, client, factory, kwargs, status, message):
    resp = client.post(f"/wechat?{wx_query()}", **kwargs)
    assert resp.status_code == status
    assert message in resp.get_data(as_text=True)
    assert wx.extensions["rasa_client"].calls == [] and inbound_count(factory) == 0


def test_unknown_encryption_and_methods(wx, client):
    assert client.post(f"/wechat?{wx_query(encrypt_type='rot13')}", data=text_xml("x").encode(),
                       content_type="text/xml").status_code == 400
    resp = client.put(f"/wechat?{wx_query()}")
    assert resp.status_code == 405 and "不支持" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- other message types


def test_subscribe_unsupported_and_unsubscribe(wx, client):
    sub = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>{int(time.time())}"
           "</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert "维权助手" in reply_content(post_plain(client, sub))
    voice = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
             "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><MsgId>6001</MsgId></xml>")
    assert "只能处理文字和图片" in reply_content(post_plain(client, voice))
    unsub = sub.replace("subscribe", "unsubscribe")
    assert post_plain(client, unsub).get_data(as_text=True) == "success"
    assert wx.extensions["rasa_client"].calls == []


def test_image_becomes_evidence_of_the_latest_case(wx, client, cases):
    case_no = cases.submit(sender=f"wx-{OPENID}", channel="wechat")
    local_client(wx).add_media("MEDIA1", JPEG, "image/jpeg")
    resp = post_plain(client, image_xml("MEDIA1", msg_id=7001))
    assert case_no in reply_content(resp) and "证据" in reply_content(resp)
    post_plain(client, image_xml("MEDIA1", msg_id=7001), nonce="retry")  # retry: not stored twice
    from disputes.core import get_case

    with cases.factory() as db:
        evidence = get_case(db, case_no).evidence
        assert len(evidence) == 1 and evidence[0].content_type == "image/jpeg"
        assert (Path(wx.config["UPLOAD_DIR"]) / evidence[0].storage_path).read_bytes() == JPEG
        assert evidence[0].description == "微信发送的图片"


def test_image_without_case_or_with_bad_bytes(wx, client, cases):
    local_client(wx).add_media("MEDIA2", b"not an image at all", "image/jpeg")
    assert "还没有投诉案件" in reply_content(post_plain(client, image_xml("MEDIA2", msg_id=7002)))
    case_no = cases.submit(sender=f"wx-{OPENID}", channel="wechat")
    assert "图片未保存" in reply_content(post_plain(client, image_xml("MEDIA2", msg_id=7003)))
    assert "图片保存失败" in reply_content(post_plain(client, image_xml("UNKNOWN", msg_id=7004)))
    from disputes.core import get_case

    with cases.factory() as db:
        assert get_case(db, case_no).evidence == []


def test_web_consumers_cannot_use_wechat_sender_ids(wx, client, cases):
    """A wx- case belongs to the WeChat user: the web page of another session cannot open it."""
    case_no = cases.submit(sender=f"wx-{OPENID}", channel="wechat")
    assert client.get(f"/cases/{case_no}").status_code == 404


# ---------------------------------------------------------------- notification pushes


def test_push_delivers_notifications_once(wx, cases, factory):
    from disputes.service import pending_notifications
    from web.wechat_push import run_once

    cases.with_offer(sender=f"wx-{OPENID}", channel="wechat")
    client = local_client(wx)
    first = run_once(factory, client, cases.clock)
    assert first["sent"] >= 2
    texts = client.messages_to(OPENID)
    assert any("已提交" in t for t in texts) and any("和解方案" in t for t in texts)
    with factory() as db:
        assert pending_notifications(db, "wechat", f"wx-{OPENID}") == []
    assert run_once(factory, client, cases.clock)["sent"] == 0
    assert len(client.messages_to(OPENID)) == len(texts)


def test_push_outside_the_48_hour_window_waits_for_the_consumer(wx, client, cases, factory):
    from disputes.service import pending_notifications
    from web.wechat_client import WeChatSendError
    from web.wechat_push import run_once

    cases.submit(sender=f"wx-{OPENID}", channel="wechat")
    local = local_client(wx)
    local.fail_with = WeChatSendError("response out of time limit", code=45015)
    assert run_once(factory, local, cases.clock)["sent"] == 0
    with factory() as db:
        assert len(pending_notifications(db, "wechat", f"wx-{OPENID}")) == 1
    local.fail_with = None
    assert run_once(factory, local, cases.clock)["sent"] == 0  # backed off
    post_plain(client, text_xml("在吗", msg_id=9101))  # the consumer writes: the window is open again
    wait_until(lambda: any("已提交" in t for t in local.messages_to(OPENID)))


def test_stale_turns_get_an_apology(wx, factory, clock):
    from web.wechat_push import APOLOGY, recover_stale_turns
    from web.wechat_store import claim_inbound

    claim_inbound(factory, "stuck-1", OPENID, "text", clock.now())
    clock.advance(minutes=5)
    assert recover_stale_turns(factory, local_client(wx), clock) == 1
    assert recover_stale_turns(factory, local_client(wx), clock) == 0
    assert local_client(wx).messages_to(OPENID) == [APOLOGY]


def test_long_texts_are_split_for_the_customer_service_api():
    from web.wechat_client import split_text

    parts = split_text("第一行\n" + "很" * 1500)
    assert all(len(p.encode()) <= 2000 for p in parts) and "".join(parts).replace("\n", "") == "第一行" + "很" * 1500


def test_settings_come_from_the_environment(monkeypatch):
    from web.wechat_client import DEMO_TOKEN, LocalWeChatClient, make_client, settings_from

    assert settings_from({})["WECHAT_TOKEN"] == DEMO_TOKEN
    monkeypatch.setenv("WECHAT_TOKEN", "from-env")
    monkeypatch.setenv("WECHAT_APP_ID", "wxenv")
    assert settings_from({})["WECHAT_TOKEN"] == "from-env"
    assert settings_from({"WECHAT_TOKEN": "explicit"})["WECHAT_TOKEN"] == "explicit"
    assert isinstance(make_client(settings_from({})), LocalWeChatClient)
    with pytest.raises(RuntimeError):
        make_client({"WECHAT_MODE": "api"})


def test_migration_0002_downgrades_and_upgrades_again(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from disputes.db import alembic_config, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    assert {"wechat_inbound", "wechat_outbound"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        conn.commit()
    engine.dispose()
    engine = make_engine(url)
    assert "wechat_inbound" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    from disputes import db as dbmod

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    from tests.services import postgres_schema_url

    with postgres_schema_url() as url:
        yield url
        dbmod.dispose(url)


def test_store_claims_on_both_backends(store_url, clock):
    """MsgId claims and notification claims hold on SQLite and PostgreSQL alike."""
    from disputes import service
    from disputes.db import session_factory, upgrade
    from tests.web.conftest import make_facts
    from web.wechat_store import (
        ANSWERED,
        claim_inbound,
        claim_outbound,
        finish_inbound,
        finish_outbound,
    )

    upgrade(store_url)
    factory = session_factory(store_url)
    assert claim_inbound(factory, "m1", OPENID, "text", clock.now())[0] is True
    finish_inbound(factory, "m1", ANSWERED, clock.now(), "答复")
    claimed, row = claim_inbound(factory, "m1", OPENID, "text", clock.now())
    assert claimed is False and row.state == ANSWERED and row.reply_text == "答复"
    with factory() as db:
        service.submit_complaint(db, channel="wechat", sender_id=f"wx-{OPENID}", facts=make_facts(), decision=None,
                                 clock=clock)
        note = service.pending_notifications(db, "wechat", f"wx-{OPENID}")[0]["id"]
    assert claim_outbound(factory, note, OPENID, clock.now()) is True
    assert claim_outbound(factory, note, OPENID, clock.now()) is False  # someone is sending it
    finish_outbound(factory, note, clock.now(), ok=False, error="timeout")
    assert claim_outbound(factory, note, OPENID, clock.now()) is False  # backing off
    assert claim_outbound(factory, note, OPENID, clock.now(), ignore_backoff=True) is True
    finish_outbound(factory, note, clock.now(), ok=True)
    assert claim_outbound(factory, note, OPENID, clock.now(), ignore_backoff=True) is False  # sent: never again


def test_pushes_waiting_after_turns_do_not_hold_the_turn_threads(wx, client):
    """The pause before a push (WeChat shows the passive reply first) must not occupy a turn
    thread: with two turn threads and a long push pause, ten quick turns in a row are all still
    answered passively, well inside the window."""
    wx.config.update(WECHAT_THREADS=2, WECHAT_PUSH_DELAY=3, WECHAT_PASSIVE_TIMEOUT=1.5)
    wx.extensions.pop("wechat_executor", None)
    for i in range(10):
        started = time.monotonic()
        resp = post_plain(client, text_xml(f"第{i}条消息", msg_id=7000 + i))
        assert resp.status_code == 200
        assert time.monotonic() - started < 1.5
        assert "<Content>" in resp.get_data(as_text=True)  # a passive text reply, not "success"
