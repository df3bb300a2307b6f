"""Punitive damages: fraud 3× (min 500) and food 10× (min 1000), with their exceptions."""

from __future__ import annotations

import pytest

from knowledge.rules import decide

from .conftest import TODAY, make_facts

LATE = {"return_request_date": None, "complaint_date": "2026-04-20", "condition": "used"}


def run(**kw):
    return decide(make_facts(**{**LATE, **kw}), today=TODAY)


@pytest.mark.parametrize(
    ("price", "amount", "minimum_applied"),
    [(150, 500, True), (166, 500, True), (166.67, 500.01, False), (167, 501, False), (168, 504, False)],
)
def test_fraud_minimum_500_edges(price, amount, minimum_applied):
    d = run(fraud=True, price_yuan=price)
    p = d.punitive
    assert (p.multiple, p.minimum_yuan) == (3, 500)
    assert round(p.amount_yuan, 2) == amount
    assert "FRAUD_3X" in d.reason_codes
    assert ("FRAUD_MINIMUM_500" in d.reason_codes) is minimum_applied
    assert p.against == ["销售者"]
    assert d.refund_amount_yuan == price
    assert {"refund", "punitive_damages"} <= set(d.suggested_remedies)
    assert d.return_shipping_payer == "seller"


@pytest.mark.parametrize(
    ("price", "amount", "minimum_applied"),
    [(60, 1000, True), (99, 1000, True), (100, 1000, False), (101, 1010, False)],
)
def test_food_minimum_1000_edges(price, amount, minimum_applied):
    d = run(food=True, food_safety_violation=True, price_yuan=price, category="食品")
    p = d.punitive
    assert (p.multiple, p.minimum_yuan, p.amount_yuan) == (10, 1000, amount)
    assert "FOOD_10X" in d.reason_codes
    assert ("FOOD_MINIMUM_1000" in d.reason_codes) is minimum_applied
    assert p.punitive_basis == [("食品安全法", 148)]


def test_food_mere_seller_without_knowledge_points_to_producer():
    d = run(food=True, food_safety_violation=True, seller_knew_food_violation=False)
    assert d.punitive.against == ["生产者"]
    assert "FOOD_PRODUCER_LIABLE_WITHOUT_KNOWLEDGE" in d.reason_codes
    assert "claim_producer" in d.suggested_remedies


def test_food_seller_that_knew_is_liable_too():
    d = run(food=True, food_safety_violation=True, seller_knew_food_violation=True)
    assert "销售者" in d.punitive.against
    assert "FOOD_PRODUCER_LIABLE_WITHOUT_KNOWLEDGE" not in d.reason_codes


def test_food_expired_counts_as_knowledge():
    d = run(food=True, food_safety_violation=True, food_expired=True)
    assert "销售者" in d.punitive.against


def test_food_seller_that_is_the_producer():
    d = run(food=True, food_safety_violation=True, seller_is_producer=True)
    assert d.punitive.against == ["生产者"]
    assert "FOOD_PRODUCER_LIABLE_WITHOUT_KNOWLEDGE" not in d.reason_codes
    assert "claim_producer" not in d.suggested_remedies


def test_small_workshop_is_covered():
    d = run(food=True, food_safety_violation=True, small_workshop=True, price_yuan=40)
    assert d.punitive.amount_yuan == 1000
    assert ("食品药品惩罚性赔偿司法解释", 4) in d.legal_basis


def test_label_minor_flaw_gives_no_punitive():
    d = run(food=True, food_safety_violation=True, food_label_minor_flaw_only=True)
    assert d.punitive.multiple == 0
    assert d.punitive.amount_yuan == 0
    assert "FOOD_LABEL_MINOR_FLAW_NO_PUNITIVE" in d.reason_codes
    assert ("食品药品惩罚性赔偿司法解释", 8) in d.legal_basis


def test_label_flaw_is_not_fraud():
    d = run(fraud=True, food_label_minor_flaw_only=True)
    assert d.punitive.multiple == 0
    assert "LABEL_FLAW_NO_FRAUD" in d.reason_codes


