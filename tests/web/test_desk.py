"""Service desk: login (hashed passwords, CSRF, rate limit), per-platform authorisation on every
read and write, the queue with filters and SLA timers, the case page and the actions."""

from __future__ import annotations

import io

import pytest

from tests.web.conftest import ALICE, PASSWORD, PNG, as_consumer, csrf_from, desk_login


def test_login_page_is_chinese_and_protected_pages_redirect(web, client, desk_users):
    resp = client.get("/desk/")
    assert resp.status_code == 302 and "/desk/login" in resp.headers["Location"]
    page = client.get("/desk/login").get_data(as_text=True)
    assert "平台客服登录" in page and 'name="csrf_token"' in page


def test_login_logout_and_wrong_passwords(web, client, desk_users):
    resp = desk_login(client, "alice", "wrong password")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    resp = desk_login(client, "nobody", "wrong password")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    resp = desk_login(client, "alice")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/desk/")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/desk/").get_data(as_text=True)
    assert "小王" in page and "淘宝" in page
    token = csrf_from(client, "/desk/")
    client.post("/desk/logout", data={"csrf_token": token})
    assert client.get("/desk/").status_code == 302


def test_passwords_are_stored_hashed(factory, desk_users):
    from sqlalchemy import select

    from disputes.models import DeskUser

    with factory() as db:
        user = db.scalars(select(DeskUser).where(DeskUser.username == "alice")).one()
        assert PASSWORD not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_login_without_csrf_is_refused(web, client, desk_users):
    resp = client.post("/desk/login", data={"username": "alice", "password": PASSWORD})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    assert client.get("/desk/").status_code == 302


def test_login_is_rate_limited(web, client, desk_users):
    for _ in range(5):
        assert desk_login(client, "alice", "wrong password").status_code == 401
    resp = desk_login(client, "alice")
    assert resp.status_code == 429 and "操作过于频繁" in resp.get_data(as_text=True)


def test_changed_password_or_deactivation_ends_the_session(web, client, desk_users, factory):
    from sqlalchemy import select

    from disputes.models import DeskUser

    desk_login(client, "alice")
    assert client.get("/desk/").status_code == 200
    with factory() as db:
        user = db.scalars(select(DeskUser).where(DeskUser.username == "alice")).one()
        user.set_password("another password 123")
        db.commit()
    assert client.get("/desk/").status_code == 302


def test_open_redirects_are_not_followed(web, client, desk_users):
    token = csrf_from(client, "/desk/login")
    resp = client.post("/desk/login?next=//evil.example/x", data={"username": "alice", "password": PASSWORD,
                                                                  "csrf_token": token})
    assert resp.headers["Location"].endswith("/desk/")


def test_agents_see_only_their_platform(web, client, cases, desk_users):
    taobao = cases.negotiating(platform="淘宝")
    jd = cases.negotiating(platform="京东", sender="web-carol")
    desk_login(client, "alice")
    queue = client.get("/desk/").get_data(as_text=True)
    assert taobao in queue and jd not in queue
    everything = client.get("/desk/?state=all").get_data(as_text=True)
    assert jd not in everything
    resp = client.get(f"/desk/cases/{jd}")
    assert resp.status_code == 404 and "不属于您所在的平台" in resp.get_data(as_text=True)
    assert "蓝牙耳机" not in resp.get_data(as_text=True)
    assert client.get(f"/desk/cases/{taobao}").status_code == 200


def test_admins_see_all_platforms(web, client, cases, desk_users):
    taobao = cases.negotiating(platform="淘宝")
    jd = cases.negotiating(platform="京东", sender="web-carol")
    desk_login(client, "root")
    queue = client.get("/desk/").get_data(as_text=True)
    assert taobao in queue and jd in queue


def test_every_write_to_another_platforms_case_is_refused(web, client, cases, desk_users):
    jd = cases.escalated_desk(platform="京东", sender="web-carol")
    with cases.factory() as db:
        from disputes.core import get_case

        evidence_id = None
        case = get_case(db, jd)
    from disputes.service import add_evidence

    with cases.factory() as db:
        evidence_id = add_evidence(db, jd, sender_id="web-carol", filename="x.png", clock=cases.clock)["id"]
    before = cases.snapshot(jd)
    desk_login(client, "alice")
    token = csrf_from(client, "/desk/")
    posts = {
        "answer": {"action": "accept"},
        "takeover": {"message": "我来处理"},
        "message": {"message": "你好"},
        "close": {"reason": "结束"},
        "escalate": {},
    }
    for action, data in posts.items():
        resp = client.post(f"/desk/cases/{jd}/{action}", data={**data, "csrf_token": token})
        assert resp.status_code == 404, action
        assert "不属于您所在的平台" in resp.get_data(as_text=True)
    assert client.get(f"/desk/cases/{jd}/evidence/{evidence_id}").status_code == 404
    assert cases.snapshot(jd) == before
    assert case.state == "escalated_desk"


