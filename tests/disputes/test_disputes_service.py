"""Service functions: submission, status, authorisation on every read and write, notifications,
hand-off, and personal-data minimisation."""

from __future__ import annotations

import logging

import pytest

from disputes import service
from disputes.models import Case, Consumer, mask_phone
from disputes.states import State
from tests.helpers import SEVEN_DAY_DECISION, make_facts


def submit(session, clock, sender="web-alice", **facts):
    return service.submit_complaint(session, channel="web", sender_id=sender, facts=make_facts(**facts),
                                    decision=SEVEN_DAY_DECISION, clock=clock)


def test_submit_stores_submitted_case_with_events(session, clock, jobs) -> None:
    case = submit(session, clock)
    assert case.state == State.SUBMITTED and case.case_no == "ODR-20260501-0001"
    assert case.platform.key == "taobao" and case.merchant.name == "某某数码旗舰店"
    assert case.demanded_remedy == "退货退款" and str(case.demanded_amount) == "199.00"
    assert case.decision == SEVEN_DAY_DECISION
    assert [e.type for e in case.events] == ["case_created", "state_changed"]
    assert case.events[1].legal_basis[0] == {"law": "消费者权益保护法", "article": 25,
                                             "citation": "《消费者权益保护法》第二十五条"}
    assert jobs == [("open_case", {"case_no": case.case_no})]  # dispatched only after commit


def test_personal_data_is_kept_off_the_case_and_masked(session, clock, caplog) -> None:
    case = submit(session, clock, phone="+86 138-0013-8000", name="张三", address="上海市某路1号")
    assert "phone" not in case.facts and "name" not in case.facts and "address" not in case.facts
    assert case.consumer.phone == "13800138000" and case.consumer.consent_at == clock.now()
    assert "13800138000" not in repr(case.consumer) and "138****8000" in repr(case.consumer)
    status = service.case_status(session, case.case_no, sender_id="web-alice")
    assert status["phone"] == "138****8000"
    assert "13800138000" not in str(status)
    assert mask_phone("13800138000") == "138****8000" and mask_phone("021-1234") == "02****34"


def test_submit_validation(session, clock) -> None:
    with pytest.raises(service.ConsentRequired) as info:
        submit(session, clock, consent=None)
    assert "同意" in str(info.value)
    with pytest.raises(service.ValidationError):
        service.submit_complaint(session, channel="sms", sender_id="x", facts=make_facts(), decision=None, clock=clock)
    with pytest.raises(service.ValidationError, match="电话"):
        submit(session, clock, phone="call me")
    with pytest.raises(service.ValidationError, match="日期"):
        submit(session, clock, signed_date="上周三")
    assert session.query(Case).count() == 0


def test_unknown_platform_goes_to_the_desk_queue(session, clock) -> None:
    case = submit(session, clock, platform="某某小众商城")
    assert case.platform.key == "unlisted" and case.platform_name == "某某小众商城"
    assert service.case_status(session, case.case_no, sender_id="web-alice")["platform"] == "某某小众商城"


def test_remedy_normalisation() -> None:
    assert service.normalise_remedy("退一赔三") == "赔偿"
    assert service.normalise_remedy("我要退款") == "退货退款"
    assert service.normalise_remedy("换个新的") == "换货"
    assert service.normalise_remedy("道歉") is None


def test_status_in_chinese(session, clock) -> None:
    case = submit(session, clock)
    status = service.case_status(session, case.case_no.lower(), sender_id="web-alice")
    assert status["state_label"] == "已提交"
    assert [t["text"] for t in status["timeline"]] == ["创建投诉", "状态变为「已提交」"]
    assert status["timeline"][0]["at"] == "2026-05-01 10:00"


def test_authorisation_on_every_read_and_write(session, clock) -> None:
    case = submit(session, clock)
    other = "web-mallory"
    with pytest.raises(service.CaseAccessError) as info:
        service.case_status(session, case.case_no, sender_id=other)
    assert isinstance(info.value, service.AccessDenied)
    # same message as a missing case, so case numbers cannot be probed
    with pytest.raises(service.CaseAccessError) as missing:
        service.case_status(session, "ODR-20260501-9999", sender_id=other)
    assert str(info.value) == str(missing.value)
    with pytest.raises(service.CaseAccessError):
        service.case_status(session, case.case_no, sender_id="web-alice", channel="wechat")
    for call in (
        lambda: service.respond_to_offer(session, case.case_no, sender_id=other, accept=True, clock=clock),
        lambda: service.update_contact(session, case.case_no, sender_id=other, clock=clock, address="x"),
        lambda: service.add_evidence(session, case.case_no, sender_id=other, filename="a.jpg", clock=clock),
        lambda: service.withdraw_case(session, case.case_no, sender_id=other, clock=clock),
    ):
        with pytest.raises(service.CaseAccessError):
            call()
    session.expire_all()
    assert session.get(Case, case.id).state == State.SUBMITTED
    assert [e.type for e in session.get(Case, case.id).events] == ["case_created", "state_changed"]
    assert service.latest_case(session, other) is None
    assert service.latest_case(session, "web-alice").case_no == case.case_no


