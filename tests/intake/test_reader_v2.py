"""The story reader for the v2 facts (prepaid services, deposits, payments, renewals, late
delivery, warranty and cars, endorsers, imports, reports) and the legal-review fixes: the
notice date, the channel, 运费险 and seller texts that are no promise."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.intake.reader import AnswerError, read_answer, read_story

TODAY = date(2026, 6, 20)


def facts(text: str) -> dict:
    return read_story(text, TODAY).facts


# ---------------------------------------------------------------- prepaid services


def test_an_unlimited_card_counts_the_days_served_before_the_service_stopped() -> None:
    f = facts("3月2号在小区门口的健身房办了张年卡，不限次，2680。6月1号去的时候门上贴了张纸说停业装修，"
              "6月5号我打老板电话要求退剩下的钱，到现在都没人理")
    assert f["prepaid_paid_date"] == "2026-03-02" and f["price_yuan"] == 2680.0
    assert f["prepaid_units_total"] == 365 and f["prepaid_units_used"] == 91  # 3月2号 → 6月1号
    assert f["business_stopped_service"] is True and f["prepaid_refund_cause"] == "business"
    assert f["refund_request_date"] == "2026-06-05" and "return_request_date" not in f
    assert f["channel"] == "offline_store" and f["service_not_goods"] is True


def test_sessions_at_a_discount_given_up_for_the_consumers_own_reason() -> None:
    f = facts("在舞蹈培训班给女儿报了30节课，原价一节120，搞活动一共2700，上了12节孩子不想学了")
    assert f["price_yuan"] == 2700.0
    assert (f["prepaid_units_total"], f["prepaid_units_used"]) == (30, 12)
    assert f["prepaid_list_unit_price_yuan"] == 120.0 and f["prepaid_refund_cause"] == "consumer"


def test_stored_value_with_bonus_credit() -> None:
    f = facts("充了3000送600的美容卡，做了几次护理，卡里还剩1800，现在店关门了")
    assert f["price_yuan"] == 3000.0 and f["prepaid_units_total"] == 3600
    assert f["prepaid_units_used"] == 1800 and f["prepaid_list_unit_price_yuan"] == 1
    f = facts("在楼下理发店充了2000送500，用掉了800，店搬到城东去了")
    assert f["prepaid_units_used"] == 800 and f["prepaid_refund_cause"] == "business"


def test_a_request_on_the_same_day_as_a_date_told_before() -> None:
    f = facts("6月10号在一个App上报了个网课，一节都没上，以前也没报过这种课。当天就找客服申请退款")
    assert f["prepaid_paid_date"] == "2026-06-10" and f["refund_request_date"] == "2026-06-10"
    assert f["prepaid_units_used"] == 0 and f["prepaid_prior_same_service"] is False


# ---------------------------------------------------------------- deposits


def test_a_deposit_refunded_only_as_credit_is_an_unreasonable_condition() -> None:
    f = facts("租的婚纱押金2000，店家说退押金必须再在店里消费满500才能退")
    assert f["deposit_yuan"] == 2000.0 and f["deposit_unreasonable_condition"] is True
    assert f["service_not_goods"] is True and "price_yuan" not in f


def test_only_a_deduction_the_agreement_provides_for_counts() -> None:
    f = facts("租相机押金800。租赁协议写了“镜头有划痕扣维修费150元”，还的时候确实有道划痕。"
              "可店家又扣了200说是清洁费，协议里根本没有这条")
    assert f["deposit_deduction_yuan"] == 150.0 and "price_yuan" not in f
    f = facts("充电宝押金99，归还后扣了我20块")
    assert "deposit_deduction_yuan" not in f and f["deposit_deduction_mentioned"] is True


# ---------------------------------------------------------------- payments and renewals


def test_an_unauthorised_payment_and_what_was_taken_after_the_notice() -> None:
    f = facts("银行卡被盗刷了两笔一共4500，我第一时间挂失了，挂失后还被刷了800，验证码我从来没告诉过别人")
    assert f["unauthorized_payment"] is True and f["payment_user_at_fault"] is False
    assert f["loss_yuan"] == 5300.0 and f["loss_after_notice_yuan"] == 800.0 and f["price_yuan"] == 0.0


def test_a_code_given_to_a_fraudster_is_the_users_fault_not_a_sellers_fraud() -> None:
    f = facts("有人冒充客服让我开了屏幕共享，绑在“快付钱包”上的卡被转走8000")
    assert f["payment_user_at_fault"] is True and f["loss_yuan"] == 8000.0
    assert "fraud" not in f
    assert f["platform"] == "快付钱包" and f["channel"] == "seller_own_site"


def test_money_missing_from_a_wallet_is_taken_not_paid() -> None:
    f = facts("我的微信钱包莫名其妙少了1200，不是我付的，我没授权过")
    assert f["loss_yuan"] == 1200.0 and f["price_yuan"] == 0.0


@pytest.mark.parametrize(("text", "key", "value"), [
    ("视频会员每个月自动扣费，也没收到任何提醒，6月8号又扣了25", "renewal_notice_missing", True),
    ("网盘会员到期自动续费了，扣了30块，扣之前三天有短信提醒", "renewal_notice_missing", False),
    ("连续包月的会员我4月就关了自动续费，6月又扣了我15块", "cancelled_before_charge", True),
    ("“到期自动续费”那个框是默认勾上的，扣了98", "renewal_notice_missing", True),
])
def test_renewals(text: str, key: str, value: bool) -> None:
    f = facts(text)
    assert f["auto_renewal"] is True and f[key] is value


def test_a_renewal_is_dated_by_its_charge_and_priced_by_it() -> None:
    f = facts("之前在“看看影视”开过连续包月，6月8号又从支付宝扣了我25块")
    assert f["order_date"] == "2026-06-08" and f["price_yuan"] == 25.0
    assert f["channel"] == "seller_own_site" and f["service_not_goods"] is True


# ---------------------------------------------------------------- late delivery


def test_a_promise_to_ship_within_days_counts_from_the_order() -> None:
    f = facts("页面写的“48小时内发货”，我6月1号买的，今天还没发")
    assert f["promised_delivery_date"] == "2026-06-03" and f["signed_date"] is None
    f = facts("页面写的24小时发货，我6月1号买的，到现在还没发")
    assert f["promised_delivery_date"] == "2026-06-02"
    f = facts("6月1号下的单，客服答应6月5号前发货，到今天还没发")
    assert f["promised_delivery_date"] == "2026-06-05"


@pytest.mark.parametrize(("text", "day", "period"), [
    ("6月3号我催了卖家，说再给你们3天不发就退款，今天还是没发", "2026-06-03", 3),
    ("6月10号还没动静，我跟客服说：最多再等你们5天。到现在也没发货", "2026-06-10", 5),
    ("6月12号我跟客服说16号前还不发货就取消订单，结果还是没发", "2026-06-12", 4),
])
def test_a_reminder_and_its_period(text: str, day: str, period: int) -> None:
    f = facts(text)
    assert f["delivery_reminder_date"] == day and f["reminder_period_days"] == period
    assert "return_request_date" not in f  # a reminder to deliver is no return of goods


def test_no_reminder_and_a_date_that_matters() -> None:
    assert "delivery_reminder_date" not in facts("6月1号买的书柜，今天6月9号了还没发，我还没去催过")
    f = facts("女儿婚礼6月6号，下单时备注写清楚了婚礼日期，客服也保证3号前送到，结果到现在都没发货")
    assert f["time_essential"] is True
    assert "time_essential" not in facts("生日那天收到的礼物，客服说过会准时发货")  # it arrived


# ---------------------------------------------------------------- warranty and cars


def test_a_general_warranty_with_an_exchange_and_repairs() -> None:
    f = facts("手机是1月5号收到的，保修一年，换过一次新机，是3月10号换的，现在又坏了")
    assert f["warranty_months"] == 12 and f["warranty_start_date"] == "2026-01-05"
    assert f["warranty_exchange_date"] == "2026-03-10" and f["defect"] is True
    f = facts("笔记本送修了三次，每次都是屏幕问题，前后在维修站待了45天")
    assert (f["warranty_repair_count"], f["warranty_repair_days"]) == (3, 45)
    assert facts("买的空调保修6年，用了两年压缩机坏了")["warranty_months"] == 72


@pytest.mark.parametrize(("text", "fault", "km"), [
    ("4月8号在4S店提的新车，4月13号变速箱报故障要整个换，表上才320公里", "major_part", 320),
    ("刚提了20天的新车，开了1500公里，方向盘突然打不动", "critical_failure", 1500),
    ("新车高速上刹车突然失灵，当时才开了2100公里", "critical_failure", 2100),
    ("车子买了一年多，中控大屏老黑屏，表显1.8万公里，在4S店修了5次", None, 18000),  # the class is asked
])
def test_a_cars_fault_and_mileage(text: str, fault: str | None, km: int) -> None:
    f = facts(text)
    assert f.get("vehicle_fault") == fault and f["vehicle_km"] == km


def test_a_car_bought_at_a_4s_shop() -> None:
    f = facts("4月8号在4S店提的新车，15万6，三包凭证上写的三包有效期2年，使用补偿系数0.5%")
    assert f["channel"] == "offline_store" and f["price_yuan"] == 156000.0
    assert f["signed_date"] == f["warranty_start_date"] == "2026-04-08"
    assert f["warranty_months"] == 24 and f["vehicle_usage_coefficient"] == pytest.approx(0.005)


# ---------------------------------------------------------------- endorsers, imports, reports


def test_endorsers_and_live_rooms() -> None:
    f = facts("直播间请了个健身博主当嘉宾，说这款代餐粉她天天喝，后来她承认自己根本没喝过")
    assert f["endorser_involved"] is True and f["endorser_knew_false"] is True
    assert f["life_health_goods"] is True
    assert facts("主播明知道这批货是假的还继续卖")["livestream_room_knew_violation"] is True
    assert "endorser_involved" not in facts("住院40天，医生说手指功能会受影响")  # a doctor's word is no endorsement
    assert "endorser_knew_false" not in facts("嘉宾推荐的面霜，我还没用过就过敏了")  # the consumer's own 没用过


def test_imported_food_and_cross_border_purchases() -> None:
    f = facts("超市买的德国啤酒，瓶子上全是德文，一张中文标签都没有")
    assert f["chinese_label_missing"] is True and f["food_safety_violation"] is True
    assert facts("保税仓发货的面膜，海关要了身份证清关")["cross_border"] is True
    f = facts("店铺首页写着“澳洲海外直邮”，花了698。结果快递单上发货地是浙江义乌")
    assert f["cross_border"] is False and f["fraud"] is True


@pytest.mark.parametrize("text", [
    "我没在他家买过东西，就是看到他们卖过期食品，想举报一下",
    "帮我举报一个虚假宣传的直播间，我没下单",
    "我自己没买，刷到一家店还在卖已经召回的退热贴，不是要投诉赔钱",
])
def test_a_report_without_a_purchase(text: str) -> None:
    f = facts(text)
    assert f["reporter_only"] is True and f["price_yuan"] == 0.0 and "signed_date" not in f


# ---------------------------------------------------------------- legal review


def test_a_refusal_dates_the_notice_not_the_chat() -> None:
    """(a) 七日办法第十条 counts the notice: a refusal on the 3rd means the notice was sent by then."""
    today = date(2026, 12, 10)
    r = read_story("12月1号签收的毛衣，吊牌没拆，商家3号拒绝了我的退货申请，今天才有空来投诉", today)
    assert r.facts["return_request_date"] == "2026-12-03"
    r = read_story("在淘宝买的毛衣，12月1号签收的，签收后第二天就申请了退货，商家不同意", today)
    assert r.facts["return_request_date"] == "2026-12-02"
    r = read_story("鞋子12月1号到的，到货后3天申请的退货", today)
    assert r.facts["return_request_date"] == "2026-12-04"


def test_the_channel_comes_from_the_registry_and_the_story() -> None:
    """(b) a private seller on a second-hand market, a meal from a delivery app, a shop on the spot."""
    f = facts("在闲鱼上从个人手里买的二手相机，收到第三天不想要了")
    assert f["channel"] == "secondhand_marketplace" and f["seller_type"] == "individual_non_business"
    assert facts("在饿了么上点的一份炒饭，送来都凉了")["channel"] == "food_delivery"
    assert facts("在家附近一个健身工作室买了24节私教")["channel"] == "offline_store"
    f = facts("淘宝买的理发推子，后来想想还是带儿子去理发店省事，昨天申请了退货")
    assert f["channel"] == "marketplace"  # going to a barber's is no purchase there


@pytest.mark.parametrize("text", ["下单的时候有运费险，今天申请了退货", "商家送了运费险，退货应该不花钱吧"])
def test_return_shipping_insurance_the_seller_gives_is_its_arrangement(text: str) -> None:
    """(c) insurance the seller gives with the order means the postage is not the consumer's."""
    f = facts(text)
    assert f["return_shipping_agreed_by_seller"] is True and "seller_promise" not in f


