"""One relay for every consumer channel: to the bot, or to the platform's human desk while a
human holds the conversation (after 「转人工」 or a desk take-over)."""

from __future__ import annotations

import re

from flask import current_app

from web.rasa_client import RasaClient

BACK_TO_BOT = re.compile(r"^(返回机器人|回到机器人|切回机器人|返回智能助手|结束人工)[。！!]?$")


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
    return client.send(sender_id, text)


def app_clock():
    """The app's clock: injectable through config["CLOCK"] so tests can jump past deadlines."""
    from disputes.clock import SystemClock

    return current_app.config.get("CLOCK") or SystemClock()