def test_case_page_shows_facts_evidence_decision_timeline_and_sla(web, client, cases, desk_users):
    case_no = cases.escalated_desk(platform="淘宝")
    as_consumer(client, ALICE)
    token = csrf_from(client, "/")
    client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG), "破损.png")}, headers={"X-CSRFToken": token},
                content_type="multipart/form-data")
    desk_login(client, "alice")
    html = client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    assert "某某数码旗舰店" in html and "1234567890" in html  # facts
    assert "破损.png" in html  # evidence
    assert "符合七日无理由退货条件" in html and "《消费者权益保护法》第二十五条" in html  # decision
    assert "已转平台客服" in html and "人工客服处理期限（SLA）" in html and "剩余" in html  # SLA
    assert "13800138000" not in html and "138****8000" in html
    evidence_link = client.get(f"/desk/cases/{case_no}").get_data(as_text=True).split("/evidence/")[1].split('"')[0]
    got = client.get(f"/desk/cases/{case_no}/evidence/{evidence_link}")
    assert got.status_code == 200 and got.data == PNG


def test_queue_filters_and_overdue_timer(web, client, cases, desk_users, clock):
    quality = cases.negotiating(platform="淘宝", problem="质量问题")
    late = cases.negotiating(platform="淘宝", problem="发货延迟", sender="web-dave")
    desk_login(client, "alice")
    only_late = client.get("/desk/?issue=发货延迟").get_data(as_text=True)
    assert late in only_late and quality not in only_late
    settled_view = client.get("/desk/?state=settled").get_data(as_text=True)
    assert late not in settled_view and "没有符合条件的案件" in settled_view
    assert client.get("/desk/?state=bogus&issue=<script>").status_code == 200
    clock.advance(days=10)
    assert "已超时" in client.get("/desk/").get_data(as_text=True)


def test_counter_offer_reaches_the_consumer(web, client, cases, desk_users):
    case_no = cases.negotiating(platform="淘宝")
    desk_login(client, "alice")
    token = csrf_from(client, f"/desk/cases/{case_no}")
    resp = client.post(f"/desk/cases/{case_no}/answer", data={"csrf_token": token, "action": "counter_offer",
                                                               "amount": "120.50", "remedy": "补偿",
                                                               "message": "商品无质量问题，可补偿部分款项"})
    assert resp.status_code == 302
    html = client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    assert "和解方案已发送给消费者" in html and "120.50元" in html
    from disputes.service import pending_notifications

    with cases.factory() as db:
        texts = [n["text"] for n in pending_notifications(db, "web", ALICE)]
    assert any("120.50元" in t for t in texts)


@pytest.mark.parametrize("data,message", [
    ({"action": "counter_offer", "amount": "abc", "remedy": "补偿"}, "金额必须是数字"),
    ({"action": "counter_offer", "amount": "-5", "remedy": "补偿"}, "金额应在0到1000万元之间"),
    ({"action": "counter_offer", "amount": "10"}, "还价时请选择方案"),
    ({"action": "counter_offer", "remedy": "补偿"}, "还价时请填写金额"),
    ({"action": "counter_offer", "amount": "10.001", "remedy": "补偿"}, "最多保留两位小数"),
    ({"action": "counter_offer", "amount": "10", "remedy": "送优惠券"}, "请选择有效的方案"),
    ({"action": "explode"}, "请选择有效的答复方式"),
    ({"action": "request_info"}, "请写明需要消费者补充什么材料"),
    ({"action": "reject", "message": "很" * 1001}, "说明最多1000字"),
])
def test_bad_answers_change_nothing(web, client, cases, desk_users, data, message):
    case_no = cases.negotiating(platform="淘宝")
    before = cases.snapshot(case_no)
    desk_login(client, "alice")
    token = csrf_from(client, f"/desk/cases/{case_no}")
    client.post(f"/desk/cases/{case_no}/answer", data={**data, "csrf_token": token})
    assert message in client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_request_info_reject_and_accept(web, client, cases, desk_users):
    case_no = cases.negotiating(platform="淘宝")
    desk_login(client, "alice")
    token = csrf_from(client, f"/desk/cases/{case_no}")
    client.post(f"/desk/cases/{case_no}/answer", data={"csrf_token": token, "action": "request_info",
                                                       "message": "请上传订单截图"})
    assert "平台要求补充材料" in client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    client.post(f"/desk/cases/{case_no}/answer", data={"csrf_token": token, "action": "reject", "message": "不同意"})
    assert cases.state(case_no) == "escalated_desk"
    client.post(f"/desk/cases/{case_no}/answer", data={"csrf_token": token, "action": "accept"})
    assert cases.state(case_no) == "settled"