def test_return_shipping_insurance_the_consumer_bought_is_no_agreement() -> None:
    f = facts("我自己花钱买的运费险")
    assert "return_shipping_agreed_by_seller" not in f and "seller_promise" not in f


@pytest.mark.parametrize("text", ["商家承诺退货运费商家承担", "退货运费由卖家承担", "客服答应包退运费", "店家说好了出来回运费"])
def test_an_explicit_promise_to_pay_return_shipping_is_an_agreement(text: str) -> None:
    assert facts(text)["return_shipping_agreed_by_seller"] is True


@pytest.mark.parametrize("words", ["定制商品不支持七天无理由退货", "退货运费由买家自理", "30天价保", "30天保价，降价退差价",
                                   "退货运费商家承担"])
def test_seller_texts_that_are_no_better_return_promise(words: str) -> None:
    """(d) an exclusion, postage left to the buyer, a price guarantee, or postage alone: no
    promise to take goods back that the law lets the seller refuse."""
    for text in (f"商家承诺“{words}”", f"客服保证“{words}”", f"客服原话是{words}"):
        assert "seller_promise" not in facts(text), text


def test_a_mention_of_a_price_guarantee_is_no_breach() -> None:
    from knowledge.rules.narrative import extract

    assert "price_promise_breach" not in extract("商品页写着“30天价保”，我12月1号签收，不想要了")
    assert extract("买的时候说30天价保，过了一周就降价了100，找客服要差价说不给补")["price_promise_breach"] is True


