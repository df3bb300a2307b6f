"""End-to-end over Rasa's REST channel: a legal question answered from the corpus, and a
complaint taken through the form into the case store."""

from __future__ import annotations

import json
import re

from sqlalchemy import create_engine, text

from knowledge.corpus import resolve


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_seven_day_question_quotes_the_statute_verbatim(stack):
    reply = texts(stack.say(stack.new_sender(), "七天无理由退货怎么算"))
    quoted = [
        a for a in (resolve("网络购买商品七日无理由退货暂行办法", 10), resolve("消费者权益保护法", 25))
        if a.citation in reply and a.text.split("\n")[0] in reply
    ]
    assert quoted, reply


def talk(stack, sender: str, turns: list[tuple[str, str]]) -> str:
    """Say each text and check a fragment of the reply; returns the last reply."""
    reply = ""
    for said, expected in turns:
        reply = texts(stack.say(sender, said))
        assert expected in reply, (said, reply)
    return reply


def stored_case(stack, reply: str) -> dict:
    match = re.search(r"案件编号：(ODR-20261128-\d{4})", reply)
    assert match, reply
    engine = create_engine(stack.database_url)
    with engine.connect() as conn:
        row = conn.execute(text("select facts, decision, platform_name from cases where case_no = :n"),
                           {"n": match.group(1)}).one()
    facts, decision = (json.loads(v) if isinstance(v, str) else v for v in row[:2])
    return {"case_no": match.group(1), "facts": facts, "decision": decision, "platform_name": row[2]}


def test_a_story_in_one_message_is_answered_for_the_situation_then_filed(stack):
    sender = stack.new_sender()
    story = ("我在淘宝买的毛衣，11月22号签收的，吊牌没拆，今天跟商家申请七天无理由，客服说签收当天算第一天，"
             "已经超过七天了。到底谁对？")
    answer = texts(stack.say(sender, story))
    assert "可以七日无理由退货" in answer and "最后一天为2026年11月29日" in answer, answer
    article = resolve("网络购买商品七日无理由退货暂行办法", 10)
    assert article.citation in answer and article.text.split("\n")[0].split("条", 1)[1].strip() in answer
    assert "订单号" in answer  # the story told everything the decision needs
    summary = talk(stack, sender, [("2026112012345678", "手机号"), ("13812345678", "我理解的情况是")])
    assert "2026年11月22日" in summary and "138****5678" in summary and "13812345678" not in summary
    case = stored_case(stack, talk(stack, sender, [("确认无误，同意提交", "案件编号")]))
    assert case["facts"]["signed_date"] == "2026-11-22" and case["facts"]["condition"] == "intact"
    assert case["facts"]["return_request_date"] == "2026-11-28"
    assert case["decision"]["seven_day_return_eligible"] is True
    assert case["decision"]["seven_day_deadline"] == "2026-11-29"


def test_a_story_in_three_messages(stack):
    sender = stack.new_sender()
    talk(stack, sender, [
        ("我要投诉", "请把经过告诉我"),
        ("在京东买了个电热水壶", "签收"),
        ("11月20号收到的，用了两次就漏水了", "订单号"),
        ("没有", "手机号"),
        ("13812345678", "我理解的情况是"),
    ])
    case = stored_case(stack, talk(stack, sender, [("确认无误，同意提交", "案件编号")]))
    assert case["facts"]["platform"] == "京东" and case["facts"]["defect"] is True
    assert case["decision"]["seven_day_return_eligible"] is False  # used, and the window closed 11-27
    assert "QUALITY_DEFECT" in case["decision"]["reason_codes"]
    assert case["facts"]["problem"] == "质量问题"


def test_a_correction_at_the_summary_changes_the_fact_and_keeps_the_confirmation(stack):
    sender = stack.new_sender()
    talk(stack, sender, [
        ("在拼多多买的电饭煲，花了299，11月26号签收，没拆封就不想要了", "订单号"),
        ("没有", "手机号"),
        ("13812345678", "我理解的情况是"),
    ])
    corrected = talk(stack, sender, [("金额写错了，应该是899元", "已更正")])
    assert "899元" in corrected and "以上信息对吗" in corrected and "案件编号" not in corrected
    case = stored_case(stack, talk(stack, sender, [("确认无误，同意提交", "案件编号")]))
    assert case["facts"]["price_yuan"] == 899.0


def test_an_unknown_platform_is_recorded_and_routed_to_the_desk(stack):
    sender = stack.new_sender()
    summary = talk(stack, sender, [
        ("在火星优选买的台灯，11月26号收到，没拆封，不想要了", "订单号"),
        ("2026112012345678", "手机号"),
        ("13812345678", "「火星优选」暂未接入在线协商"),
    ])
    assert "火星优选" in summary
    case = stored_case(stack, talk(stack, sender, [("确认无误，同意提交", "案件编号")]))
    assert case["platform_name"] == "火星优选" and case["facts"]["platform"] == "火星优选"


def test_a_human_or_deletion_asked_in_the_middle_of_the_intake_leaves_it(stack):
    human = stack.new_sender()
    talk(stack, human, [("我要投诉", "请把经过告诉我"), ("转人工", "人工客服")])
    leaver = stack.new_sender()
    reply = talk(stack, leaver, [("我要投诉", "请把经过告诉我"), ("删除我的个人信息", "确认要撤回您的投诉并删除个人信息吗")])
    assert "不能恢复" in reply
    assert "您没有提交过案件" in texts(stack.say(leaver, "/confirm_delete_my_data"))
