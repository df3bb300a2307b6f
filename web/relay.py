"""One relay for every consumer channel: to the bot, or to the platform's human desk while a
human holds the conversation (after 「转人工」 or a desk take-over)."""

from __future__ import annotations

import logging
import re

from flask import current_app

from web.rasa_client import RasaClient

logger = logging.getLogger(__name__)

BACK_TO_BOT = re.compile(r"^(返回机器人|回到机器人|切回机器人|返回智能助手|结束人工)[。！!]?$")
# Rasa answers but says nothing when a custom action failed (e.g. the action server is down: Rasa
# logs the error, drops the action's events and listens again). The consumer must not be left
# without an answer; what they said did not take effect, so they should send it again.
NO_REPLY = "抱歉，助手暂时没能处理您刚才的消息，请稍后重新发送一次。之前的对话内容都还在。"


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
    messages = client.send(sender_id, text)
    if not messages:
        logger.warning("empty reply from the dialogue server for %s (did an action fail?)", sender_id)
        return [{"text": NO_REPLY, "buttons": []}]
    return messages


def app_clock():
    """The app's clock: injectable through config["CLOCK"] so tests can jump past deadlines."""
    from disputes.clock import SystemClock

    return current_app.config.get("CLOCK") or SystemClock()