def test_a_common_word_is_no_goods_name() -> None:
    assert facts("早上发现就打了客服电话冻结，结果冻结之后又被扣了500").get("product") != "果冻"


# ---------------------------------------------------------------- answers to the v2 questions


@pytest.mark.parametrize(("question", "text", "value"), [
    ("refund_request_date", "6月5号提的", "2026-06-05"),
    ("refund_request_date", "还没提", None),
    ("prepaid_units_total", "24", 24),
    ("prepaid_units_used", "一次都没用", 0),
    ("prepaid_refund_cause", "我自己的原因", "consumer"),
    ("prepaid_refund_cause", "商家的原因", "business"),
    ("prepaid_list_unit_price_yuan", "没有打折", None),
    ("prepaid_list_unit_price_yuan", "300元", 300.0),
    ("prepaid_prior_same_service", "没有", False),
    ("deposit_deduction_yuan", "没有约定", 0.0),
    ("payment_user_at_fault", "有", True),
    ("loss_after_notice_yuan", "没有", 0.0),
    ("cancelled_before_charge", "已经关了", True),
    ("renewal_notice_missing", "有提醒", False),
    ("renewal_notice_missing", "没有提醒", True),
    ("delivery_reminder_date", "没催过", None),
    ("time_essential", "商家知道", True),
    ("time_essential", "商家不知道", False),
    ("warranty_months", "一年", 12),
    ("warranty_months", "24个月", 24),
    ("vehicle_km", "1.2万公里", 12000),
    ("vehicle_fault", "发动机、变速箱、动力电池或驱动电机坏了", "major_part"),
    ("vehicle_fault", "刹车失灵", "critical_failure"),
    ("vehicle_usage_coefficient", "0.5%", 0.005),
    ("endorser_knew_false", "知道", True),
])
def test_answers_to_the_v2_questions(question: str, text: str, value) -> None:
    got = read_answer(question, text, TODAY).facts[question]
    assert got == pytest.approx(value) if isinstance(value, float) else got == value


