"""The question policy for the v2 facts, without Rasa: a question is asked only while its plausible
answers lead to different decisions; what a story about a prepaid card, a deposit, a payment, a
renewal, a late delivery, a warranty, a car or a report needs is asked, and nothing else."""

from __future__ import annotations

from datetime import date

from knowledge.intake import conversation
from knowledge.intake.policy import PROBES, catalogue, signature
from knowledge.intake.state import Intake

TODAY = date(2026, 6, 20)


def told(story: str, today: date = TODAY) -> Intake:
    state = Intake()
    conversation.begin(state, story, today)
    conversation.advance(state, story, today)
    return state


def answer(state: Intake, text: str, today: date = TODAY) -> list[str]:
    return [m["text"] for m in conversation.advance(state, text, today)]


def asked_until_order_id(state: Intake, answers: dict[str, str], today: date = TODAY) -> list[str]:
    """The fact questions asked, each answered from `answers`, until the order number."""
    asked = []
    while state.asking not in (None, "order_id", "phone", "confirm"):
        asked.append(state.asking)
        answer(state, answers.get(state.asking, "不知道"), today)
        assert len(asked) < 15, asked
    return asked


def test_every_probed_fact_has_a_question() -> None:
    questions = catalogue()
    for key in PROBES:
        assert key in questions and questions[key].get("fact", key) == key, key
        assert questions[key]["text"] not in [q["text"] for k, q in questions.items() if k != key]


def test_the_signature_holds_the_v2_outcomes() -> None:
    state = told("我的“小橙钱包”6月9号被人刷走了2600，验证码从来没告诉过别人")
    d = state.decision(TODAY)
    assert d.refund_amount_yuan in signature(d) and tuple(d.other_liable_parties) in signature(d)


def test_a_prepaid_card_asks_only_what_sets_the_refund() -> None:
    state = told("4月2号在健身工作室买了24节私教，原价一节300，打包价4800，上了6节，6月1号跟店长说要退剩下的")
    asked = asked_until_order_id(state, {"platform": "实体店"})
    assert not {"signed_date", "condition", "price_yuan", "prepaid_units_total"} & set(asked)
    assert state.decision(TODAY).refund_amount_yuan == 3000  # 4800 − 6 × 300 (预付解释第十九条)
    state = told("3月1号在游泳馆办了张年卡，不限次，1440，5月15号去的时候大门锁着，说停业了")
    assert "prepaid_refund_cause" not in asked_until_order_id(state, {"platform": "实体店"})  # the business stopped
    state = told("在美容院充了3000，用掉了1000，想把剩下的退了")
    asked = asked_until_order_id(state, {"prepaid_paid_date": "5月2号", "platform": "实体店"})
    assert "prepaid_paid_date" in asked


def test_the_cooling_off_asks_about_the_same_service_before() -> None:
    state = told("6月15号在“口语星球”App报了个网课，48节3600，一节没上，6月17号就申请退款了")
    asked = asked_until_order_id(state, {"prepaid_prior_same_service": "没有"})
    assert "prepaid_prior_same_service" in asked
    decision = state.decision(TODAY)
    assert decision.prepaid_cooling_off_eligible is True and decision.refund_amount_yuan == 3600


def test_an_unauthorised_payment_asks_fault_not_goods() -> None:
    state = told("我的“小橙钱包”6月9号凌晨被人刷走了2600，第二天一早就挂失了，之后没再扣")
    asked = asked_until_order_id(state, {"payment_user_at_fault": "没有"})
    assert asked == ["payment_user_at_fault"]  # no product, no signing date, no goods' condition
    assert state.decision(TODAY).refund_amount_yuan == 2600


def test_a_renewal_asks_whether_it_was_switched_off() -> None:
    state = told("在“记个账”App上试用，6月4号直接从微信扣了98，说是自动续费开了年度会员，扣之前有短信提醒")
    asked = asked_until_order_id(state, {"cancelled_before_charge": "已经关了", "product": "记账App会员"})
    assert "cancelled_before_charge" in asked and "signed_date" not in asked
    assert state.decision(TODAY).refund_amount_yuan == 98


def test_a_late_delivery_asks_for_the_reminder_and_its_period() -> None:
    state = told("在“家居仓”买了个书柜，699，6月1号付的款，商品页写着“5天内发货”，到今天还没发")
    asked = asked_until_order_id(state, {"delivery_reminder_date": "6月12号催的", "reminder_period_days": "3",
                                         "time_essential": "商家不知道"})
    assert asked[:2] == ["delivery_reminder_date", "reminder_period_days"]
    assert state.decision(TODAY).can_rescind is True  # 6月12号 + 3 days ran out on 6月15号


def test_a_car_asks_its_mileage_and_fault() -> None:
    state = told("6月10号在4S店提的新车，6月15号就开始报故障，4S店说只能修")
    asked = asked_until_order_id(state, {"vehicle_km": "300公里", "vehicle_fault": "发动机、变速箱、动力电池或驱动电机坏了",
                                         "platform": "实体店"})
    assert {"vehicle_km", "vehicle_fault"} <= set(asked) and "warranty_months" not in asked  # a car's is by law
    decision = state.decision(TODAY)
    assert decision.usage_compensation_yuan == 0 and decision.warranty_covered is True


def test_a_warranty_asks_its_length() -> None:
    state = told("在京东买的扫地机，2025年9月12号收到的，用到6月10号坏了，找售后说过保了")
    asked = asked_until_order_id(state, {"warranty_months": "两年"})
    assert "warranty_months" in asked
    assert state.decision(TODAY).warranty_covered is True


def test_a_report_without_a_purchase_asks_nothing_about_goods() -> None:
    state = told("我自己没买，刷到一家店还在卖已经召回的退热贴，就想举报一下，不是要投诉赔钱")
    assert asked_until_order_id(state, {}) == []


def test_a_plain_seven_day_story_gets_no_v2_question() -> None:
    state = told("我在淘宝买的毛衣，6月15号签收的，吊牌没拆，今天申请七天无理由，商家说不行")
    assert state.asking == "order_id"


def test_a_notice_sent_before_the_chat_is_asked_not_assumed() -> None:
    """(a) refused on the 3rd, come on the 10th: not told it is too late; the date is asked."""
    today = date(2026, 12, 10)
    state = Intake()
    [said] = conversation.begin(state, "在淘宝买的毛衣，12月1号签收的，吊牌没拆，商家不给退", today)
    assert "不按今天计算" in said["text"] and "2026年12月8日（含）之前" in said["text"]
    assert "已超过期限" not in said["text"].split("如果是在")[0]
    conversation.advance(state, "在淘宝买的毛衣，12月1号签收的，吊牌没拆，商家不给退", today)
    assert state.asking == "return_request_date"
    answer(state, "12月3号提的", today)
    assert state.decision(today).seven_day_return_eligible is True
    assert state.rule_facts(today)["return_request_date"] == "2026-12-03"


def test_a_private_seller_on_a_second_hand_market_gets_no_seven_day_window() -> None:
    """(b) the seller's type is asked on a second-hand market; a private seller owes no no-reason return."""
    state = told("在闲鱼上买的二手耳机，6月17号收到的，没拆，不想要了")
    assert state.asking == "seller_type"
    answer(state, "个人卖自己的闲置")
    assert state.decision(TODAY).seven_day_return_eligible is None


def test_a_meal_from_a_delivery_app_has_no_seven_day_window() -> None:
    state = told("在美团外卖上点的一份烤鱼，6月20号送到的，不想要了")
    assert state.decision(TODAY).seven_day_return_eligible is None
