"""Consumers cannot inject intents and entities, nor reach another consumer's case.

Rasa reads a message that starts with "/" as `/intent{"entity": "value"}`. Reproduced before the
fix: consumer B typed `/request_human{"case_id":"<A's sender id>"}` in the web chat; the hand-off
escalated A's open case to the desk and B's reply named A's case number (the same on WeChat).

- the relay (web chat and WeChat) never sends typed text Rasa would unpack as an intent; only the
  payload of a quick reply just offered to that conversation passes as is;
- the hand-off and the case actions look cases up only for the tracker's sender id;
- the case service refuses a hand-off on another sender's conversation or case.
(tests/e2e/test_security_injection.py drives the same attack through the real Rasa and action
servers on both channels.)
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from tests.actions.conftest import make_tracker
from tests.helpers import SEVEN_DAY_DECISION, make_facts
from tests.security.conftest import ACTION_CLOCK
from tests.web.conftest import (  # noqa: F401  (fixtures)
    AES_KEY,
    APP_ID,
    TOKEN,
    as_consumer,
    decrypt_reply,
    text_xml,
    web,
    wx,
    wx_query,
)

ALICE, BOB = "web-alice-victim-0001", "web-bob-attacker-0002"
ALICE_WX, BOB_WX = "oAliceVictim000000000000001", "oBobAttacker000000000000002"

INJECTIONS = [
    '/request_human{"case_id":"%s"}',
    '  /request_human{"case_id":"%s"}',
    '\u3000/request_human{"case_id":"%s"}',
    '\n\t/request_human@1.0{"case_id":"%s"}',
    '\u00a0/check_status{"case_id":"%s"}',
    '\u2028/accept_offer{"case_id":"%s"}',
    "/request_human",
]


def rasa_reads_as_intent(text: str) -> bool:
    """Rasa 3.6 (UserMessage, RegexMessageHandler): the stripped text starting with "/"."""
    return text.strip().startswith("/")


# ---------------------------------------------------------------- the case service


@pytest.fixture
def store(tmp_path, clock):
    from disputes.db import session_factory, upgrade

    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    upgrade(url)
    return session_factory(url)


def submit(sessions, sender: str, clock, channel: str = "web") -> str:
    from disputes import service

    with sessions() as db:
        return service.submit_complaint(db, channel=channel, sender_id=sender, facts=make_facts(),
                                        decision=SEVEN_DAY_DECISION, clock=clock).case_no


def state_of(sessions, case_no: str) -> str:
    from disputes.core import get_case

    with sessions() as db:
        return get_case(db, case_no).state


def test_a_hand_off_on_another_senders_conversation_is_refused(store, clock) -> None:
    from disputes import service
    from disputes.states import State

    case_no = submit(store, ALICE, clock)
    with store() as db, pytest.raises(service.AccessDenied):
        service.record_handoff(db, ALICE, "消费者要求转人工", clock, channel="web", sender_id=BOB)
    with store() as db, pytest.raises(service.AccessDenied):
        service.record_handoff(db, case_no, "消费者要求转人工", clock, channel="web", sender_id=BOB)
    with store() as db, pytest.raises(service.AccessDenied):  # a case number needs the sender asking
        service.record_handoff(db, case_no, "消费者要求转人工", clock, channel="web")
    assert state_of(store, case_no) == State.SUBMITTED
    with store() as db:  # the owner still can
        assert service.record_handoff(db, ALICE, "转人工", clock, channel="web", sender_id=ALICE)["case_no"] == case_no
    assert state_of(store, case_no) == State.ESCALATED_DESK


# ---------------------------------------------------------------- the actions


@pytest.fixture
def action_store(actions_case_store):
    """The actions' case store and a clock on the same day."""
    from disputes.clock import FrozenClock

    return actions_case_store, FrozenClock(ACTION_CLOCK)


def run(action, tracker) -> tuple[str, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages), events


def desk_requests_of(sessions, sender: str) -> int:
    from disputes.models import Escalation

    with sessions() as db:
        return db.scalar(select(func.count()).select_from(Escalation).where(Escalation.sender_id == sender))


@pytest.mark.parametrize("named", ["sender", "case"])
def test_an_injected_case_id_hands_off_only_the_senders_own_conversation(action_store, named) -> None:
    """What Rasa made of `/request_human{"case_id": …}` before the relay fix: the slot holds A's
    sender id (or case number). B is handed off on B's own conversation; A's case is untouched."""
    from actions.handoff import ActionHandoff
    from disputes.states import State

    sessions, clock = action_store
    case_no = submit(sessions, ALICE, clock)
    injected = ALICE if named == "sender" else case_no
    tracker = make_tracker(slots={"case_id": injected}, text=f'/request_human{{"case_id":"{injected}"}}',
                           intent="request_human", entities=[{"entity": "case_id", "value": injected}],
                           sender_id=BOB)
    reply, events = run(ActionHandoff(), tracker)
    assert events == [SlotSet("fallback_count", 0)]
    assert case_no not in reply and "人工客服" in reply
    assert state_of(sessions, case_no) == State.SUBMITTED
    assert desk_requests_of(sessions, BOB) == 1  # B still reaches a human, for B's own conversation


def test_the_senders_own_case_number_is_still_handed_off(action_store) -> None:
    from actions.handoff import ActionHandoff
    from disputes.states import State

    sessions, clock = action_store
    case_no = submit(sessions, BOB, clock)
    reply, events = run(ActionHandoff(), make_tracker(slots={"case_id": case_no}, text="转人工",
                                                      intent="request_human", sender_id=BOB))
    assert events == [SlotSet("fallback_count", 0)]
    assert case_no in reply and state_of(sessions, case_no) == State.ESCALATED_DESK