def test_respond_without_offer(session, clock) -> None:
    case = submit(session, clock)
    with pytest.raises(service.OfferError) as info:
        service.respond_to_offer(session, case.case_no, sender_id="web-alice", accept=True, clock=clock)
    assert isinstance(info.value, service.NoPendingOffer) and "没有" in str(info.value)


def test_notifications_outbox(session, clock) -> None:
    a = submit(session, clock)
    submit(session, clock, sender="web-bob")
    pending = service.pending_notifications(session, "web", "web-alice")
    assert [n["case_no"] for n in pending] == [a.case_no] and a.case_no in pending[0]["text"]
    assert set(service.pending_recipients(session, "web")) == {"web-alice", "web-bob"}
    assert service.mark_delivered(session, [pending[0]["id"]], clock, recipient="web-bob") == 0
    assert service.mark_delivered(session, [pending[0]["id"]], clock, recipient="web-alice") == 1
    assert service.mark_delivered(session, [pending[0]["id"]], clock) == 0
    assert service.pending_notifications(session, "web", "web-alice") == []
    assert len(service.pending_notifications(session, "web", "web-bob")) == 1


def test_handoff_with_and_without_case(session, clock) -> None:
    out = service.record_handoff(session, "web-nobody", "消费者要求转人工", clock, channel="web")
    assert out["case_no"] is None and "人工客服" in out["message"]
    case = submit(session, clock)
    out = service.record_handoff(session, "web-alice", "消费者要求转人工", clock, channel="web")
    assert out["case_no"] == case.case_no and out["state"] == State.ESCALATED_DESK
    assert out["state_label"] == "已转平台客服"
    status = service.case_status(session, case.case_no, sender_id="web-alice")
    assert status["next_deadline_label"] == "平台人工客服处理期限"
    # 10 working days from Friday 2026-05-01 10:00 → Friday 2026-05-15 10:00
    assert status["next_deadline"] == "2026-05-15 10:00"
    again = service.record_handoff(session, case.case_no, "再次要求", clock, sender_id="web-alice")
    assert again["state"] == State.ESCALATED_DESK
    with pytest.raises(service.CaseAccessError):
        service.record_handoff(session, case.case_no, "别人的案件", clock, sender_id="web-mallory")


def test_withdraw_and_contact_update(session, clock) -> None:
    case = submit(session, clock)
    status = service.update_contact(session, case.case_no, sender_id="web-alice", clock=clock, name="张三",
                                    address="上海市浦东新区某路1号")
    assert status["state"] == State.SUBMITTED
    assert session.query(Consumer).one().address == "上海市浦东新区某路1号"
    status = service.withdraw_case(session, case.case_no, sender_id="web-alice", clock=clock)
    assert status["state_label"] == "已结案"


def test_log_lines_do_not_leak_sender_ids(session, clock, caplog) -> None:
    case = submit(session, clock)
    with caplog.at_level(logging.WARNING), pytest.raises(service.CaseAccessError):
        service.case_status(session, case.case_no, sender_id="web-mallory-1234567")
    assert "web-mallory-1234567" not in caplog.text


def test_show_prints_the_stored_case_facts_decision_state_and_timeline(session, clock, db_url, monkeypatch,
                                                                       capsys) -> None:
    import json

    from disputes.__main__ import main

    case = submit(session, clock)
    session.commit()
    monkeypatch.setenv("ODR_DATABASE_URL", db_url)
    assert main(["show", case.case_no.lower(), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["case_no"] == case.case_no and shown["state"] == "submitted"
    assert shown["facts"]["product"] == "蓝牙耳机" and "phone" not in shown["facts"]
    assert shown["decision"] == SEVEN_DAY_DECISION
    assert [e["type"] for e in shown["timeline"]][:1] == ["case_created"]
    assert main(["show", "ODR-20260501-9999"]) == 1
    assert "未找到案件" in capsys.readouterr().err
