"""WeChat Official Account endpoint (`/wechat`), built on wechatpy.

- Every request (GET echostr and each POST) carries `signature = sha1(sort(token, timestamp,
  nonce))`; forged signatures and timestamps outside a ±5 minute window are refused. In safe
  mode (`encrypt_type=aes`) the body is AES-encrypted and signed again (`msg_signature`). Once an
  EncodingAESKey is configured, only safe-mode (or compatible-mode) pushes are accepted: the
  plaintext signature does not cover the body.
- Replays: that signature covers no body, so each (timestamp, nonce) pair is remembered for the
  window (`web.replay`) together with the message it carried; the same pair with another message
  or sender is refused, WeChat's own retry of the same message passes on to the MsgId check.
- Bodies are small XML: wrong content types, oversized bodies and any DOCTYPE / ENTITY
  declaration are refused before parsing (xmltodict, which wechatpy uses, also refuses entity
  declarations; this is the second lock).
- WeChat retries a push up to three times when it gets no answer within 5 s. MsgId is recorded in
  the case database (`web.wechat_store`), so a retry never starts a second bot turn, whichever
  gunicorn worker receives it; the stored reply is sent again only to the openid that sent the
  message.
- The 5-second rule: the text goes to Rasa (`wx-<openid>`) in a worker thread; if the bot answers
  within ~4 s the reply is passive, otherwise WeChat gets "success" and the reply follows through
  the customer-service message API (`web.wechat_client`).
- Images become evidence of the sender's latest case (downloaded through the media API).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from disputes.clock import SystemClock
from disputes.db import session_factory
from disputes.privacy import mask_id
from web import replay
from web.limits import WECHAT_TOO_FAST, allow
from web.wechat_client import MediaError, WeChatClientBase, WeChatSendError, make_client, settings_from
from web.wechat_store import (
    ANSWERED,
    DEFERRED,
    FAILED,
    IGNORED,
    PROCESSING,
    SENT,
    claim_inbound,
    finish_inbound,
)

bp = Blueprint("wechat", __name__)
log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW = 300
PASSIVE_TIMEOUT = 4.0
XML_TYPES = ("text/xml", "application/xml")
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_ECHOSTR = re.compile(r"^[A-Za-z0-9_\-+/=]{1,256}$")

WELCOME = (
    "您好，我是维权助手 🤝 可以帮您：\n1. 解释网购维权的法律规定（如七天无理由退货、退一赔三）\n"
    "2. 整理投诉材料并代您与平台协商\n3. 查询投诉进度\n请直接描述您的问题，或回复「我要投诉」。"
)
UNSUPPORTED = "目前只能处理文字和图片消息。请用文字描述您的问题，或发送图片作为证据。"
BOT_DOWN = "助手暂时无法回复，请稍后再发送一次。您的消息没有丢失。"
NO_CASE_FOR_IMAGE = "您还没有投诉案件，图片暂未保存。请先回复「我要投诉」提交投诉，之后发送的图片会自动作为证据保存。"
IMAGE_FAILED = "图片保存失败，请稍后重新发送。"


class WechatError(Exception):
    """A request we refuse: plain-text Chinese message and HTTP status; nothing was changed."""

    def __init__(self, status: int, message_zh: str) -> None:
        super().__init__(message_zh)
        self.status, self.message_zh = status, message_zh


@bp.errorhandler(WechatError)
def _refuse(exc: WechatError):
    return Response(exc.message_zh, status=exc.status, mimetype="text/plain")


def init_wechat(app: Flask) -> None:
    """Settings (app config, then env, then the documented demo values) and the API client."""
    for key, value in settings_from(app.config).items():
        app.config[key] = value
    app.config.setdefault("WECHAT_PASSIVE_TIMEOUT", PASSIVE_TIMEOUT)
    app.config.setdefault("WECHAT_MAX_BODY", MAX_BODY_BYTES)
    app.config.setdefault("WECHAT_MAX_CLOCK_SKEW", MAX_CLOCK_SKEW)
    app.config.setdefault("WECHAT_PUSH_DELAY", 1.0)
    app.extensions["wechat_client"] = make_client(app.config)
    app.extensions["wechat_executor"] = None


def wechat_client() -> WeChatClientBase:
    return current_app.extensions["wechat_client"]


_executor_lock = threading.Lock()


def _executor(app: Flask) -> ThreadPoolExecutor:
    """Per process (created lazily, so forked gunicorn workers each get their own threads)."""
    with _executor_lock:
        current = app.extensions.get("wechat_executor")
        if current is None or current[0] != os.getpid():
            pool = ThreadPoolExecutor(max_workers=int(app.config.get("WECHAT_THREADS", 8)),
                                      thread_name_prefix="wechat-turn")
            current = (os.getpid(), pool)
            app.extensions["wechat_executor"] = current
        return current[1]


# ---------------------------------------------------------------- checks


def _sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _verify_request() -> tuple[str, str]:
    """Signature and freshness of the query string; returns (timestamp, nonce)."""
    if not current_app.config.get("WECHAT_TOKEN"):
        raise WechatError(503, "微信公众号未配置（缺少 WECHAT_TOKEN），暂不接受消息。")
    signature = request.args.get("signature", "")
    timestamp = request.args.get("timestamp", "")
    nonce = request.args.get("nonce", "")
    if not (signature and timestamp and nonce):
        raise WechatError(400, "缺少签名参数（signature、timestamp、nonce）。")
    if not timestamp.isdigit() or len(nonce) > 64:
        raise WechatError(400, "签名参数格式错误。")
    expected = _sha1_signature(current_app.config["WECHAT_TOKEN"], timestamp, nonce)
    if not hmac.compare_digest(expected, signature.lower()):
        log.warning("wechat: forged signature refused")
        raise WechatError(403, "签名校验失败，请求已拒绝。")
    skew = abs(time.time() - int(timestamp))
    if skew > float(current_app.config["WECHAT_MAX_CLOCK_SKEW"]):
        raise WechatError(403, "请求已过期（时间戳超出允许范围），请求已拒绝。")
    return timestamp, nonce


def reject_dtd(xml: str) -> None:
    """No DOCTYPE / ENTITY declarations at all: WeChat never sends them (XXE, billion laughs)."""
    if _DTD.search(xml):
        raise WechatError(400, "XML 中不允许包含 DOCTYPE 或实体声明，请求已拒绝。")


def _body_text() -> str:
    if request.mimetype not in XML_TYPES:
        raise WechatError(415, "仅接受 XML 格式的微信消息（Content-Type: text/xml）。")
    limit = int(current_app.config["WECHAT_MAX_BODY"])
    if request.content_length is not None and request.content_length > limit:
        raise WechatError(413, "消息体过大，请求已拒绝。")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise WechatError(413, "消息体过大，请求已拒绝。")
    if not raw.strip():
        raise WechatError(400, "消息体为空。")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WechatError(400, "消息必须是 UTF-8 编码的 XML。") from None
    reject_dtd(text)
    return text


def _crypto():
    from wechatpy.crypto import WeChatCrypto

    key = current_app.config.get("WECHAT_ENCODING_AES_KEY")
    if not key:
        raise WechatError(400, "未配置 EncodingAESKey，无法处理安全模式消息。")
    try:
        return WeChatCrypto(current_app.config["WECHAT_TOKEN"], key, current_app.config["WECHAT_APP_ID"])
    except Exception:
        raise WechatError(500, "EncodingAESKey 配置错误。") from None


def _decrypt(body: str, timestamp: str, nonce: str) -> str:
    import xmltodict
    from wechatpy.exceptions import InvalidAppIdException

    msg_signature = request.args.get("msg_signature", "")
    if not msg_signature:
        raise WechatError(400, "安全模式消息缺少 msg_signature。")
    try:
        outer = xmltodict.parse(body)["xml"]
        encrypted = outer["Encrypt"]
    except Exception:
        raise WechatError(400, "XML 格式错误，无法解析。") from None
    if not isinstance(encrypted, str) or not encrypted:
        raise WechatError(400, "XML 格式错误：缺少 Encrypt。")
    expected = _sha1_signature(current_app.config["WECHAT_TOKEN"], timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected, msg_signature.lower()):
        log.warning("wechat: forged msg_signature refused")
        raise WechatError(403, "消息签名校验失败，请求已拒绝。")
    try:
        plain = _crypto().decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
    except InvalidAppIdException:
        raise WechatError(403, "消息不属于本公众号，请求已拒绝。") from None
    except WechatError:
        raise
    except Exception:
        raise WechatError(400, "消息解密失败。") from None
    plain_text = plain if isinstance(plain, str) else plain.decode("utf-8", "strict")
    reject_dtd(plain_text)
    return plain_text


_TEXT_FIELDS = ("source", "content", "media_id", "event")  # the text fields the endpoint reads
_MAX_MSG_ID = 2**63  # WeChat's MsgId is a 64-bit number


def _parse(xml: str):
    """The message, with every field the endpoint uses checked here: wechatpy converts a field only
    when it is read, so a nested element where text belongs or a MsgId / CreateTime that is not a
    number would otherwise fail halfway through the handling."""
    from wechatpy import parse_message

    try:
        msg = parse_message(xml)
        if msg is not None:
            texts = [getattr(msg, name, None) for name in _TEXT_FIELDS]
            msg_id, created = msg.id, msg.time
    except Exception:
        raise WechatError(400, "XML 格式错误，无法解析。") from None
    if msg is None or not isinstance(msg.source, str) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", msg.source):
        raise WechatError(400, "消息缺少有效的发送者（FromUserName）。")
    if (any(value is not None and not isinstance(value, str) for value in texts)
            or not isinstance(msg_id, int) or not 0 <= msg_id < _MAX_MSG_ID
            or not (created is None or isinstance(created, int))):
        raise WechatError(400, "XML 格式错误：消息字段的内容无效。")
    return msg


# ---------------------------------------------------------------- replies


class _Reply:
    """Builds the HTTP answer, encrypted in safe mode."""

    def __init__(self, msg: Any, encrypted: bool, nonce: str, timestamp: str) -> None:
        self.msg, self.encrypted, self.nonce, self.timestamp = msg, encrypted, nonce, timestamp

    def text(self, content: str) -> Response:
        from wechatpy.replies import TextReply

        xml = TextReply(message=self.msg, content=content).render()
        if self.encrypted:
            xml = _crypto().encrypt_message(xml, self.nonce, self.timestamp)
        return Response(xml, mimetype="application/xml")

    @staticmethod
    def success() -> Response:
        return Response("success", mimetype="text/plain")


def format_bot_messages(messages: list[dict[str, Any]]) -> str:
    """Rasa's messages as one WeChat text: buttons become 「回复：A / B」 (users type the words)."""
    parts = []
    for m in messages:
        text = (m.get("text") or "").strip()
        titles = [b.get("title") for b in m.get("buttons") or [] if b.get("title")]
        if titles:
            text = (text + "\n" if text else "") + "请回复：" + " / ".join(f"「{t}」" for t in titles)
        if text:
            parts.append(text)
    return "\n\n".join(parts)


