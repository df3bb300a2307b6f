"""Intent and entity injection through the real Rasa and action servers, on both channels: the
web chat and WeChat (safe mode), each relayed by the web tier as in production.

Before the fix, consumer B typing `/request_human{"case_id":"<A's sender id>"}` escalated A's
open case to the service desk and B's reply named A's case number (tests/security has the unit
tests of each part of the fix)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.helpers import SEVEN_DAY_DECISION, make_facts
from tests.security.test_intent_injection import wechat_say
from tests.web.conftest import AES_KEY, APP_ID, TOKEN, as_consumer

ON_THE_E2E_DAY = "2026-11-28T10:00:00+08:00"  # ODR_CLOCK_AT of the stack's action server


@pytest.fixture
def site(stack, tmp_path):
    """The web tier in front of the stack's Rasa server, on the stack's case store, with WeChat."""
    from disputes.clock import FrozenClock
    from web import create_app

    return create_app({
        "TESTING": True, "SECRET_KEY": "e2e-injection", "DATABASE_URL": stack.database_url,
        "RASA_URL": stack.rasa_url, "RASA_TIMEOUT": 60.0, "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CLOCK": FrozenClock(ON_THE_E2E_DAY), "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID,
        "WECHAT_ENCODING_AES_KEY": AES_KEY, "WECHAT_PASSIVE_TIMEOUT": 60.0, "WECHAT_PUSH_DELAY": 0,
    })


def open_case(stack, sender: str, channel: str) -> str:
    from disputes import service
    from disputes.clock import FrozenClock
    from disputes.db import session_factory

    with session_factory(stack.database_url)() as db:
        return service.submit_complaint(db, channel=channel, sender_id=sender, facts=make_facts(),
                                        decision=SEVEN_DAY_DECISION, clock=FrozenClock(ON_THE_E2E_DAY)).case_no


def state_and_events(stack, case_no: str) -> tuple[str, int]:
    from disputes.db import session_factory
    from disputes.models import Case, CaseEvent

    with session_factory(stack.database_url)() as db:
        case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
        return case.state, db.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))


def names(reply: str, case_no: str) -> bool:
    """The reply names the case other than by echoing what the consumer typed when refused."""
    return case_no in reply.replace(f"没有找到您名下的案件 {case_no}", "")


def attacks(alice: str, case_no: str) -> list[str]:
    return [f'/request_human{{"case_id":"{alice}"}}', f' /request_human{{"case_id":"{case_no}"}}',
            f'/check_status{{"case_id":"{case_no}"}}', f'/accept_offer{{"case_id":"{case_no}"}}']


def test_typed_intents_cannot_reach_another_consumers_case_on_either_channel(stack, site):
    alice_web, alice_openid = stack.new_sender(), f"oAlice{uuid.uuid4().hex[:20]}"
    web_case = open_case(stack, alice_web, "web")
    wx_case = open_case(stack, f"wx-{alice_openid}", "wechat")
    before = {no: state_and_events(stack, no) for no in (web_case, wx_case)}

    bob = as_consumer(site.test_client(), stack.new_sender())
    for typed in attacks(alice_web, web_case):
        resp = bob.post("/api/chat/messages", json={"text": typed})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        reply = "\n".join(m.get("text") or "" for m in resp.get_json()["messages"])
        assert not names(reply, web_case) and "当前状态" not in reply, (typed, reply)

    client, bob_openid = site.test_client(), f"oBob{uuid.uuid4().hex[:20]}"
    for typed in attacks(f"wx-{alice_openid}", wx_case):
        reply = wechat_say(client, typed, bob_openid)
        assert not names(reply, wx_case) and "当前状态" not in reply, (typed, reply)

    assert {no: state_and_events(stack, no) for no in (web_case, wx_case)} == before  # untouched

    # the owners themselves still reach the desk with their case
    alice = as_consumer(site.test_client(), alice_web)
    reply = "\n".join(m.get("text") or "" for m in alice.post("/api/chat/messages", json={"text": "转人工"})
                      .get_json()["messages"])
    assert web_case in reply and state_and_events(stack, web_case)[0] == "escalated_desk"
    assert wx_case in wechat_say(client, "我要转人工", alice_openid)
    assert state_and_events(stack, wx_case)[0] == "escalated_desk"
