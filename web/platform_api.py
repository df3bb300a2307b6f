"""Platform API v1 (`/api/platform/v1`): how platforms answer our settlement requests.

Every call is signed: `X-ODR-Platform: <key from platforms.yaml>`, `X-ODR-Timestamp: <unix s>`,
`X-ODR-Signature: sha256=HMAC-SHA256(secret, METHOD + "\n" + path + "\n" + timestamp + "\n" +
body)` (`disputes.signing`); timestamps older or newer than 5 minutes are refused. Every signature,
GET included and whether the request succeeds or not, is remembered for that window
(`web.replay`): a signature is used once. POSTs need an `Idempotency-Key` (the same key with the
same body returns the stored answer without applying it twice) and must name their case
(`case_no`, equal to the case number in the path). Bad input gets a JSON error with a Chinese
message and changes no case.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from disputes.clock import clock_from_env
from disputes.config import PlatformConfig, load_platforms
from disputes.core import get_case, platform_config
from disputes.db import session_factory
from disputes.errors import CaseError, CaseNotFound
from disputes.models import REMEDIES, PlatformRequest
from disputes.negotiation import (
    PLATFORM_ACTIONS,
    apply_platform_answer,
    settlement_request,
    validate_platform_answer,
)
from disputes.signing import (
    CANONICAL_FORMAT,
    HEADER_IDEMPOTENCY,
    HEADER_PLATFORM,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    REPLAY_WINDOW,
    SignatureError,
    signature_hex,
    target_of,
    verify,
)
from disputes.states import label
from disputes.txn import run_in_transaction
from web import replay

log = logging.getLogger(__name__)

bp = Blueprint("platform_api", __name__, url_prefix="/api/platform/v1")
API_VERSION = "2.0.0"  # 2: the signature covers method and path; case_no required
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.status, self.code, self.message_zh = status, code, message_zh


def _error(status: int, code: str, message_zh: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message_zh}}), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error(exc.status, exc.code, exc.message_zh)


@bp.errorhandler(CaseError)
def _case_error(exc: CaseError):
    return _error(exc.status, exc.code, exc.message_zh)


@bp.errorhandler(405)
def _bad_method(_exc):
    return _error(405, "method_not_allowed", "不支持该请求方法")


@bp.errorhandler(413)
def _too_large(_exc):
    return _error(413, "payload_too_large", "请求体过大")


@bp.route("/<path:_unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown_path(_unknown: str):
    """Unknown paths under the prefix still answer in JSON (blueprint 404 handlers do not see
    routing misses)."""
    return _error(404, "not_found", "接口不存在")


def _clock():
    clock = current_app.config.get("CLOCK")
    if clock is None:
        clock = current_app.extensions.setdefault("odr_clock", clock_from_env())
    return clock


def _factory():
    return session_factory(current_app.config["DATABASE_URL"])


def _authenticate() -> tuple[PlatformConfig, int]:
    """Identify the platform and check the signature over method, path, timestamp and raw body
    (wall-clock window); returns the platform and the signed timestamp."""
    key = request.headers.get(HEADER_PLATFORM, "").strip()
    if not key:
        raise ApiError(401, "unauthenticated", "缺少 X-ODR-Platform 请求头")
    try:
        cfg = load_platforms().platforms[key]
    except KeyError:
        raise ApiError(401, "unauthenticated", "未知的平台标识") from None
    if not cfg.secret:
        raise ApiError(401, "unauthenticated", "该平台未配置签名密钥，无法使用接口")
    now = _now()
    target = target_of(request.script_root + request.path, request.query_string.decode("latin-1"))
    try:
        ts = verify(cfg.secret, request.headers.get(HEADER_TIMESTAMP), request.get_data(),
                    request.headers.get(HEADER_SIGNATURE), method=request.method, target=target, now=now,
                    window=REPLAY_WINDOW)
    except SignatureError as exc:
        log.warning("platform API: %s refused: %s", key, exc)
        raise ApiError(401, "bad_signature", exc.message_zh) from None
    return cfg, ts


def _now() -> float:
    return current_app.config.get("SIGNATURE_CLOCK", time.time)()


class _Signature:
    """The request's signature as a replay mark: used once within its window."""

    def __init__(self, cfg: PlatformConfig, ts: int) -> None:
        self.scope = f"platform:{cfg.key}"
        self.mark = signature_hex(request.headers.get(HEADER_SIGNATURE))
        self.expires_at = replay.expiry(ts, REPLAY_WINDOW)

    def remember(self) -> bool:
        """Record the use in its own transaction; False if it was used before."""
        return replay.remember(_factory(), self.scope, self.mark, expires_at=self.expires_at,
                               now=replay.wall_clock(_now())).first

    def used(self, session) -> bool:
        return replay.is_used(session, self.scope, self.mark)

    def add(self, session) -> None:
        replay.add(session, self.scope, self.mark, expires_at=self.expires_at)