def test_takeover_notifies_the_consumer_and_is_on_the_timeline(web, client, cases, desk_users):
    case_no = cases.escalated_desk(platform="淘宝")
    desk_login(client, "alice")
    token = csrf_from(client, f"/desk/cases/{case_no}")
    resp = client.post(f"/desk/cases/{case_no}/takeover", data={"csrf_token": token, "message": "您好，我来跟进"})
    assert resp.status_code == 302
    html = client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    assert "平台客服已接手对话" in html and "给消费者发消息" in html
    client.post(f"/desk/cases/{case_no}/message", data={"csrf_token": token, "message": "请问收到退款了吗"})
    from disputes.models import Escalation
    from disputes.service import pending_notifications

    with cases.factory() as db:
        texts = [n["text"] for n in pending_notifications(db, "web", ALICE)]
        esc = db.query(Escalation).filter_by(tier="desk").one()
        assert esc.assignee_id is not None
    assert any("淘宝人工客服小王已接手您的案件" in t and "我来跟进" in t for t in texts)
    assert any("请问收到退款了吗" in t for t in texts)
    client_page = as_consumer(web.test_client(), ALICE).get(f"/cases/{case_no}").get_data(as_text=True)
    assert "平台客服已接手对话" in client_page


def test_close_and_escalate(web, client, cases, desk_users):
    case_no = cases.escalated_desk(platform="淘宝")
    desk_login(client, "alice")
    token = csrf_from(client, f"/desk/cases/{case_no}")
    client.post(f"/desk/cases/{case_no}/close", data={"csrf_token": token, "reason": ""})
    assert "请填写结案原因" in client.get(f"/desk/cases/{case_no}").get_data(as_text=True)
    assert cases.state(case_no) == "escalated_desk"
    client.post(f"/desk/cases/{case_no}/escalate", data={"csrf_token": token})
    assert cases.state(case_no) == "escalated_regulator"
    client.post(f"/desk/cases/{case_no}/close", data={"csrf_token": token, "reason": "消费者已向12315投诉"})
    assert cases.state(case_no) == "closed"
    client.post(f"/desk/cases/{case_no}/close", data={"csrf_token": token, "reason": "again"})
    assert "不能结案" in client.get(f"/desk/cases/{case_no}").get_data(as_text=True)


def test_writes_need_a_login_and_csrf(web, client, cases, desk_users):
    case_no = cases.negotiating(platform="淘宝")
    before = cases.snapshot(case_no)
    resp = client.post(f"/desk/cases/{case_no}/answer", data={"action": "accept"})
    assert resp.status_code in (400, 401)
    desk_login(client, "alice")
    resp = client.post(f"/desk/cases/{case_no}/answer", data={"action": "accept"})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_handoffs_without_case_for_admins(web, client, cases, desk_users, clock):
    from disputes.service import record_handoff

    with cases.factory() as db:
        record_handoff(db, "web-erin", "想找人工", clock, channel="web")
    desk_login(client, "alice")
    assert "无案件的转人工请求" not in client.get("/desk/").get_data(as_text=True)
    token = csrf_from(client, "/desk/")
    assert client.post("/desk/handoffs/1/resolve", data={"csrf_token": token}).status_code == 404
    client = web.test_client()
    desk_login(client, "root")
    assert "想找人工" in client.get("/desk/").get_data(as_text=True)
    token = csrf_from(client, "/desk/")
    client.post("/desk/handoffs/1/resolve", data={"csrf_token": token})
    assert "想找人工" not in client.get("/desk/").get_data(as_text=True)


def test_desk_admin_cli(database_url, monkeypatch, capsys):
    from web.desk_admin import main

    monkeypatch.setenv("DESK_PW", "a long password")
    assert main(["--database-url", database_url, "create-user", "--platform", "sandbox", "--username", "carol",
                 "--password-env", "DESK_PW"]) == 0
    assert "carol" in capsys.readouterr().out
    assert main(["--database-url", database_url, "create-user", "--platform", "sandbox", "--username", "carol",
                 "--password-env", "DESK_PW"]) == 2
    assert "已存在" in capsys.readouterr().err
    assert main(["--database-url", database_url, "create-user", "--platform", "nowhere", "--username", "dan",
                 "--password-env", "DESK_PW"]) == 2
    assert "未知的平台" in capsys.readouterr().err
    assert main(["--database-url", database_url, "create-user", "--username", "dan", "--password-env", "DESK_PW"]) == 2
    assert "--platform" in capsys.readouterr().err
    monkeypatch.setenv("SHORT_PW", "short")
    assert main(["--database-url", database_url, "create-user", "--platform", "sandbox", "--username", "dan",
                 "--password-env", "SHORT_PW"]) == 2
    assert "至少8位" in capsys.readouterr().err
    assert main(["--database-url", database_url, "list-users"]) == 0
    assert "carol\tagent\tsandbox" in capsys.readouterr().out
    assert main(["--database-url", database_url, "deactivate", "--username", "carol"]) == 0
    from disputes.db import session_factory
    from disputes.desk import authenticate_desk_user

    with session_factory(database_url)() as db:
        assert authenticate_desk_user(db, "carol", "a long password") is None
