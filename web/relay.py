"""One relay for every consumer channel: to the bot, or to the platform's human desk while a
human holds the conversation (after 「转人工」 or a desk take-over).

Rasa reads a message that starts with "/" as `/intent{"entity": "value"}`: the intent and the
entities are taken as given, bypassing the NLU. What a consumer types is therefore never sent in
that form (`as_consumer_text`). Quick-reply buttons keep their payloads: the relay remembers the
buttons of the last reply of each conversation, and only a message that is one of those buttons
(its payload, as the chat page sends it, or its title, as a WeChat consumer types it) is sent as
that button's payload."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import current_app

from disputes.privacy import mask_id
from web.caching import cache_delete, cache_get, cache_set
from web.rasa_client import RasaClient

logger = logging.getLogger(__name__)

BACK_TO_BOT = re.compile(r"^(返回机器人|回到机器人|切回机器人|返回智能助手|结束人工)[。！!]?$")
# Rasa answers but says nothing when a custom action failed (e.g. the action server is down: Rasa
# logs the error, drops the action's events and listens again). The consumer must not be left
# without an answer; what they said did not take effect, so they should send it again.
NO_REPLY = "抱歉，助手暂时没能处理您刚才的消息，请稍后重新发送一次。之前的对话内容都还在。"
INTENT_PREFIX = "/"  # rasa.shared.constants.INTENT_MESSAGE_PREFIX
ESCAPED_PREFIX = "／"  # the same sign, full width: read by the NLU as text
BUTTONS_TTL = 24 * 3600  # as long as Rasa keeps a conversation's session (bot/domain.yml)
MAX_BUTTONS = 20


def as_consumer_text(text: str) -> str:
    """Consumer-typed text in a form Rasa classifies with its NLU pipeline. Rasa strips the message
    (str.strip) and unpacks it as `/intent{…}` when it then starts with "/": such a message gets
    its "/" replaced by the full-width "／", which reads the same to the consumer and the desk."""
    stripped = text.strip()
    if stripped.startswith(INTENT_PREFIX):
        return ESCAPED_PREFIX + stripped[len(INTENT_PREFIX):]
    return text


def _buttons_key(sender_id: str) -> str:
    return f"buttons:{sender_id}"


def remember_buttons(sender_id: str, messages: list[dict]) -> None:
    """The quick replies this conversation may answer with next: those of this reply only."""
    offered: dict[str, str] = {}
    for message in messages:
        for button in message.get("buttons") or []:
            payload, title = button.get("payload"), button.get("title")
            if not isinstance(payload, str) or not payload.strip() or len(offered) >= MAX_BUTTONS:
                continue
            offered[payload.strip()] = payload
            if isinstance(title, str) and title.strip():
                offered.setdefault(title.strip(), payload)
    if offered:
        cache_set(_buttons_key(sender_id), offered, BUTTONS_TTL)
    else:
        cache_delete(_buttons_key(sender_id))


def to_rasa(sender_id: str, text: str) -> str:
    """What to send Rasa for a consumer's message: the payload of a button this conversation was
    just offered, else the consumer's text, never readable as an intent."""
    offered = cache_get(_buttons_key(sender_id))
    if isinstance(offered, Mapping):
        payload = offered.get(text.strip())
        if isinstance(payload, str):
            return payload
    return as_consumer_text(text)


def relay(sender_id: str, text: str, channel: str) -> list[dict]:
    """The replies to show for one consumer message."""
    from disputes.db import session_factory
    from disputes.service import human_conversation, record_consumer_message, resume_bot

    clock = app_clock()
    with session_factory(current_app.config["DATABASE_URL"])() as db:
        case_no = human_conversation(db, sender_id, channel)
        if case_no and BACK_TO_BOT.match(text.strip()):
            resume_bot(db, case_no, sender_id=sender_id, clock=clock, channel=channel)
            return [{"text": f"已切回智能助手。案件 {case_no} 仍由平台人工客服跟进，进展会在这里通知您。", "buttons": []}]
        if case_no:
            record_consumer_message(db, case_no, sender_id=sender_id, text=text, clock=clock, channel=channel)
            return [{
                "text": f"您的消息已转给平台人工客服（案件 {case_no}），客服回复后会在这里通知您。"
                "回复「返回机器人」可切回智能助手。",
                "buttons": [],
            }]
    client: RasaClient = current_app.extensions["rasa_client"]
    messages = client.send(sender_id, to_rasa(sender_id, text))
    remember_buttons(sender_id, messages)
    if not messages:
        logger.warning("empty reply from the dialogue server for %s (did an action fail?)", mask_id(sender_id))
        return [{"text": NO_REPLY, "buttons": []}]
    return messages


def app_clock():
    """The app's clock: injectable through config["CLOCK"] so tests can jump past deadlines."""
    from disputes.clock import SystemClock

    return current_app.config.get("CLOCK") or SystemClock()
