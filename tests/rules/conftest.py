"""Fixtures for the rules tests: a baseline facts dict that individual tests modify."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEV_CASES = REPO.parent / "shared" / "eval" / "cases_dev.jsonl"
TODAY = date(2026, 5, 20)


def make_facts(**overrides) -> dict:
    """An ordinary online purchase from a business seller, intact and within the window."""
    facts = {
        "platform": "测试商城",
        "channel": "marketplace",
        "seller_type": "business",
        "product": "保温杯",
        "category": "日用品",
        "quantity": 1,
        "price_yuan": 120,
        "order_date": "2026-03-01",
        "signed_date": "2026-03-03",
        "logistics_marked_signed_date": None,
        "return_request_date": "2026-03-06",
        "seller_received_return_date": None,
        "complaint_date": "2026-03-06",
        "condition": "intact",
        "defect": False,
        "defect_caused_harm": False,
        "seller_reachable": True,
        "platform_provided_seller_info": True,
        "platform_knew": False,
        "platform_self_operated": False,
        "platform_promise": None,
        "seller_promise": None,
        "fraud": False,
        "food": False,
        "food_safety_violation": False,
        "food_label_minor_flaw_only": False,
        "seller_knew_food_violation": False,
        "custom_made": False,
        "perishable": False,
        "digital_opened": False,
        "periodical": False,
        "merchant_exclusion_category": False,
        "merchant_exclusion_confirmed": False,
        "gift_included": False,
        "service_not_goods": False,
        "return_shipping_agreed_by_seller": False,
        "consumer_chose_carrier": False,
        "livestream_marked_actual_seller": None,
    }
    facts.update(overrides)
    return facts


@pytest.fixture
def facts():
    return make_facts


@pytest.fixture(scope="session")
def dev_cases() -> list[dict]:
    if not DEV_CASES.exists():
        pytest.skip(f"dev eval file not found at {DEV_CASES} (the shared/ folder sits beside the repo)")
    from knowledge.rules.evaluate import load_cases

    return load_cases(DEV_CASES)