def test_a_promised_delivery_answered_as_days_after_the_order() -> None:
    got = read_answer("promised_delivery_date", "下单后48小时内发货", TODAY, {"order_date": "2026-06-01"})
    assert got.facts["promised_delivery_date"] == "2026-06-03"


@pytest.mark.parametrize(("question", "text"), [("vehicle_fault", "随便"), ("time_essential", "随便吧"),
                                                ("warranty_months", "挺久")])
def test_unreadable_v2_answers_get_a_hint(question: str, text: str) -> None:
    with pytest.raises(AnswerError):
        read_answer(question, text, TODAY)


def test_every_reading_can_be_kept_in_the_conversation() -> None:
    """Facts go into a Rasa slot: plain JSON values only (no patterns, no dates)."""
    import json

    for text in ("在楼下理发店充了2000送500，用掉了800", "4月8号在4S店提的新车，变速箱坏了，表上320公里",
                 "我的“小橙钱包”被刷走了2600", "页面写48小时内发货，6月1号买的还没发"):
        json.dumps(read_story(text, TODAY).facts)


@pytest.mark.parametrize("text", ["充" * 2000, "被刷了" * 600, "给你们3天" * 300, "9月1号前还不发" * 200, "保修" * 1000,
                                  "1.2万公里" * 300, "押金扣了" * 400, "当天" * 1000, "“" * 1000 + "App" * 300])
def test_adversarial_long_input_is_read_quickly(text: str) -> None:
    from knowledge.intake.policy import PROBES
    from tests.intake.test_reader import _bounded

    _bounded(lambda: read_story(text, TODAY))
    for question in PROBES:
        _bounded(lambda q=question: read_answer(q, text, TODAY, {"order_date": "2026-06-01"}))
