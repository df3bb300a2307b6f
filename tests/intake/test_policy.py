"""The question policy and one turn of the intake, without Rasa: ask only what changes the
decision, never what the story said, move on after repeated failures, confirm with corrections."""

from __future__ import annotations

from datetime import date

from knowledge.intake import conversation
from knowledge.intake.policy import next_question
from knowledge.intake.state import Intake

TODAY = date(2026, 12, 6)


def told(story: str) -> Intake:
    state = Intake()
    conversation.begin(state, story, TODAY)
    conversation.advance(state, story, TODAY)
    return state


def answer(state: Intake, text: str) -> list[str]:
    return [m["text"] for m in conversation.advance(state, text, TODAY)]


def test_a_full_story_asks_only_what_negotiation_needs() -> None:
    state = told("我在淘宝买的毛衣，11月29号签收的，吊牌没拆，今天申请七天无理由，商家说超过七天了")
    assert state.asking == "order_id"
    answer(state, "没有")
    assert state.asking == "phone"
    answer(state, "13812345678")
    assert state.asking == "confirm"
    answer(state, "确认无误，同意提交")
    assert state.status == "confirmed" and state.asking is None
    decision = state.decision(TODAY)
    assert decision.seven_day_return_eligible is True
    assert decision.seven_day_deadline == date(2026, 12, 6)


def test_condition_is_asked_only_while_it_decides_the_return() -> None:
    assert told("在京东买的耳机，12月3号签收的，不想要了").asking == "condition"
    assert "condition" not in told("在京东买的耳机，11月3号签收的，不想要了").answered
    assert told("在京东买的耳机，11月3号签收的，不想要了").asking == "order_id"  # window closed
    assert told("在京东订的一束鲜花，12月5号收到的，不想要了").asking == "order_id"  # perishable


def test_confirmation_of_an_exclusion_is_asked_only_for_such_goods() -> None:
    state = told("在淘宝买了一套内衣，12月4号收到，拆开试穿了一下不合身，商家说贴身衣物不退")
    assert state.asking == "merchant_exclusion_confirmed"
    answer(state, "没有确认过")
    assert state.decision(TODAY).seven_day_return_eligible is True


def test_seller_details_are_asked_only_when_the_seller_is_gone() -> None:
    state = told("在拼多多买的按摩仪，11月1号收到，用了一周就坏了，现在商家失联了")
    assert state.asking == "platform_provided_seller_info"
    answer(state, "没有提供")
    assert state.decision(TODAY).platform_liable is True
    assert told("在拼多多买的按摩仪，11月1号收到，用了一周就坏了").asking == "order_id"


def test_the_price_is_asked_when_it_sets_the_punitive_amount() -> None:
    state = told("在淘宝买的“纯羊毛”大衣，11月10号收到，送检说是腈纶")
    assert state.asking == "price_yuan"
    answer(state, "1200元")
    assert state.decision(TODAY).punitive.amount_yuan == 3600


def test_contradicting_dates_are_questioned_not_stored() -> None:
    state = told("在淘宝买的台灯，12月3号下的单")
    state.asking = "signed_date"
    said = answer(state, "12月1号签收的")
    assert any("早于下单日期" in t for t in said)
    assert "signed_date" not in state.facts and state.asking == "signed_date"
    said = answer(state, "就是12月1号签收的")  # said again: believed, the story's order date gives way
    assert state.facts["signed_date"] == "2026-12-01" and "order_date" not in state.facts
    assert state.asking != "signed_date"


def test_a_bad_answer_is_asked_again_then_skipped() -> None:
    state = told("在京东买的耳机，12月3号签收的，不想要了")
    assert state.asking == "condition"
    assert answer(state, "随便") and state.asking == "condition"
    said = answer(state, "随便")
    assert "跳过" in said[0] and state.asking == "order_id"


