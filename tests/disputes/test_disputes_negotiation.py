"""End to end with the sandbox platform and the platform API on loopback: settlement, counter-offer,
bounded rounds, silence → desk → 12315 package (jumping the frozen clock), retries, reminders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from disputes import desk, service
from disputes.export12315 import build_package, render_pdf
from disputes.models import CaseEvent, Escalation, Offer, WebhookDelivery
from disputes.states import State
from tests.helpers import SEVEN_DAY_DECISION

QUALITY_DECISION = {
    "seven_day_return_eligible": False,
    "reason_codes": ["QUALITY_DEFECT"],
    "legal_basis": [{"law": "消费者权益保护法", "article": 24}],
    "suggested_remedies": ["退货退款", "换货", "维修"],
    "punitive": None,
}


def event_types(world, case_no: str) -> list[str]:
    with world.factory() as s:
        case = world.case(case_no)
        return [e.type for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def test_seven_day_return_is_settled_by_the_sandbox(world) -> None:
    case_no = world.submit(decision=SEVEN_DAY_DECISION)
    assert world.state(case_no) == State.SUBMITTED
    out = world.pump()
    assert out["opened"] == [case_no] and out["delivered"] == ["delivered"]
    world.wait_state(case_no, State.SETTLED)
    world.wait_answers(1)

    ledger = world.ledger.snapshot()
    [received] = ledger["received"]
    assert received["type"] == "settlement_request" and received["case_no"] == case_no
    [answer] = ledger["answers"]
    assert answer["status"] == 200 and answer["body"]["action"] == "accept"
    types = event_types(world, case_no)
    assert types == ["case_created", "state_changed", "state_changed", "settlement_requested", "webhook_delivered",
                     "platform_accepted", "state_changed"] or types == [
        "case_created", "state_changed", "state_changed", "settlement_requested", "platform_accepted",
        "state_changed", "webhook_delivered"]  # the platform may answer before the delivery is recorded
    texts = [n["text"] for n in world.notifications()]
    assert any("已同意退货退款" in t and "199.00元" in t for t in texts)
    with world.factory() as s:
        status = service.case_status(s, case_no, sender_id="web-alice")
    assert status["state_label"] == "已和解"
    assert status["offers"][0]["status"] == "accepted"


def test_settlement_request_carries_claim_decision_and_no_personal_data(world) -> None:
    case_no = world.submit(decision=SEVEN_DAY_DECISION, name="张三", address="上海市某路1号")
    world.pump()
    with world.factory() as s:
        d = s.scalars(select(WebhookDelivery)).first()
    body = d.body
    assert "13800138000" not in body and "张三" not in body and "上海市某路1号" not in body
    import json

    req = json.loads(body)
    assert req["type"] == "settlement_request" and req["case_no"] == case_no and req["round"] == 1
    assert req["claim"] == {"remedy": "退货退款", "amount_yuan": "199.00", "text": "消费者请求：退货退款199.00元",
                            "items": [{"kind": "refund", "label": "退还货款", "amount_yuan": "199.00", "note": None,
                                       "basis": []}]}
    assert req["decision"] == SEVEN_DAY_DECISION
    assert {"law": "消费者权益保护法", "article": 25, "citation": "《消费者权益保护法》第二十五条"} in req["legal_basis"]
    # 3 business days from Friday 2026-05-01 10:00 (Beijing) → Wednesday 2026-05-06 10:00
    assert req["response_deadline"] == "2026-05-06T02:00:00+00:00"
    assert req["facts"]["order_id"] == "1234567890" and req["evidence"] == []


def test_counter_offer_and_consumer_acceptance(world) -> None:
    case_no = world.submit(decision=QUALITY_DECISION, problem="质量问题", description="耳机左耳没有声音")
    world.pump()
    world.wait_for(lambda: any(n["kind"] == "offer" for n in world.notifications()), what="offer notification")
    offer_note = next(n for n in world.notifications() if n["kind"] == "offer")["text"]
    assert "补偿" in offer_note and "59.70元" in offer_note
    assert "2026-05-04 10:00" in offer_note  # consumer_reply: 3 days
    assert "「接受」" in offer_note and "「拒绝」" in offer_note
    with world.factory() as s:
        status = service.case_status(s, case_no, sender_id="web-alice")
        assert status["state_label"] == "协商中" and status["pending_offer"]["amount"] == "59.70"
        assert status["next_deadline_label"] == "您答复方案的期限"
        result = service.respond_to_offer(s, case_no, sender_id="web-alice", accept=True, clock=world.clock)
    assert result["accepted"] and result["state_label"] == "已和解" and "59.70元" in result["message"]
    world.pump()  # tells the platform
    world.wait_for(lambda: any(r["type"] == "consumer_response" for r in world.ledger.snapshot()["received"]),
                   what="consumer_response webhook")
    with world.factory() as s:
        with_offer = s.scalars(select(Offer)).one()
        assert with_offer.status == "accepted" and with_offer.responded_at == world.clock.now()


def test_rounds_are_bounded_then_the_desk_takes_over(world) -> None:
    case_no = world.submit(decision=QUALITY_DECISION, problem="质量问题")
    world.pump()
    amounts = []
    for round_no in (1, 2, 3):
        world.wait_for(lambda r=round_no: _pending_round(world, case_no) == r, what=f"offer of round {round_no}")
        with world.factory() as s:
            status = service.case_status(s, case_no, sender_id="web-alice")
            amounts.append(status["pending_offer"]["amount"])
            result = service.respond_to_offer(s, case_no, sender_id="web-alice", accept=False, clock=world.clock)
        world.pump()
    assert amounts == ["59.70", "99.50", "139.30"]  # the sandbox raises its offer each round
    assert result["state_label"] == "已转平台客服" and "3轮上限" in result["message"]
    with world.factory() as s:
        status = service.case_status(s, case_no, sender_id="web-alice")
        assert status["next_deadline_label"] == "平台人工客服处理期限"
        assert s.scalars(select(Escalation)).one().tier == "desk"


def _pending_round(world, case_no: str) -> int | None:
    with world.factory() as s:
        pending = service.case_status(s, case_no, sender_id="web-alice")["pending_offer"]
        return pending and pending["round"]


def test_silent_platform_escalates_to_desk_then_12315(world) -> None:
    case_no = world.submit(decision=SEVEN_DAY_DECISION, shop="沉默小店", signed_date="2026-04-20")
    world.pump()
    assert world.ledger.snapshot()["answers"] == []
    world.clock.advance(days=5, hours=1)  # Fri + 3 business days = Wed 10:00; now Wed 11:00
    out = world.pump()
    assert out["deadlines"] == {case_no: "escalated_desk"}
    with world.factory() as s:
        status = service.case_status(s, case_no, sender_id="web-alice")
    assert status["state_label"] == "已转平台客服"
    assert any("平台未在期限内答复" in n["text"] for n in world.notifications())
    assert world.pump()["deadlines"] == {}  # nothing more until the SLA runs out

    world.clock.advance(days=15)  # past the 10-working-day desk SLA
    assert world.pump()["deadlines"] == {case_no: "escalated_regulator"}
    with world.factory() as s:
        status = service.case_status(s, case_no, sender_id="web-alice")
        assert status["state_label"] == "已转12315" and status["next_deadline"] is None
        assert status["package_available"]
        assert status["package_missing"] == ["投诉人姓名", "投诉人通讯地址", "被投诉人地址"]
        pkg = s.scalars(select(Escalation).where(Escalation.tier == "regulator")).one().package
    note = next(n for n in world.notifications() if n["kind"] == "package_ready")["text"]
    assert "投诉人姓名、投诉人通讯地址、被投诉人地址" in note and "第十条" in note
    assert pkg["complainant"] == {"name": "待补充", "phone": "138****8000", "address": "待补充"}  # stored copy
    with world.factory() as s:
        pkg = build_package(s, case_no)  # built for export: the full number
    assert pkg["complainant"] == {"name": "待补充", "phone": "13800138000", "address": "待补充"}
    assert pkg["respondent"]["name"] == "沉默小店" and pkg["respondent"]["address"] == "待补充"
    assert pkg["request"] == "请求被投诉人办理退货并退还货款199.00元。"
    assert "沉默小店" in pkg["facts"] and "2026-04-20签收" in pkg["facts"]
    assert [q["citation"] for q in pkg["legal_basis"]] == ["《消费者权益保护法》第二十五条",
                                                          "《网络购买商品七日无理由退货暂行办法》第十条"]
    assert pkg["legal_basis"][0]["text"].startswith("第二十五条")
    assert any("已转12315" in t["event"] for t in pkg["timeline"])
    pdf = render_pdf(pkg)
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf and len(pdf) > 5000

    # the consumer adds what is missing; the stored package is rebuilt
    with world.factory() as s:
        service.update_contact(s, case_no, sender_id="web-alice", clock=world.clock, name="张三",
                               address="上海市浦东新区某路1号", shop_address="浙江省杭州市某区某路2号")
        pkg = build_package(s, case_no)
        assert pkg["missing"] == []
        stored = s.scalars(select(Escalation).where(Escalation.tier == "regulator")).one().package
        assert stored["complainant"]["name"] == "张三"


def test_platform_rejects_then_desk_agent_settles(world) -> None:
    case_no = world.submit(decision={"seven_day_return_eligible": False}, problem="不想要了")
    world.pump()
    world.wait_state(case_no, State.ESCALATED_DESK)
    with world.factory() as s:
        agent = desk.create_desk_user(s, "sandbox-agent", "correct horse", clock=world.clock, platform_key="sandbox")
        other = desk.create_desk_user(s, "jd-agent", "correct horse", clock=world.clock, platform_key="jd")
        assert desk.authenticate_desk_user(s, "sandbox-agent", "wrong") is None
        assert [r["case_no"] for r in desk.desk_queue(s, agent, world.clock)] == [case_no]
        assert desk.desk_queue(s, other, world.clock) == []
        try:
            desk.desk_answer(s, case_no, other, {"action": "accept"}, world.clock)
        except service.AccessDenied:
            pass
        else:  # pragma: no cover
            raise AssertionError("an agent of another platform answered")
        desk.desk_answer(s, case_no, agent, {"action": "counter_offer", "remedy": "换货", "message": "可换新"},
                         world.clock)
        status = service.case_status(s, case_no, sender_id="web-alice")
        assert status["pending_offer"]["remedy"] == "换货" and status["pending_offer"]["source"] == "desk"
        service.respond_to_offer(s, case_no, sender_id="web-alice", accept=True, clock=world.clock)
        status = service.case_status(s, case_no, sender_id="web-alice")
    assert status["state_label"] == "已和解"
    assert any(t["actor"] == "客服" for t in status["timeline"])


def test_unanswered_offer_expires_into_the_next_round(world) -> None:
    case_no = world.submit(decision=QUALITY_DECISION, problem="质量问题")
    world.pump()
    world.wait_for(lambda: _pending_round(world, case_no) == 1, what="first offer")
    world.clock.advance(days=3, minutes=1)
    with world.factory() as s:
        try:
            service.respond_to_offer(s, case_no, sender_id="web-alice", accept=True, clock=world.clock)
        except service.OfferExpired as exc:
            assert "届满" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("accepted an expired offer")
    assert world.pump()["deadlines"] == {case_no: "offer_expired"}
    world.pump()
    world.wait_for(lambda: _pending_round(world, case_no) == 2, what="second offer")


def test_seven_day_reminder_is_sent_once_before_the_window_closes(world) -> None:
    # signed 2026-04-24 → the period runs 04-25 … 05-01; the reminder goes out within the last 24 h
    case_no = world.submit(decision=SEVEN_DAY_DECISION, shop="沉默小店", signed_date="2026-04-24")
    assert world.pump()["reminders"] == [case_no]
    assert world.pump()["reminders"] == []
    note = next(n for n in world.notifications() if n["kind"] == "reminder")["text"]
    assert "2026-05-01" in note and "第十条" in note
    late = world.submit(decision=SEVEN_DAY_DECISION, shop="沉默小店", signed_date="2026-04-20", sender="web-bob")
    early = world.submit(decision=SEVEN_DAY_DECISION, shop="沉默小店", signed_date="2026-04-30", sender="web-carol")
    assert world.pump()["reminders"] == []
    world.clock.set("2026-05-07T12:00:00+08:00")
    assert world.pump()["reminders"] == [early]
    assert late


def test_webhook_retries_with_backoff_then_escalates(world, monkeypatch, tmp_path) -> None:
    from tests.disputes.conftest import write_platforms_file

    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "down.yaml", "http://127.0.0.1:9/none"))
    case_no = world.submit(decision=SEVEN_DAY_DECISION)
    world.pump()
    delays = []
    for _ in range(20):
        with world.factory() as s:
            d = s.scalars(select(WebhookDelivery).where(WebhookDelivery.kind == "settlement_request")).one()
        if d.status != "pending":
            break
        delays.append((d.next_attempt_at - world.clock.now()).total_seconds())
        world.clock.set(d.next_attempt_at + timedelta(seconds=1))
        world.pump()
    assert d.status == "dead" and d.attempts == 8
    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0]  # base 5 s · 2^(attempt-1)
    assert world.state(case_no) == State.ESCALATED_DESK
    assert event_types(world, case_no).count("webhook_retry") == 7


def test_concurrent_sweeps_escalate_once(world) -> None:
    """Two workers running the periodic sweep at the same moment: one escalation, one reminder."""
    import threading

    from disputes import jobs

    numbers = [world.submit(decision=SEVEN_DAY_DECISION, shop="沉默小店", signed_date="2026-05-04",
                            sender=f"web-{i}") for i in range(5)]
    world.pump()
    world.clock.set("2026-05-11T09:00:00+08:00")  # past the response deadline, inside the last reminder day
    barrier = threading.Barrier(4)
    outcomes = []

    def sweep() -> None:
        barrier.wait()
        outcomes.append(jobs.tick(world.factory, world.clock))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    escalated = [no for o in outcomes for no in o["deadlines"]]
    reminded = [no for o in outcomes for no in o["reminders"]]
    assert sorted(escalated) == sorted(numbers) and sorted(reminded) == sorted(numbers)
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 5
        for no in numbers:
            types = event_types(world, no)
            assert types.count("escalated") == 1 and types.count("seven_day_reminder") == 1
