"""End-to-end over Rasa's REST channel: a legal question answered from the corpus, and a
complaint taken through the form into the case store."""

from __future__ import annotations

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


def test_complaint_form_opens_a_case(stack):
    sender = stack.new_sender()
    answers = [
        ("我要投诉", "平台"),
        ("京东", "店铺"),
        ("京东自营旗舰店", "订单号"),
        ("2026112012345678", "商品"),
        ("蓝牙耳机", "多少钱"),
        ("299元", "下的单"),
        ("11月20日", "签收"),
        ("11月22日", "问题"),
        ("质量问题", "发生了什么"),
        ("左耳没有声音，联系商家一直不回", "解决"),
        ("退货退款", "手机号"),
        ("13812345678", "同意"),
    ]
    for said, expected_prompt in answers:
        reply = texts(stack.say(sender, said))
        assert expected_prompt in reply, (said, reply)
    summary = texts(stack.say(sender, "/affirm"))
    assert "138****5678" in summary and "13812345678" not in summary
    assert "现在提交吗" in summary
    done = texts(stack.say(sender, "/affirm"))
    match = re.search(r"案件编号：(ODR-20261128-\d{4})", done)
    assert match, done
    engine = create_engine(stack.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("select case_no from cases")).fetchall()
    assert (match.group(1),) in [tuple(r) for r in rows]