REPLAYED = ("replayed", "检测到重放请求（签名已使用过），已拒绝。每次请求须重新签名")


def _own_case(session, case_no: str, cfg: PlatformConfig, *, lock: bool = False):
    """The case, if it is this platform's (other platforms get the same 404 as a missing case)."""
    try:
        case = get_case(session, case_no, lock=lock)
    except CaseNotFound:
        raise ApiError(404, "case_not_found", "案件不存在") from None
    if case.platform is None or case.platform.key != cfg.key:
        raise ApiError(404, "case_not_found", "案件不存在")
    return case


def _case_view(case) -> dict[str, Any]:
    cfg = platform_config(case)
    deadline = case.next_deadline
    return {
        "case_no": case.case_no,
        "state": case.state,
        "state_label": label(case.state),
        "round": case.round,
        "max_rounds": cfg.max_rounds,
        "next_deadline": deadline.isoformat() if deadline else None,
        "next_deadline_kind": case.deadline_kind,
        "request": settlement_request(case, cfg, deadline or case.updated_at, case.updated_at),
        "offers": [
            {"id": o.id, "round": o.round, "kind": o.kind, "remedy": o.remedy,
             "amount": None if o.amount is None else str(o.amount), "status": o.status,
             "deadline": o.deadline.isoformat() if o.deadline else None}
            for o in case.offers
        ],
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/cases/<case_no>")
def get_case_view(case_no: str):
    cfg, ts = _authenticate()
    if not _Signature(cfg, ts).remember():
        raise ApiError(409, *REPLAYED)
    with _factory()() as session:
        return jsonify(_case_view(_own_case(session, case_no, cfg)))


@bp.post("/cases/<case_no>/responses")
def post_response(case_no: str):
    cfg, ts = _authenticate()
    sig = _Signature(cfg, ts)
    try:
        status, body, replayed = _answer(case_no, cfg, sig)
    except (ApiError, CaseError):
        sig.remember()  # a refused request's signature is used up as well
        raise
    resp = jsonify(body)
    resp.status_code = status
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _answer(case_no: str, cfg: PlatformConfig, sig: _Signature) -> tuple[int, dict[str, Any], bool]:
    """Apply a signed answer once; (status, body, whether it is the stored answer of a retry)."""
    idem = request.headers.get(HEADER_IDEMPOTENCY, "").strip()
    if not _KEY_RE.match(idem):
        raise ApiError(400, "idempotency_key_required", "需要 Idempotency-Key 请求头（8–128位字母、数字或 _.:-）")
    raw = request.get_data()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # nested thousands deep: not JSON either
        raise ApiError(400, "bad_json", "请求体不是合法的UTF-8 JSON") from None
    if isinstance(data, dict):
        named = data.get("case_no")
        if named is None or not str(named).strip():
            raise ApiError(422, "case_no_required", "请求体须包含 case_no，且与路径中的案件编号一致")
        if str(named).strip().upper() != case_no.upper():
            raise ApiError(422, "case_no_mismatch", "请求体中的 case_no 与路径中的案件编号不一致")
    digest = hashlib.sha256(f"POST {request.path}\n".encode() + raw).hexdigest()
    clock = _clock()
    session = _factory()()
    try:
        def run() -> tuple[int, dict[str, Any], bool]:
            # Lock the case first: a concurrent duplicate then waits here and, once it proceeds,
            # finds the first request's idempotency record (READ COMMITTED sees the commit). The
            # signature covers the path, so every request with this signature waits here too.
            case = _own_case(session, case_no, cfg, lock=True)
            seen = session.scalars(select(PlatformRequest).where(
                PlatformRequest.platform_key == cfg.key, PlatformRequest.idempotency_key == idem)).first()
            used = sig.used(session)
            if seen is not None:
                if seen.request_hash != digest:
                    raise ApiError(422, "idempotency_key_reused", "该 Idempotency-Key 已用于另一个不同的请求")
                if not used:
                    sig.add(session)
                return seen.response_status, seen.response_body, True
            if used or session.scalars(select(PlatformRequest.id).where(
                    PlatformRequest.platform_key == cfg.key, PlatformRequest.signature == sig.mark)).first():
                raise ApiError(409, *REPLAYED)
            answer = validate_platform_answer(data)
            body = {"ok": True, **apply_platform_answer(session, case, answer, clock, actor=f"platform:{cfg.key}")}
            sig.add(session)
            session.add(PlatformRequest(
                platform_key=cfg.key, idempotency_key=idem, signature=sig.mark, request_hash=digest,
                response_status=200, response_body=body, created_at=clock.now()))
            return 200, body, False

        return run_in_transaction(session, run)
    finally:
        session.close()


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 description of the platform API and of the webhooks we send."""
    signed = [{"odrPlatform": [], "odrTimestamp": [], "odrSignature": []}]
    error = {"$ref": "#/components/responses/Error"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "维权助手 平台和解接口",
            "version": API_VERSION,
            "description": (
                "平台通过本接口答复维权助手发送的和解请求。所有请求（含 GET）须签名："
                "X-ODR-Signature = 'sha256=' + hex(HMAC-SHA256(密钥, 请求方法 + '\\n' + 路径 + '\\n' + "
                "X-ODR-Timestamp + '\\n' + 请求体))，其中请求方法为大写（如 POST），路径为 URL 中的路径"
                "（如 /api/platform/v1/cases/ODR-20260501-0001/responses，有查询串时加 '?' 和查询串），"
                "GET 请求的请求体为空。时间戳与服务器时间相差超过5分钟的请求会被拒绝；"
                "每个签名在有效期内只能使用一次（重放返回409）：每次请求都须重新签名，重试请至少间隔1秒，使时间戳不同。"
                "POST 请求须带 Idempotency-Key，同一键、同一请求体的重复提交返回首次结果且不重复执行；"
                "请求体须包含与路径一致的 case_no。维权助手发给平台的 webhook 用同样方式签名（路径为平台 URL 的路径），"
                "不跟随重定向，演示模式以外只发往 https 地址（本机回环地址除外）。错误以 JSON 返回，message 为中文说明。"
                f"（签名原文格式：{CANONICAL_FORMAT}）"
            ),
        },
        "servers": [{"url": "/api/platform/v1"}],
        "security": signed,
        "paths": {
            "/cases/{case_no}": {
                "get": {
                    "summary": "查看案件（不含消费者个人信息）",
                    "parameters": [{"$ref": "#/components/parameters/CaseNo"}],
                    "responses": {"200": {"description": "案件", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/CaseView"}}}},
                        "401": error, "404": error, "409": error},
                }
            },
            "/cases/{case_no}/responses": {
                "post": {
                    "summary": "答复和解请求：接受、还价、拒绝或要求补充材料",
                    "parameters": [{"$ref": "#/components/parameters/CaseNo"},
                                   {"$ref": "#/components/parameters/IdempotencyKey"}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/PlatformAnswer"}}}},
                    "responses": {
                        "200": {"description": "已处理（或同一 Idempotency-Key 的重复提交）", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/AnswerResult"}}}},
                        "400": error, "401": error, "404": error, "409": error, "413": error, "422": error,
                    },
                }
            },
            "/openapi.json": {"get": {"summary": "本文档", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 文档"}}}},
        },
        "webhooks": {
            "settlementRequest": {
                "post": {
                    "summary": "维权助手发给平台的和解请求（同样签名，带 Idempotency-Key，失败按指数退避重试）",
                    "requestBody": {"content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/SettlementRequest"}}}},
                    "responses": {"2XX": {"description": "已收到（请异步答复）"}},
                }
            }
        },
        "components": {
            "securitySchemes": {
                "odrPlatform": {"type": "apiKey", "in": "header", "name": HEADER_PLATFORM,
                                "description": "platforms.yaml 中的平台标识"},
                "odrTimestamp": {"type": "apiKey", "in": "header", "name": HEADER_TIMESTAMP,
                                 "description": "Unix 秒级时间戳，5分钟有效"},
                "odrSignature": {"type": "apiKey", "in": "header", "name": HEADER_SIGNATURE,
                                 "description": "'sha256=' + HMAC-SHA256(密钥, 请求方法 + '\\n' + 路径 + '\\n' + "
                                                "时间戳 + '\\n' + 请求体) 的十六进制；每个签名只能使用一次"},
            },
            "parameters": {
                "CaseNo": {"name": "case_no", "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": "^ODR-\\d{8}-\\d{4,}$"}},
                "IdempotencyKey": {"name": HEADER_IDEMPOTENCY, "in": "header", "required": True,
                                   "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:\\-]{8,128}$"}},
            },
            "responses": {"Error": {"description": "错误", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "PlatformAnswer": {
                    "type": "object",
                    "required": ["action", "case_no"],
                    "properties": {
                        "action": {"enum": list(PLATFORM_ACTIONS)},
                        "case_no": {"type": "string", "description": "必填，须与路径中的案件编号一致（缺少或不一致返回422）"},
                        "round": {"type": "integer", "minimum": 1, "description": "答复针对的轮次（可选，不符时返回409）"},
                        "amount": {"type": ["number", "string"], "description": "金额（元），counter_offer 时必填（换货、维修除外）"},
                        "remedy": {"enum": list(REMEDIES)},
                        "law": {"type": "string", "description": "方案依据的法律名称，须在法规库中存在"},
                        "article": {"type": "integer", "description": "条号"},
                        "message": {"type": "string", "maxLength": 1000},
                    },
                },
                "AnswerResult": {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}, "case_no": {"type": "string"},
                                   "action": {"type": "string"}, "state": {"type": "string"},
                                   "state_label": {"type": "string"}, "round": {"type": "integer"},
                                   "offer_id": {"type": "integer"}},
                },
                "CaseView": {"type": "object", "properties": {
                    "case_no": {"type": "string"}, "state": {"type": "string"}, "state_label": {"type": "string"},
                    "round": {"type": "integer"}, "max_rounds": {"type": "integer"},
                    "next_deadline": {"type": ["string", "null"], "format": "date-time"},
                    "request": {"$ref": "#/components/schemas/SettlementRequest"},
                    "offers": {"type": "array", "items": {"type": "object"}}}},
                "SettlementRequest": {
                    "type": "object",
                    "properties": {
                        "type": {"const": "settlement_request"}, "message_id": {"type": "string"},
                        "version": {"type": "string"}, "case_no": {"type": "string"},
                        "platform": {"type": "string"}, "round": {"type": "integer"},
                        "max_rounds": {"type": "integer"},
                        "merchant": {"type": "object", "properties": {"name": {"type": ["string", "null"]}}},
                        "claim": {"type": "object", "properties": {
                            "remedy": {"type": ["string", "null"]}, "amount_yuan": {"type": ["string", "null"]},
                            "text": {"type": "string"},
                            "items": {"type": "array", "description": "诉求明细：退还货款、赔偿损失、增加赔偿",
                                      "items": {"type": "object"}}}},
                        "facts": {"type": "object", "description": "订单与争议事实（不含消费者姓名、电话、地址）"},
                        "evidence": {"type": "array", "items": {"type": "object"}},
                        "decision": {"type": ["object", "null"], "description": "规则引擎的判断（原样转发）"},
                        "legal_basis": {"type": "array", "items": {"type": "object", "properties": {
                            "law": {"type": "string"}, "article": {"type": "integer"},
                            "citation": {"type": "string"}}}},
                        "response_deadline": {"type": "string", "format": "date-time"},
                        "respond_to": {"type": "object"},
                    },
                },
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string", "description": "中文说明"}}}}},
            },
        },
    }
