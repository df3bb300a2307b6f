"""The story reader: facts in the rules engine's keys from the consumer's own words."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.intake.reader import AnswerError, read_answer, read_story

TODAY = date(2026, 12, 6)


def test_a_seven_day_story_in_one_message() -> None:
    r = read_story("我11月29号签收的一件毛衣，吊牌没拆，今天12月6号跟商家申请七天无理由，"
                   "客服说签收当天算第一天，已经超过七天了。到底谁对？", TODAY)
    assert r.facts["signed_date"] == "2026-11-29"
    assert r.facts["return_request_date"] == "2026-12-06"
    assert r.facts["condition"] == "intact"
    assert r.facts["product"] == "毛衣"
    assert r.question and r.own_case
    assert "签收" in r.sources["signed_date"]


@pytest.mark.parametrize(("text", "condition"), [
    ("衣服吊牌都在，没穿过", "intact"),
    ("包装都没拆过", "intact"),
    ("拆开看了看颜色，没用", "opened"),
    ("已经用了一个星期了", "used"),
    ("吊牌剪掉了", "used"),
    ("孩子不小心把它摔坏了", "damaged_by_consumer"),
    ("用了一张50元优惠券，商品没拆封", "intact"),
])
def test_condition_with_negation(text: str, condition: str) -> None:
    assert read_story(text, TODAY).facts.get("condition") == condition


def test_amount_roles_price_loss_fee_coupon() -> None:
    r = read_story("一件300块的裙子，我付了260块钱，用了40元优惠券，分期手续费12块", TODAY)
    assert r.facts["price_yuan"] == 260.0 and r.facts["card_fee_yuan"] == 12.0
    r = read_story("在某宝买的暖风机，299，用了两天就冒烟把沙发烧了，损失两千多", TODAY)
    assert r.facts["price_yuan"] == 299.0 and r.facts["loss_yuan"] == 2000.0
    assert r.facts["defect_caused_harm"] is True and r.facts["platform"] == "淘宝"


def test_any_platform_name_and_its_channel() -> None:
    r = read_story("在星河优品上买了个空气炸锅，收到就坏了", TODAY)
    assert r.facts["platform"] == "星河优品" and r.facts["channel"] == "marketplace"
    r = read_story("在美味到家外卖App上从超市点了一盒鸡蛋", TODAY)
    assert r.facts["channel"] == "food_delivery"
    r = read_story("在健身房小程序上办了张季卡，1800", TODAY)
    assert r.facts["channel"] == "seller_own_site" and r.facts["service_not_goods"] is True
    r = read_story("京东自营买的冰箱", TODAY)
    assert r.facts["platform"] == "京东" and r.facts["channel"] == "platform_self_operated"
    r = read_story("在闲鱼上从个人手里买的二手相机", TODAY)
    assert r.facts["channel"] == "secondhand_marketplace" and r.facts["seller_type"] == "individual_non_business"


def test_seller_and_platform_facts() -> None:
    r = read_story("买的扫地机器人坏了，店铺已经关了，商家联系不上，平台也不提供商家的联系方式", TODAY)
    assert r.facts["seller_reachable"] is False
    assert r.facts["platform_provided_seller_info"] is False
    r = read_story("下单时弹窗写着“本商品激活后不支持七天无理由退货”，我点了确认", TODAY)
    assert r.facts["merchant_exclusion_category"] is True and r.facts["merchant_exclusion_confirmed"] is True


def test_food_and_fraud() -> None:
    r = read_story("68块买的进口奶粉，罐子上没有中文标签，抽检不合格", TODAY)
    assert r.facts["food"] is True and r.facts["food_safety_violation"] is True
    assert "defect" not in r.facts and "fraud" not in r.facts
    r = read_story("标着“真丝”的围巾，送检说是涤纶", TODAY)
    assert r.facts["fraud"] is True


def test_a_general_question_has_no_case_facts() -> None:
    r = read_story("七天无理由退货从哪天开始算？", TODAY)
    assert not r.case_facts and r.question


def test_dates_that_cannot_be_are_reported_not_taken() -> None:
    r = read_story("2月30号收到的", TODAY)
    assert "signed_date" not in r.facts and any("不存在" in p for p in r.problems)


@pytest.mark.parametrize(("question", "text", "key", "value"), [
    ("platform", "品牌官网", "channel", "seller_own_site"),
    ("platform", "实体店", "channel", "offline_store"),
    ("platform", "火星优选", "platform", "火星优选"),
    ("product", "临期饼干礼盒", "merchant_exclusion_category", True),
    ("product", "减肥咖啡（检出违禁成分）", "food_safety_violation", True),
    ("product", "温泉酒店套餐", "service_not_goods", True),
    ("product", "假冒的名牌包", "product", "假冒的名牌包"),
    ("price_yuan", "0元", "price_yuan", 0.0),
    ("price_yuan", "三百五", "price_yuan", 350.0),
    ("signed_date", "还没收到", "signed_date", None),
    ("signed_date", "是上周五签收的吗？", "signed_date", "2026-11-27"),
    ("condition", "没拆封/吊牌都在", "condition", "intact"),
    ("merchant_exclusion_confirmed", "没有确认过", "merchant_exclusion_confirmed", False),
    ("order_id", "没有", "order_id", None),
    ("phone", "138 1234 5678", "phone", "13812345678"),
])
def test_answers_are_taken_even_when_they_look_like_something_else(question, text, key, value) -> None:
    assert read_answer(question, text, TODAY).facts[key] == value


@pytest.mark.parametrize(("question", "text", "hint"), [
    ("signed_date", "2026年12月20号", "将来"),
    ("phone", "12345", "手机号"),
    ("condition", "随便", "状态"),
    ("order_id", "订单号是abc", "订单号"),
])
def test_bad_answers_get_a_chinese_hint(question, text, hint) -> None:
    with pytest.raises(AnswerError) as err:
        read_answer(question, text, TODAY)
    assert hint in err.value.message


ALPHABET = "点月号日年块元1234567890一二三四五六七八九十百千万在买的了没不拆收到签收，。“”「」 kKw商家客服说平台退货用激活过期检测是假"
QUESTIONS = ("platform", "product", "signed_date", "return_request_date", "condition", "price_yuan", "loss_yuan",
             "order_id", "phone", "merchant_exclusion_confirmed", "seller_type", "confirm")


def _bounded(call) -> None:
    """A guard against catastrophic backtracking (「点」×1990 once took 145 s), not a benchmark."""
    import time

    start = time.perf_counter()
    try:
        call()
    except AnswerError:
        pass
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("text", ["点" * 1990 + "x", "1" * 2000, "在" * 2000, "月" * 1000 + "号" * 1000,
                                  "“" * 2000, "1.2k" * 500, "9月1号" * 400, "商家说" * 600])
def test_adversarial_long_input_is_read_quickly(text: str) -> None:
    _bounded(lambda: read_story(text, TODAY))
    for question in QUESTIONS:
        _bounded(lambda q=question: read_answer(q, text, TODAY))


def test_the_time_of_day_pattern_does_not_backtrack() -> None:
    from knowledge.normalize import NormalizationError, normalize_date

    _bounded(lambda: pytest.raises(NormalizationError, normalize_date, "点" * 60 + "x", TODAY))
    assert normalize_date("昨天下午3点半", TODAY).value == date(2026, 12, 5)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the lock file
    pass
else:
    @settings(max_examples=60, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=2000), st.sampled_from(QUESTIONS))
    def test_any_text_is_read_quickly_and_only_fails_with_a_hint(text: str, question: str) -> None:
        _bounded(lambda: read_story(text, TODAY))
        _bounded(lambda: read_answer(question, text, TODAY))


@pytest.mark.parametrize(("text", "key", "value"), [
    ("11月29号，我收到了毛衣，吊牌都在", "signed_date", "2026-11-29"),  # the verb opens the next clause
    ("今天12月6号，跟商家申请退货", "return_request_date", "2026-12-06"),
    ("dy买的AirPods ¥1,299 前天到的", "price_yuan", 1299.0),
    ("两百块不到买的台灯", "product", "台灯"),  # 台 starts the name here, it is no measure word
    ("买了台电脑坏了", "product", "电脑"),
])
def test_more_ways_people_write(text: str, key: str, value) -> None:
    assert read_story(text, TODAY).facts[key] == value