def test_a_question_about_the_own_case_is_answered_then_the_question_repeats() -> None:
    state = told("我在淘宝买的毛衣，11月29号签收的，吊牌没拆，今天申请七天无理由")
    said = answer(state, "那我到底还能退吗？")
    assert "可以七日无理由退货" in said[0] and "最后一天为2026年12月6日" in said[0]
    assert state.asking == "order_id"


def test_an_answer_that_looks_like_a_question_is_taken_as_the_answer() -> None:
    state = told("在淘宝买的毛衣，吊牌没拆，不想要了")
    assert state.asking == "signed_date"
    answer(state, "是上周五签收的吗？")
    assert state.facts["signed_date"] == "2026-11-27"


def test_a_correction_at_the_confirmation_changes_the_fact_not_the_step() -> None:
    state = told("在淘宝买的毛衣，11月29号签收的，吊牌没拆，今天申请七天无理由")
    answer(state, "没有")
    answer(state, "13812345678")
    said = answer(state, "不对，是12月1号签收的")
    assert state.facts["signed_date"] == "2026-12-01" and "已更正" in said[0]
    assert state.asking == "confirm" and state.status == "open"
    answer(state, "金额写错了，应该是899元")
    assert state.facts["price_yuan"] == 899.0 and state.asking == "confirm"
    answer(state, "先不提交")
    assert state.status == "declined" and state.asking is None


def test_an_unknown_platform_is_recorded_as_named() -> None:
    state = Intake(story=["买的蓝牙耳机12月3号签收，没拆封，不想要了"], answered=["story"])
    state.facts.update({"product": "蓝牙耳机", "signed_date": "2026-12-03", "condition": "intact"})
    state.asking = next_question(state.rule_facts(TODAY), set(state.answered), TODAY, have_story=True)
    assert state.asking == "platform"
    answer(state, "火星优选")
    assert state.facts["platform"] == "火星优选" and state.facts["channel"] == "marketplace"


def test_declining_at_the_first_question() -> None:
    state = told("在京东买的耳机，12月3号签收的，不想要了")
    answer(state, "不用投诉")
    assert state.status == "declined" and state.asking is None


def test_asking_to_complain_inside_the_intake_is_not_an_answer() -> None:
    state = Intake(story=["买的耳机不想要了"], answered=["story"], asking="platform", facts={"product": "耳机"})
    said = answer(state, "我要投诉")
    assert "正在为您登记" in said[0] and "platform" not in state.facts and state.asking == "platform"


def test_a_skipped_question_is_not_asked_again() -> None:
    state = Intake(story=["买的耳机不想要了"], answered=["story"], asking="phone",
                   facts={"product": "耳机", "platform": "淘宝", "order_id": None})
    answer(state, "暂不提供")
    assert state.asking not in (None, "phone") and "phone" not in state.facts and "phone" in state.answered


def test_questions_about_the_law_do_not_start_the_intake() -> None:
    from benchmarks.load import LEGAL_QUESTIONS
    from knowledge.intake.conversation import story_strength
    from knowledge.intake.reader import read_story

    for question in [*LEGAL_QUESTIONS, "七天无理由退货从哪天开始算", "买到假货能要求退一赔三吗"]:
        assert story_strength(read_story(question, TODAY), question) is None, question
    story = "我在淘宝买的毛衣，11月29号签收的，吊牌没拆，今天申请七天无理由"
    assert story_strength(read_story(story, TODAY), story) == "strong"


def test_a_story_without_a_signing_date_is_answered_when_every_date_agrees() -> None:
    state = Intake()
    [answer_] = conversation.begin(state, "在淘宝买的衣服吊牌剪了，还能七天无理由退吗，199块", TODAY)
    assert "不论哪天签收结论相同" in answer_["text"] and "不能七日无理由退货" in answer_["text"]
    assert "七日期限最后一天" not in answer_["text"]  # no date was invented
    state = Intake()
    assert conversation.begin(state, "淘宝买的毛衣吊牌没拆，不想要了，能退吗", TODAY) == []  # the date decides
