"""The chat relay: page, input validation and a clear error when the dialogue server is down."""

from __future__ import annotations


def test_chat_page_is_chinese_and_sets_a_session(client):
    resp = client.get("/")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "维权助手" in body and 'lang="zh-CN"' in body
    assert "session=" in resp.headers.get("Set-Cookie", "")


def test_non_json_is_rejected_with_a_chinese_message(client):
    resp = client.post("/api/chat/messages", data="text=hi")
    assert resp.status_code == 415
    assert "JSON" in resp.get_json()["error"]


def test_empty_and_oversized_messages_are_rejected(client):
    assert client.post("/api/chat/messages", json={"text": "   "}).status_code == 400
    assert client.post("/api/chat/messages", json={"nope": 1}).status_code == 400
    resp = client.post("/api/chat/messages", json={"text": "很" * 2001})
    assert resp.status_code == 413
    assert "2000" in resp.get_json()["error"]


def test_dialogue_server_down_gives_503_and_keeps_nothing_half_done(client):
    resp = client.post("/api/chat/messages", json={"text": "七天无理由退货怎么算"})
    assert resp.status_code == 503
    assert "稍后再试" in resp.get_json()["error"]


def test_notifications_start_empty(client):
    resp = client.get("/api/chat/notifications")
    assert resp.status_code == 200
    assert resp.get_json() == {"messages": []}


def test_log_masking_hides_phone_numbers_and_ids():
    from disputes.privacy import mask_text

    assert mask_text("电话13812345678") == "电话138****5678"
    assert mask_text("+86 138-1234-5678") == "138****5678"
    assert "****" in mask_text("身份证110101199003071234")
    assert mask_text("订单2026112012345678") == "订单2026112012345678"


def test_chat_page_has_the_upload_control_and_a_csrf_token(client):
    body = client.get("/").get_data(as_text=True)
    assert 'id="evidence"' in body and 'type="file"' in body
    assert 'name="csrf-token"' in body and "我的案件" in body


def test_csrf_does_not_break_the_json_chat_api_or_the_platform_api(client):
    # The chat relay takes JSON without a CSRF token (Rasa is down in tests: 503, not a CSRF 400).
    assert client.post("/api/chat/messages", json={"text": "你好"}).status_code == 503
    # The platform API answers with its own signature error, not a CSRF failure.
    resp = client.post("/api/platform/v1/cases/ODR-20260501-0001/responses", json={"action": "accept"})
    assert resp.status_code == 401 and "X-ODR-Platform" in resp.get_json()["error"]["message"]


def test_unknown_pages_and_methods_get_chinese_errors(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    resp = client.delete("/cases")
    assert resp.status_code == 405 and "不支持该请求方法" in resp.get_data(as_text=True)
    resp = client.get("/api/chat/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"] == "页面不存在，或您无权查看。"


def test_pages_cannot_be_framed_or_run_inline_scripts(client):
    resp = client.get("/")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_messages_go_to_the_desk_while_a_human_holds_the_conversation(app, client):
    """After 「转人工」 the consumer's messages are kept on the case for the desk, not sent to the
    bot (Rasa is down in this fixture, so a relayed message would answer 503)."""
    from disputes.clock import SystemClock
    from disputes.db import session_factory
    from disputes.service import case_status, record_handoff, submit_complaint

    client.get("/")
    with client.session_transaction() as s:
        sid = s["sender_id"]
    factory = session_factory(app.config["DATABASE_URL"])
    with factory() as db:
        case = submit_complaint(
            db, channel="web", sender_id=sid, clock=SystemClock(), decision=None,
            facts={"platform": "京东", "product": "耳机", "problem": "质量问题", "description": "左耳没声音",
                   "phone": "13812345678", "consent": True},
        )
        record_handoff(db, case.case_no, "消费者要求转人工", SystemClock(), sender_id=sid)
    resp = client.post("/api/chat/messages", json={"text": "请尽快处理，谢谢"})
    assert resp.status_code == 200
    assert "已转给平台人工客服" in resp.get_json()["messages"][0]["text"]
    with factory() as db:
        timeline = case_status(db, case.case_no, sender_id=sid)["timeline"]
    assert any(e["text"] == "消费者留言：请尽快处理，谢谢" for e in timeline)

    resp = client.post("/api/chat/messages", json={"text": "返回机器人"})
    assert "已切回智能助手" in resp.get_json()["messages"][0]["text"]
    # back with the bot: the message is relayed to Rasa again (down here → 503)
    assert client.post("/api/chat/messages", json={"text": "七天无理由怎么算"}).status_code == 503


def test_a_turn_the_bot_answers_with_nothing_gets_a_chinese_message(app, client):
    """Rasa replies with no message when a custom action failed (the action server is down): the
    consumer is told to send it again instead of seeing nothing."""
    from tests.web.conftest import FakeRasa

    rasa = FakeRasa()
    rasa.reply = []
    app.extensions["rasa_client"] = rasa
    resp = client.post("/api/chat/messages", json={"text": "2026年11月24日"})
    assert resp.status_code == 200
    [message] = resp.get_json()["messages"]
    assert "稍后重新发送" in message["text"] and message["buttons"] == []
    assert len(rasa.calls) == 1