def test_status_and_offers_of_another_senders_case_are_not_shown(action_store) -> None:
    from actions.cases import ActionCheckStatus, ActionRespondOffer
    from disputes.states import State

    sessions, clock = action_store
    case_no = submit(sessions, ALICE, clock)
    entity = [{"entity": "case_id", "value": case_no}]
    reply, events = run(ActionCheckStatus(), make_tracker(slots={"case_id": case_no}, text=case_no,
                                                          intent="check_status", entities=entity, sender_id=BOB))
    assert events == [] and "没有找到您名下的案件" in reply and "当前状态" not in reply
    reply, events = run(ActionRespondOffer(), make_tracker(slots={"case_id": case_no}, text="接受",
                                                           intent="accept_offer", sender_id=BOB))
    assert events == [] and "当前状态" not in reply
    assert state_of(sessions, case_no) == State.SUBMITTED


# ---------------------------------------------------------------- the relay: web chat


@pytest.fixture
def rasa(web):  # noqa: F811
    from tests.web.conftest import FakeRasa

    fake = FakeRasa()
    web.extensions["rasa_client"] = fake
    return fake


@pytest.mark.parametrize("template", INJECTIONS)
def test_web_chat_never_forwards_typed_text_as_an_intent(web, rasa, template) -> None:  # noqa: F811
    client = as_consumer(web.test_client(), BOB)
    typed = template % ALICE if "%s" in template else template
    resp = client.post("/api/chat/messages", json={"text": typed})
    assert resp.status_code == 200
    [(sender, sent)] = rasa.calls
    assert sender == BOB and not rasa_reads_as_intent(sent), sent
    assert sent.strip()[1:] == typed.strip()[1:]  # the consumer's words, only the "/" made text


BUTTONS = [{"title": "转人工", "payload": "/request_human"}, {"title": "我要投诉", "payload": "我要投诉"}]


def test_web_quick_replies_pass_only_as_offered_to_that_conversation(web, rasa) -> None:  # noqa: F811
    bob = as_consumer(web.test_client(), BOB)
    alice = as_consumer(web.test_client(), ALICE)
    rasa.reply = [{"text": "需要帮您做什么？", "buttons": BUTTONS}]
    assert bob.post("/api/chat/messages", json={"text": "你好"}).get_json()["messages"][0]["buttons"] == BUTTONS
    # Alice was offered nothing: the same payload typed by her is text
    alice.post("/api/chat/messages", json={"text": "/request_human"})
    assert not rasa_reads_as_intent(rasa.calls[-1][1])
    # Bob clicks the button: its payload goes to Rasa as it is
    bob.post("/api/chat/messages", json={"text": "/request_human"})
    assert rasa.calls[-1] == (BOB, "/request_human")
    # ... but not with entities of his own making
    bob.post("/api/chat/messages", json={"text": f'/request_human{{"case_id":"{ALICE}"}}'})
    assert not rasa_reads_as_intent(rasa.calls[-1][1])
    # the buttons of an older reply are gone once a reply offers none
    rasa.reply = [{"text": "好的。", "buttons": []}]
    bob.post("/api/chat/messages", json={"text": "谢谢"})
    bob.post("/api/chat/messages", json={"text": "/request_human"})
    assert not rasa_reads_as_intent(rasa.calls[-1][1])


# ---------------------------------------------------------------- the relay: WeChat


def wechat_say(client, text: str, openid: str) -> str:
    """One text message in safe mode (as WeChat's server sends it); returns the passive reply."""
    return wechat_post(client, text_xml(text, msg_id=uuid.uuid4().int % 10**16, openid=openid))


def wechat_post(client, xml: str) -> str:
    """Push a message in safe mode with a fresh nonce; returns the passive reply's text."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    envelope = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, nonce, ts))["xml"]
    body = f"<xml><ToUserName><![CDATA[gh_odr]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    query = wx_query(timestamp=ts, nonce=nonce, encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    resp = client.post(f"/wechat?{query}", data=body.encode(), content_type="text/xml")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return decrypt_reply(resp.get_data(as_text=True), ts, nonce)["Content"]


@pytest.mark.parametrize("template", INJECTIONS[:4])
def test_wechat_never_forwards_typed_text_as_an_intent(wx, template) -> None:  # noqa: F811
    rasa = wx.extensions["rasa_client"]
    typed = template % f"wx-{ALICE_WX}"
    wechat_say(wx.test_client(), typed, BOB_WX)
    [(sender, sent)] = rasa.calls
    assert sender == f"wx-{BOB_WX}" and not rasa_reads_as_intent(sent), sent


def test_wechat_quick_replies_are_typed_titles_mapped_to_their_payloads(wx) -> None:  # noqa: F811
    rasa = wx.extensions["rasa_client"]
    client = wx.test_client()
    rasa.reply = [{"text": "需要帮您做什么？", "buttons": BUTTONS}]
    assert "「转人工」" in wechat_say(client, "你好", BOB_WX)
    wechat_say(client, "转人工", BOB_WX)  # WeChat consumers type the title
    assert rasa.calls[-1] == (f"wx-{BOB_WX}", "/request_human")
    wechat_say(client, f'/request_human{{"case_id":"wx-{ALICE_WX}"}}', BOB_WX)
    assert not rasa_reads_as_intent(rasa.calls[-1][1])
    wechat_say(client, "转人工", ALICE_WX)  # another openid was offered nothing
    assert rasa.calls[-1] == (f"wx-{ALICE_WX}", "转人工")