# ---------------------------------------------------------------- the endpoint


@bp.route("/wechat", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def endpoint():
    if request.method not in ("GET", "POST"):
        raise WechatError(405, "不支持该请求方法。")
    timestamp, nonce = _verify_request()
    if request.method == "GET":
        echostr = request.args.get("echostr", "")
        if not _ECHOSTR.match(echostr):
            raise WechatError(400, "缺少或无效的 echostr。")
        return Response(echostr, mimetype="text/plain")
    encrypt_type = (request.args.get("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        raise WechatError(400, "不支持的加密方式。")
    if encrypt_type == "raw" and current_app.config.get("WECHAT_ENCODING_AES_KEY"):
        log.warning("wechat: plaintext push refused (an EncodingAESKey is configured)")
        raise WechatError(403, "本公众号已配置 EncodingAESKey，只接受安全模式（加密）消息，明文消息已拒绝。")
    body = _body_text()
    xml = _decrypt(body, timestamp, nonce) if encrypt_type == "aes" else body
    msg = _parse(xml)
    _check_replay(timestamp, nonce, msg)
    return _handle(msg, _Reply(msg, encrypt_type == "aes", nonce, timestamp))


def _check_replay(timestamp: str, nonce: str, msg: Any) -> None:
    """Remember the (timestamp, nonce) pair with the message it carried. WeChat's retry of the same
    message may come with the same pair; the pair with another message or sender is a replay."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    carried = hashlib.sha256(f"{msg.source}\n{_message_key(msg)}".encode()).hexdigest()
    seen = replay.remember(
        session_factory(app.config["DATABASE_URL"]), "wechat", f"{timestamp}:{nonce}",
        expires_at=replay.expiry(int(timestamp), float(app.config["WECHAT_MAX_CLOCK_SKEW"])),
        now=replay.wall_clock(time.time()), digest=carried)
    if not seen.first and seen.digest != carried:
        log.warning("wechat: replayed timestamp/nonce with another message refused")
        raise WechatError(403, "请求已被使用过（时间戳和随机数重复），疑似重放，已拒绝。")


def _message_key(msg: Any) -> str:
    """MsgId for messages; events have none, so WeChat's advice is FromUserName + CreateTime."""
    if msg.id:
        return str(msg.id)
    event = getattr(msg, "event", "") or msg.type
    return f"evt:{msg.source}:{msg.time}:{event}"[:64]


def _handle(msg: Any, reply: _Reply) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    factory = session_factory(app.config["DATABASE_URL"])
    clock = app.config.get("CLOCK") or SystemClock()
    key = _message_key(msg)
    claimed, row = claim_inbound(factory, key, msg.source, msg.type[:16], clock.now())
    if not claimed and row.openid != msg.source:
        # a MsgId someone else's message already has: never hand out that consumer's reply
        log.warning("wechat: MsgId %s reused by another sender; no reply", key)
        return reply.success()
    if not claimed:
        log.info("wechat: duplicate push %s (state %s) answered without a new bot turn", mask_id(key), row.state)
        if row.state in (ANSWERED, FAILED) and row.reply_text:
            return reply.text(row.reply_text)  # WeChat never got our answer: the same text again
        return reply.success()
    openid = msg.source
    if msg.type in ("text", "image") and not allow("WECHAT_MESSAGE_LIMIT", f"wx-{openid}"):
        log.info("wechat: %s over the message limit", openid[:6] + "…")
        finish_inbound(factory, key, ANSWERED, clock.now(), WECHAT_TOO_FAST)
        return reply.text(WECHAT_TOO_FAST)
    if msg.type == "text":
        text = (msg.content or "").strip()[:2000]
        if not text:
            finish_inbound(factory, key, IGNORED, clock.now())
            return reply.success()
        log.info("wechat text from %s (%d chars)", mask_id(openid), len(text))
        job = _text_job(app, openid, text)
    elif msg.type == "image":
        job = _image_job(app, openid, key, msg.media_id)
    elif msg.type == "event":
        event = (getattr(msg, "event", "") or "").lower()
        if event in ("subscribe", "subscribe_scan"):
            finish_inbound(factory, key, ANSWERED, clock.now(), WELCOME)
            return reply.text(WELCOME)
        finish_inbound(factory, key, IGNORED, clock.now())
        return reply.success()
    else:
        finish_inbound(factory, key, ANSWERED, clock.now(), UNSUPPORTED)
        return reply.text(UNSUPPORTED)
    return _five_second_rule(app, key, openid, job, reply)


def _five_second_rule(app: Flask, key: str, openid: str, job: Callable[[], str], reply: _Reply) -> Response:
    """Answer passively if the job finishes within the window, else 'success' and send later."""
    factory = session_factory(app.config["DATABASE_URL"])
    clock = app.config.get("CLOCK") or SystemClock()
    client: WeChatClientBase = app.extensions["wechat_client"]
    pool = _executor(app)
    lock = threading.Lock()
    deferred = False

    def deliver_later(fut: Future) -> None:
        with lock:
            if not deferred:
                return
        text = _result_text(fut)
        try:
            client.send_text(openid, text)
        except WeChatSendError as exc:
            log.warning("wechat: deferred reply for %s not delivered: %s", mask_id(key), exc)
            finish_inbound(factory, key, FAILED, clock.now(), text, only_from=(PROCESSING, DEFERRED))
        else:
            finish_inbound(factory, key, SENT, clock.now(), text, only_from=(PROCESSING, DEFERRED))
        _schedule_push(app, openid)

    fut = pool.submit(job)
    wait_futures([fut], timeout=float(app.config["WECHAT_PASSIVE_TIMEOUT"]))
    with lock:
        if not fut.done():
            deferred = True
    fut.add_done_callback(deliver_later)
    if deferred:
        finish_inbound(factory, key, DEFERRED, clock.now(), only_from=(PROCESSING,))
        log.info("wechat: bot slower than the passive window for %s; reply follows by customer-service API",
                 mask_id(key))
        return reply.success()
    text = _result_text(fut)
    finish_inbound(factory, key, ANSWERED if fut.exception() is None else FAILED, clock.now(), text)
    _schedule_push(app, openid)
    return reply.text(text)


def _result_text(fut: Future) -> str:
    exc = fut.exception()
    if exc is not None:
        log.warning("wechat turn failed: %s", exc.__class__.__name__)
        return BOT_DOWN
    return fut.result() or "（助手没有回复内容，请换个说法再试。）"


def _schedule_push(app: Flask, openid: str) -> None:
    """After a turn, push what the case service queued for this consumer (the window is open)."""
    from web.wechat_push import SENDER_PREFIX, push_recipient

    factory = session_factory(app.config["DATABASE_URL"])
    clock = app.config.get("CLOCK") or SystemClock()
    client: WeChatClientBase = app.extensions["wechat_client"]
    delay = float(app.config.get("WECHAT_PUSH_DELAY", 1.0))

    def run() -> None:
        try:
            push_recipient(factory, client, SENDER_PREFIX + openid, clock, consumer_just_wrote=True)
        except Exception:
            log.exception("wechat: push after turn failed")

    # The pause (WeChat shows the passive reply first) runs on a timer thread of its own: a
    # sleeping task in the turn pool would hold a slot that consumers' turns are waiting for.
    timer = threading.Timer(delay, run) if delay > 0 else threading.Thread(target=run)
    timer.daemon = True
    timer.name = "wechat-push"
    timer.start()


def _text_job(app: Flask, openid: str, text: str) -> Callable[[], str]:
    from web.relay import relay

    def job() -> str:
        with app.app_context():
            return format_bot_messages(relay(f"wx-{openid}", text, "wechat"))

    return job


def _image_job(app: Flask, openid: str, key: str, media_id: str | None) -> Callable[[], str]:
    from pathlib import Path

    from web.cases import EvidenceQuota, UploadError, max_file_bytes, register_evidence, store_bytes

    factory = session_factory(app.config["DATABASE_URL"])
    clock = app.config.get("CLOCK") or SystemClock()
    client: WeChatClientBase = app.extensions["wechat_client"]
    root = Path(app.config.get("UPLOAD_DIR") or "var/uploads").resolve()
    with app.app_context():
        max_bytes = max_file_bytes()
    quota = EvidenceQuota.from_config(app.config)
    sender = f"wx-{openid}"

    def job() -> str:
        from disputes.errors import CaseError
        from disputes.service import latest_case

        with factory() as db:
            case = latest_case(db, sender, channel="wechat")
            if case is None:
                return NO_CASE_FOR_IMAGE
            if case.state == "closed":
                return f"案件 {case.case_no} 已结案，图片未保存。如有新的问题，请回复「我要投诉」。"
            case_no = case.case_no
            if not media_id:
                return IMAGE_FAILED
            try:
                quota.check(db, case_no, sender, 0, clock.now())
            except (UploadError, CaseError) as exc:
                return f"图片未保存：{exc}"
            try:
                data, _ctype = client.download_media(media_id)
            except MediaError as exc:
                log.warning("wechat media %s: %s", mask_id(key), exc)
                return IMAGE_FAILED
            try:
                quota.check(db, case_no, sender, len(data), clock.now())
                stored = store_bytes(data, f"微信图片-{key[-12:]}.jpg", root=root, max_bytes=max_bytes,
                                     check_extension=False)
                register_evidence(db, case_no, sender, stored, "微信发送的图片", root, clock)
            except UploadError as exc:
                return f"图片未保存：{exc}"
            except CaseError as exc:
                return f"图片未保存：{exc}"
        return f"已将这张图片添加为案件 {case_no} 的证据。您可以继续发送其他图片，或回复「查询进度」。"

    return job
