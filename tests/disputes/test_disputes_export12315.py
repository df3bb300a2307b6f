"""The 12315 package without the servers: the claim it states, the jurisdiction sentence for each
kind of seller, and the separate 举报 part (or a report only) when the decision recommends one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from disputes import negotiation, service, texts
from disputes.core import platform_config
from disputes.export12315 import build_package, render_pdf
from knowledge.corpus import resolve
from tests.helpers import SEVEN_DAY_DECISION, make_facts

MEASURES = "市场监督管理投诉举报处理办法"

FRAUD_DECISION = {
    "seven_day_return_eligible": None,
    "reason_codes": ["FRAUD_3X"],
    "legal_basis": [{"law": "消费者权益保护法", "article": 55}],
    "suggested_remedies": ["refund", "punitive_damages"],
    "punitive": {"multiple": 3, "minimum_yuan": 500, "amount_yuan": 597, "basis": [
        {"law": "消费者权益保护法", "article": 55}], "against": ["销售者"], "measure": "price", "base_yuan": 199,
        "up_to": False},
}

REPORT_DECISION = {
    **SEVEN_DAY_DECISION,
    "reason_codes": ["WITHIN_WINDOW", "REPORT_ADMIN_VIOLATION", "COMPLAINT_AND_REPORT_SEPARATE"],
    "report_recommended": True,
    "report_basis": [
        {"law": MEASURES, "article": 3},
        {"law": MEASURES, "article": 9},
        {"law": "侵害消费者权益行为处罚办法", "article": 9},
        {"law": "网络购买商品七日无理由退货暂行办法", "article": 31},
        {"law": "消费者权益保护法", "article": 999},  # not in the corpus: dropped, never invented
    ],
}

REPORT_ONLY_DECISION = {
    "seven_day_return_eligible": None,
    "reason_codes": ["REPORT_ADMIN_VIOLATION", "REPORT_ONLY_NO_CONSUMER_DISPUTE"],
    "legal_basis": [{"law": "食品安全法", "article": 34}],
    "suggested_remedies": ["report_to_regulator"],
    "punitive": None,
    "report_recommended": True,
    "report_basis": [
        {"law": MEASURES, "article": 3},
        {"law": "食品安全法", "article": 34},
        {"law": "食品安全法", "article": 124},
    ],
}


def submit(session, clock, decision, **facts):
    return service.submit_complaint(session, channel="web", sender_id="web-alice", facts=make_facts(**facts),
                                    decision=decision, clock=clock)


# ---------------------------------------------------------------- the claim


def test_compensation_claim_is_refund_plus_loss_plus_increment(session, clock) -> None:
    case = submit(session, clock, FRAUD_DECISION, desired_remedy="退一赔三", loss_yuan=300)
    assert case.demanded_remedy == "赔偿"
    assert str(case.demanded_amount) == "1096.00"  # 199 + 300 + 597, not the increment alone
    items = negotiation.claim_items(case.demanded_remedy, case.facts, case.decision)
    assert [(i["kind"], str(i["amount_yuan"])) for i in items] == [
        ("refund", "199.00"), ("loss", "300.00"), ("punitive", "597.00")]

    req = negotiation.settlement_request(case, platform_config(case), clock.now() + timedelta(days=3), clock.now())
    assert req["claim"]["amount_yuan"] == "1096.00"
    assert req["claim"]["text"] == (
        "消费者请求：赔偿，退还货款199.00元；赔偿实际损失300.00元；"
        "增加赔偿597.00元（价款199.00元的三倍，不足500元的为500元）；合计1096.00元"
    )
    assert [i["amount_yuan"] for i in req["claim"]["items"]] == ["199.00", "300.00", "597.00"]

    pkg = build_package(session, case.case_no)
    assert pkg["request"] == (
        "请求被投诉人：退还货款199.00元；赔偿实际损失300.00元；增加赔偿597.00元（价款199.00元的三倍，"
        "不足500元的为500元，依据《消费者权益保护法》第五十五条）；合计1096.00元。"
    )


def test_compensation_claim_without_a_known_loss(session, clock) -> None:
    case = submit(session, clock, FRAUD_DECISION, desired_remedy="退一赔三")
    assert str(case.demanded_amount) == "796.00"
    assert "实际损失" not in build_package(session, case.case_no)["request"]


def test_food_claim_on_the_loss_measure_and_up_to_claims() -> None:
    food = {"punitive": {"multiple": 3, "minimum_yuan": 1000, "amount_yuan": 3600, "measure": "loss",
                         "base_yuan": 1200, "basis": [{"law": "食品安全法", "article": 148}], "up_to": False}}
    items = negotiation.claim_items("赔偿", {"price_yuan": 58, "loss_yuan": 1200}, food)
    assert [str(i["amount_yuan"]) for i in items] == ["58.00", "1200.00", "3600.00"]
    assert items[2]["note"] == "损失1200.00元的三倍，不足1000元的为1000元"
    serious = {"punitive": {"multiple": 2, "minimum_yuan": 0, "amount_yuan": 136000, "measure": "loss",
                            "base_yuan": 68000, "basis": [{"law": "消费者权益保护法", "article": 55}], "up_to": True}}
    items = negotiation.claim_items("赔偿", {"price_yuan": 459, "loss_yuan": 68000}, serious)
    assert items[2]["label"] == "惩罚性赔偿" and "二倍以下" in items[2]["note"]
    assert negotiation.claim_items("赔偿", {"price_yuan": 459, "refund_paid": True}, serious)[0]["kind"] == "punitive"


def test_refund_claim_is_unchanged(session, clock) -> None:
    case = submit(session, clock, SEVEN_DAY_DECISION)
    assert str(case.demanded_amount) == "199.00"
    assert build_package(session, case.case_no)["request"] == "请求被投诉人办理退货并退还货款199.00元。"


# ---------------------------------------------------------------- jurisdiction


@pytest.mark.parametrize(
    ("facts", "present", "absent"),
    [
        ({"channel": "marketplace"}, ["对平台内经营者的投诉", "第十三条第三款", "第十四条"], []),
        ({"channel": "live_stream"}, ["对平台内经营者的投诉"], []),
        ({"channel": "platform_self_operated"}, ["平台自营", "第十三条第二款"], ["平台内经营者", "公示"]),
        ({"channel": "marketplace", "platform_self_operated": True}, ["平台自营", "第十三条第二款"], ["平台内经营者"]),
        ({"channel": "seller_own_site", "platform": "某品牌商城"}, ["自建网站或者其他网络服务", "第十三条第二款"],
         ["平台内经营者", "公示"]),
        ({"channel": "offline_store", "platform": "实体店"}, ["实际经营地或者住所地", "第十三条第一款"],
         ["平台内经营者", "公示"]),
    ],
)
def test_jurisdiction_sentence_fits_the_kind_of_seller(session, clock, facts, present, absent) -> None:
    case = submit(session, clock, SEVEN_DAY_DECISION, **facts)
    pkg = build_package(session, case.case_no)
    sentence = pkg["filing"]["jurisdiction"]
    for words in present:
        assert words in sentence
    for words in absent:
        assert words not in sentence
    assert 13 in [q["article"] for q in pkg["filing"]["provisions"]]


def test_offline_store_facts_do_not_say_platform(session, clock) -> None:
    case = submit(session, clock, SEVEN_DAY_DECISION, channel="offline_store", platform="实体店", shop="某某数码店")
    assert build_package(session, case.case_no)["facts"].startswith("2026-04-25，投诉人在「某某数码店」购买蓝牙耳机")


# ---------------------------------------------------------------- the report part


def test_old_decisions_give_no_report_part(session, clock) -> None:
    case = submit(session, clock, SEVEN_DAY_DECISION)
    pkg = build_package(session, case.case_no)
    assert pkg["kind"] == "complaint" and pkg["report"] is None
    assert pkg["title"] == "消费者投诉材料"


def test_report_is_its_own_part_quoting_the_corpus(session, clock) -> None:
    case = submit(session, clock, REPORT_DECISION)
    pkg = build_package(session, case.case_no)
    assert pkg["kind"] == "complaint_and_report"
    assert pkg["request"] == "请求被投诉人办理退货并退还货款199.00元。"  # the complaint is still made
    report = pkg["report"]
    assert report["title"] == "举报"
    assert [q["citation"] for q in report["provisions_breached"]] == [
        "《侵害消费者权益行为处罚办法》第九条", "《网络购买商品七日无理由退货暂行办法》第三十一条"]
    for q in report["provisions_breached"] + report["basis"] + report["provisions"]:
        assert q["text"] == resolve(q["law"], q["article"]).text
    assert [q["article"] for q in report["basis"]] == [3, 9]
    assert "某某数码旗舰店" in report["facts"] and "举报人" in report["facts"]
    assert "协商" not in report["facts"]

    said = "".join(report["statements"])
    assert "分别处理" in said and "第九条" in said
    assert "具体线索" in said and "第二十八条" in said
    assert "保密" in said and "第三十七条" in said
    assert "分别处理" in resolve(MEASURES, 9).text
    assert "具体线索" in resolve(MEASURES, 28).text
    assert "对举报人的信息予以保密" in resolve(MEASURES, 37).text
    assert {9, 28, 31, 37} <= {q["article"] for q in report["provisions"]}
    assert "实际经营地" in report["jurisdiction"] and "第三十一条第二款" in report["jurisdiction"]
    assert [m["label"] for m in pkg["missing"]] == ["投诉人姓名", "投诉人通讯地址", "被投诉人地址"]


def test_bulk_purchase_note_in_the_report(session, clock) -> None:
    decision = {**REPORT_DECISION,
                "reason_codes": REPORT_DECISION["reason_codes"] + ["BULK_PURCHASE_COMPLAINT_MAY_BE_REFUSED"]}
    case = submit(session, clock, decision)
    report = build_package(session, case.case_no)["report"]
    assert any("第十六条第（三）项" in s and "不影响举报" in s for s in report["statements"])
    assert {16, 17} <= {q["article"] for q in report["provisions"]}


def test_report_only_makes_no_complaint_request(session, clock) -> None:
    case = submit(session, clock, REPORT_ONLY_DECISION, problem="超市卖过期食品", shop="某某超市",
                  product="牛奶", description="看到货架上的牛奶已过保质期仍在销售")
    pkg = build_package(session, case.case_no)
    assert pkg["kind"] == "report" and pkg["title"] == "举报材料"
    assert pkg["request"] is None and pkg["facts"] is None
    assert pkg["required_by"] == "《市场监督管理投诉举报处理办法》第二十八条第一款"
    assert pkg["missing"] == []  # a report needs leads and facts, not the reporter's address
    assert any("不能投诉" in s for s in pkg["report"]["statements"])
    assert not any("分别处理" in s for s in pkg["report"]["statements"])
    assert "购买" not in pkg["report"]["facts"] and "某某超市" in pkg["report"]["facts"]
    filing = [q["article"] for q in pkg["filing"]["provisions"]]
    assert 28 in filing and 31 in filing and not {13, 15, 16, 23} & set(filing)
    assert pkg["filing"]["jurisdiction"] == pkg["report"]["jurisdiction"]


def _rendered_text(package, monkeypatch) -> str:
    import reportlab.platypus as platypus

    seen: list[str] = []

    class Recording(platypus.Paragraph):
        def __init__(self, text, *args, **kwargs):
            if isinstance(text, str):
                seen.append(text)
            super().__init__(text, *args, **kwargs)

    monkeypatch.setattr(platypus, "Paragraph", Recording)
    pdf = render_pdf(package)
    assert pdf.startswith(b"%PDF")
    return "\n".join(seen)


def test_pdf_carries_the_report_part(session, clock, monkeypatch) -> None:
    case = submit(session, clock, REPORT_DECISION)
    text = _rendered_text(build_package(session, case.case_no), monkeypatch)
    assert "三、投诉请求" in text and "\n举报\n" in text and "涉嫌违反的规定" in text
    assert "《侵害消费者权益行为处罚办法》第九条" in text and "举报须知" in text


def test_pdf_of_a_report_only_package(session, clock, monkeypatch) -> None:
    case = submit(session, clock, REPORT_ONLY_DECISION, problem="超市卖过期食品")
    text = _rendered_text(build_package(session, case.case_no), monkeypatch)
    assert "举报材料" in text and "一、举报人" in text and "投诉请求" not in text
    assert "《食品安全法》第三十四条" in text


def test_pdf_of_a_package_stored_before_reports(session, clock, monkeypatch) -> None:
    case = submit(session, clock, SEVEN_DAY_DECISION)
    pkg = build_package(session, case.case_no)
    for key in ("kind", "report"):
        pkg.pop(key)
    text = _rendered_text(pkg, monkeypatch)
    assert "三、投诉请求" in text and "举报须知" not in text


# ---------------------------------------------------------------- notices


def test_service_deadlines_are_not_presented_as_legal_duties() -> None:
    when = datetime.fromisoformat("2026-05-20T18:00:00+08:00")
    desk = texts.escalated_desk("ODR-1", "淘宝", "平台未在期限内答复", when)
    assert "客服需在" not in desk and "按维权助手的协商规则" in desk and "不是法定期限" in desk
    sent = texts.settlement_sent("ODR-1", "淘宝", when)
    assert "平台需在" not in sent and "按维权助手的协商规则" in sent


def test_package_notice_by_kind() -> None:
    assert "第十条" in texts.escalated_regulator("ODR-1", ["投诉人姓名"])
    both = texts.escalated_regulator("ODR-1", [], "complaint_and_report")
    assert "举报" in both and "第九条" in both
    only = texts.escalated_regulator("ODR-1", ["被举报人名称（姓名）"], "report")
    assert "举报材料" in only and "第二十八条" in only and "投诉材料" not in only