def test_food_and_fraud_records_the_larger_10x():
    d = run(food=True, food_safety_violation=True, fraud=True, price_yuan=200)
    assert (d.punitive.multiple, d.punitive.amount_yuan) == (10, 2000)
    assert "FOOD_10X_CHOSEN_OVER_FRAUD_3X" in d.reason_codes
    assert "FRAUD_3X" not in d.reason_codes


def test_property_damage_without_fraud_has_no_punitive():
    d = run(defect=True, defect_caused_harm=True)
    assert d.punitive.multiple == 0
    assert "DEFECT_CAUSED_PROPERTY_DAMAGE" in d.reason_codes


def test_private_seller_owes_no_punitive():
    d = run(fraud=True, channel="secondhand_marketplace", seller_type="individual_non_business")
    assert d.punitive.multiple == 0


def test_unknown_price_gives_unknown_amount():
    d = run(fraud=True, price_yuan=None)
    assert d.punitive.multiple == 3
    assert d.punitive.amount_yuan is None


def test_live_room_that_hid_the_seller_is_the_punitive_defendant():
    d = run(fraud=True, channel="live_stream", livestream_marked_actual_seller=False)
    assert d.punitive.against == ["直播间运营者"]
    assert d.other_liable_parties == ["直播间运营者"]


# --- v2 measures (../shared/eval/README.md, "Punitive damages") --------------------------------
FOOD = {"food": True, "food_safety_violation": True}


@pytest.mark.parametrize(("price", "loss", "multiple", "measure", "amount"), [
    (58, 1200, 3, "loss", 3600),  # 3 × loss beats 10 × price
    (76, None, 10, "price", 1000),  # the floor
    (500, 1200, 10, "price", 5000),  # 10 × price beats 3 × loss
])
def test_food_takes_the_larger_of_ten_times_price_and_three_times_loss(price, loss, multiple, measure, amount):
    d = run(**FOOD, price_yuan=price, loss_yuan=loss, defect_caused_harm=loss is not None)
    assert (d.punitive.multiple, d.punitive.measure, d.punitive.amount_yuan) == (multiple, measure, amount)
    assert ("FOOD_3X_LOSS" in d.reason_codes) is (measure == "loss")


def test_a_knowing_buyer_gets_ten_times_only_what_living_needs_take():
    d = run(**FOOD, price_yuan=390, quantity=10, reasonable_quantity=2, bought_knowing_defect=True)
    assert (d.punitive.base_yuan, d.punitive.amount_yuan) == (78, 1000)
    assert "KNOWING_PURCHASE_CAPPED" in d.reason_codes
    assert ("食品药品惩罚性赔偿司法解释", 12) in d.punitive.punitive_basis
    within = run(**FOOD, price_yuan=390, quantity=2, reasonable_quantity=2, bought_knowing_defect=True)
    assert within.punitive.amount_yuan == 3900 and "KNOWING_PURCHASE_WITHIN_NEED" in within.reason_codes


def test_known_defect_with_serious_harm_is_up_to_twice_the_loss_with_fraud_as_an_alternative():
    d = run(fraud=True, defect=True, defect_caused_harm=True, seller_knew_defect=True,
            injury="serious_or_death", price_yuan=459, loss_yuan=68000)
    p = d.punitive
    assert (p.multiple, p.measure, p.up_to, p.amount_yuan, p.minimum_yuan) == (2, "loss", True, 136000, 0)
    [alt] = d.to_dict()["punitive_alternatives"]
    assert (alt["multiple"], alt["amount_yuan"], alt["measure"]) == (3, 1377, "price")
    assert "KNOWN_DEFECT_SERIOUS_HARM_2X" in d.reason_codes


def test_an_ordinary_injury_gives_nothing_under_the_second_paragraph():
    d = run(defect=True, defect_caused_harm=True, seller_knew_defect=True, injury="injury",
            price_yuan=459, loss_yuan=3000)
    assert d.punitive.multiple == 0 and "INJURY_NOT_SERIOUS_NO_2X" in d.reason_codes
