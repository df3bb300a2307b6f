"""Rate limits on the anonymous surfaces whose requests cost real work: chat messages (a dialogue
turn: NLU, retrieval, the case store), new chat conversations, WeChat messages, evidence uploads
and the public statistics.

They use the app's Flask-Limiter extension (`web.forms.init_security`): memory by default, Redis
in the scaled profile (ODR_RATELIMIT_STORAGE), so that every web worker counts together. The
limits are configuration (`web.config.LIMIT_DEFAULTS`, env ODR_<KEY>). A request over a limit gets
429 with a Chinese message (JSON on API paths, a page otherwise) and Retry-After; a WeChat
message over its limit is answered in the chat instead (WeChat's server only relays our reply).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, make_response, session
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many

from web.config import LIMIT_DEFAULTS
from web.forms import ERROR_TEXTS, error_response

log = logging.getLogger(__name__)

CHAT_TOO_FAST = "您发送消息太频繁了，请稍等一会儿再发。"
NEW_SESSIONS_TOO_FAST = "新建对话过于频繁，请稍后再试。"
UPLOADS_TOO_FAST = "上传证据过于频繁，请稍后再试。"
STATS_TOO_FAST = "访问统计页面过于频繁，请稍后再试。"
WECHAT_TOO_FAST = "您发送消息太频繁了，请稍等一会儿再发。刚才这条消息没有处理，稍后请重新发送。"


def conversation_key() -> str:
    """The chat conversation of this browser (per-conversation limits are exempt without one:
    the limit on new conversations applies then)."""
    return f"sender:{session.get('sender_id')}"


def has_conversation() -> bool:
    sid = session.get("sender_id")
    return isinstance(sid, str) and bool(sid)


def no_conversation() -> bool:
    return not has_conversation()


def _configured(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def init_limits(app: Flask) -> None:
    """Put the configured limits on the views (after the blueprints are registered)."""
    for key, value in LIMIT_DEFAULTS.items():
        app.config.setdefault(key, value)
    limiter: Limiter = app.extensions["odr_limiter"]

    def apply(endpoints: tuple[str, ...], name: str, scope: str, key_func: Callable[[], str], message: str,
              exempt_when: Callable[[], bool] | None = None) -> None:
        decorate = limiter.shared_limit(_configured(name), scope=scope, key_func=key_func, error_message=message,
                                        exempt_when=exempt_when)
        for endpoint in endpoints:
            app.view_functions[endpoint] = decorate(app.view_functions[endpoint])

    chat = ("chat.index", "chat.send_message", "chat.notifications")  # each of them opens a conversation
    apply(chat, "CHAT_NEW_SESSION_LIMIT_IP", "chat-new-session", get_remote_address, NEW_SESSIONS_TOO_FAST,
          exempt_when=has_conversation)
    apply(("chat.send_message",), "CHAT_MESSAGE_LIMIT_IP", "chat-message-ip", get_remote_address, CHAT_TOO_FAST)
    apply(("chat.send_message",), "CHAT_MESSAGE_LIMIT_SESSION", "chat-message-session", conversation_key,
          CHAT_TOO_FAST, exempt_when=no_conversation)
    uploads = ("cases.upload_evidence", "cases.api_upload_evidence")
    apply(uploads, "EVIDENCE_UPLOAD_LIMIT_IP", "evidence-ip", get_remote_address, UPLOADS_TOO_FAST)
    apply(uploads, "EVIDENCE_UPLOAD_LIMIT_SESSION", "evidence-session", conversation_key, UPLOADS_TOO_FAST,
          exempt_when=no_conversation)
    apply(("stats.index", "stats.csv_export"), "STATS_LIMIT_IP", "stats-ip", get_remote_address, STATS_TOO_FAST)
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def too_many_requests(exc: RateLimitExceeded) -> Response:
    """429 with the limit's Chinese message (the generic one for limits without their own)."""
    limit = getattr(exc, "limit", None)
    message = exc.description if limit is not None and limit.error_message else ERROR_TEXTS[429]
    body, status = error_response(429, message)
    resp = make_response(body, status)
    try:
        current = current_app.extensions["odr_limiter"].current_limit
        if current is not None:
            resp.headers["Retry-After"] = str(max(1, int(current.reset_at - time.time())))
    except Exception:  # the storage went away: the answer stands without the header
        log.warning("rate limit window unavailable for Retry-After", exc_info=True)
    return resp


def allow(name: str, subject: str) -> bool:
    """Count one use of the configured limit `name` by `subject` outside the route decorators
    (WeChat: every consumer's message arrives from WeChat's few server addresses, so the limit is
    per openid); False when the subject is over the limit. A storage that cannot be reached lets
    the message through (logged): consumers are not turned away because Redis is down."""
    limiter: Limiter = current_app.extensions["odr_limiter"]
    if not limiter.enabled:
        return True
    keys = ("odr", name.lower(), subject)
    try:
        items = parse_many(str(current_app.config[name]))
        strategy = limiter.limiter
        if not all(strategy.test(item, *keys) for item in items):
            return False
        for item in items:
            strategy.hit(item, *keys)
    except Exception:
        log.warning("rate limit storage unreachable; %s not counted", name, exc_info=True)
    return True
