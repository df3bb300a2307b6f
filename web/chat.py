"""Consumer web chat: the page and a JSON endpoint that relays messages to Rasa."""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, current_app, jsonify, render_template, request, session

from disputes.privacy import mask_id
from web.rasa_client import RasaUnavailable
from web.relay import app_clock, relay

bp = Blueprint("chat", __name__)
logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000


def sender_id() -> str:
    """The conversation id for this browser: random, kept in the signed session cookie."""
    if "sender_id" not in session:
        session["sender_id"] = f"web-{uuid.uuid4().hex}"
        session.permanent = True
    return session["sender_id"]


def _error(message: str, status: int):
    return jsonify({"error": message}), status


@bp.get("/")
def index():
    sender_id()
    return render_template("chat.html")


@bp.post("/api/chat/messages")
def send_message():
    if not request.is_json:
        return _error("请求格式错误：请以 JSON 发送消息。", 415)
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # arrays nested thousands deep: not a message (and not a 500)
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return _error("请求格式错误：缺少消息内容。", 400)
    text = payload["text"].strip()
    if not text:
        return _error("消息不能为空。", 400)
    if len(text) > MAX_MESSAGE_CHARS:
        return _error(f"消息太长了，请控制在{MAX_MESSAGE_CHARS}字以内。", 413)
    sid = sender_id()
    logger.info("chat message from %s (%d chars)", mask_id(sid), len(text))
    try:
        messages = relay(sid, text, "web")
    except RasaUnavailable:
        logger.warning("rasa unavailable for %s", mask_id(sid))
        return _error("助手暂时无法回复，请稍后再试。您的消息没有丢失，可以重新发送。", 503)
    return jsonify({"messages": messages})


@bp.get("/api/chat/notifications")
def notifications():
    """Messages the case service queued for this consumer (offers, deadlines, escalations)."""
    from disputes.db import session_factory
    from disputes.service import mark_delivered, pending_notifications

    factory = session_factory(current_app.config["DATABASE_URL"])
    sid = sender_id()
    with factory() as db:
        items = pending_notifications(db, "web", sid)
        if items:
            mark_delivered(db, [n["id"] for n in items], app_clock(), channel="web", recipient=sid)
    return jsonify({"messages": [{"id": n["id"], "case_no": n["case_no"], "text": n["text"]} for n in items]})



@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
