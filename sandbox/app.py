"""Sandbox platform (Flask). POST /settlements receives signed requests from the case service,
verifies signature (method, path, timestamp, body) and 5-minute replay window, de-duplicates by
Idempotency-Key, and answers asynchronously through our platform API as its policies say.

Its secret is ODR_SANDBOX_SECRET; the public demo secret of platforms.yaml only in demo mode
(ODR_DEMO=1). The demo helper routes (`/_sandbox/ledger`, `/_sandbox/answer/<case_no>`) need the
local token (header X-Sandbox-Token: env SANDBOX_HELPER_TOKEN, else the file
var/sandbox_helper_token, readable by its owner only) and do not exist in the scaled profile."""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import requests
import yaml
from flask import Flask, jsonify, request

from disputes.db import VAR_DIR
from disputes.demo import enforce, public_platform_secrets, secret_problem
from disputes.signing import (
    HEADER_IDEMPOTENCY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SignatureError,
    signed_headers,
    target_of,
    verify,
)

log = logging.getLogger("sandbox")
POLICIES_FILE = Path(__file__).resolve().parent / "policies.yaml"
DEFAULT_API = "http://127.0.0.1:8000/api/platform/v1"
HELPER_HEADER = "X-Sandbox-Token"
HELPER_TOKEN_FILE = VAR_DIR / "sandbox_helper_token"


def load_policies(path: str | Path | None = None) -> dict[str, Any]:
    p = Path(path or os.environ.get("SANDBOX_POLICIES") or POLICIES_FILE)
    return yaml.safe_load(p.read_text(encoding="utf-8")) or {}


def _default_secret(platform_key: str) -> str:
    """ODR_SANDBOX_SECRET, else platforms.yaml; a public demo secret only in demo mode."""
    from disputes.config import load_platforms

    secret = os.environ.get("ODR_SANDBOX_SECRET") or load_platforms().get(platform_key).secret
    problem = secret_problem("ODR_SANDBOX_SECRET", secret, public_platform_secrets(),
                             what_zh="沙盒平台与维权助手共享的 HMAC 签名密钥",
                             what_en="the HMAC signing secret the sandbox platform shares with the case service")
    enforce("sandbox", [problem] if problem else [])
    if not secret:
        raise RuntimeError(f"no secret configured for platform {platform_key}")
    return secret


def helper_token() -> str:
    """The local token of the demo helper routes: env SANDBOX_HELPER_TOKEN, else a random one kept
    in var/sandbox_helper_token (mode 0600), created on first use."""
    if os.environ.get("SANDBOX_HELPER_TOKEN"):
        return os.environ["SANDBOX_HELPER_TOKEN"]
    HELPER_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(HELPER_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return HELPER_TOKEN_FILE.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))
    return HELPER_TOKEN_FILE.read_text().strip()


def _words(v: Any) -> list[str]:
    return [str(x) for x in (v if isinstance(v, list) else [v])]


def _field_text(req: dict[str, Any], field: str) -> str:
    facts = req.get("facts") or {}
    if field == "shop":
        return str((req.get("merchant") or {}).get("name") or facts.get("shop") or "")
    if field == "problem":  # the problem type and the consumer's own words
        return f"{facts.get('problem') or ''} {facts.get('description') or ''}"
    return str(facts.get(field) or "")


def matches(when: dict[str, Any], req: dict[str, Any]) -> bool:
    """Does a policy rule's `when` hold for this settlement request?"""
    decision = req.get("decision") or {}
    for key, want in (when or {}).items():
        if key == "seven_day_return_eligible":
            if bool(decision.get("seven_day_return_eligible")) != bool(want):
                return False
        elif key.endswith("_contains"):
            value = _field_text(req, key.removesuffix("_contains"))
            if not any(w in value for w in _words(want)):
                return False
        elif key == "reason_codes_any":
            if not set(_words(want)) & set(decision.get("reason_codes") or []):
                return False
        elif key == "round_at_least":
            if int(req.get("round") or 1) < int(want):
                return False
        else:
            raise ValueError(f"unknown policy condition {key!r}")
    return True


def choose(policies: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    for rule in policies.get("rules") or []:
        if matches(rule.get("when") or {}, req):
            return rule
    return {"name": "fallback", "action": "silent"}


def answer_for(rule: dict[str, Any], req: dict[str, Any]) -> dict[str, Any] | None:
    """The platform-API body the rule produces, or None for `silent`."""
    action = rule.get("action", "silent")
    if action == "silent":
        return None
    # The case number binds the signed body to its case: two cases answered alike in the same
    # second would otherwise carry the same signature, and the second would be refused as a replay.
    body: dict[str, Any] = {"action": action, "case_no": req.get("case_no"), "round": req.get("round")}
    if rule.get("message"):
        body["message"] = rule["message"]
    if action == "counter_offer":
        price = Decimal(str((req.get("facts") or {}).get("price_yuan") or (req.get("claim") or {}).get("amount_yuan")
                            or 0))
        ratio = Decimal(str(rule.get("refund_ratio", 0.3))) + Decimal(str(rule.get("refund_ratio_step", 0))) * (
            int(req.get("round") or 1) - 1)
        body["amount"] = str((price * min(ratio, Decimal(1))).quantize(Decimal("0.01"), ROUND_HALF_UP))
        body["remedy"] = rule.get("remedy", "补偿")
    if rule.get("law") and rule.get("article"):
        body["law"], body["article"] = rule["law"], int(rule["article"])
    return body


class Ledger:
    """What the sandbox saw: every delivery attempt, and which messages it processed (once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.answers: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"received": list(self.received), "processed": dict(self.processed), "answers": list(self.answers)}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Config keys: PLATFORM_KEY (sandbox), SECRET, API_BASE, POLICIES (dict), DELAY_SECONDS,
    RECEIVE_DELAY_SECONDS (slow handler, for crash tests), SIGNATURE_CLOCK (callable), HELPERS
    (demo helper routes; off in the scaled profile), HELPER_TOKEN (their token)."""
    app = Flask("sandbox")
    app.json.ensure_ascii = False
    app.config.update(
        PLATFORM_KEY="sandbox",
        API_BASE=os.environ.get("ODR_PLATFORM_API", DEFAULT_API),
        RECEIVE_DELAY_SECONDS=float(os.environ.get("SANDBOX_RECEIVE_DELAY", "0")),
        HELPERS=os.environ.get("ODR_PROFILE", "embedded") != "scaled",
    )
    app.config.update(config or {})
    if "POLICIES" not in app.config:
        app.config["POLICIES"] = load_policies()
    if "SECRET" not in app.config:
        app.config["SECRET"] = _default_secret(app.config["PLATFORM_KEY"])
    if app.config["HELPERS"] and not app.config.get("HELPER_TOKEN"):
        app.config["HELPER_TOKEN"] = helper_token()
    ledger = Ledger()
    app.extensions["ledger"] = ledger

    def delay() -> float:
        if app.config.get("DELAY_SECONDS") is not None:
            return float(app.config["DELAY_SECONDS"])
        return float(app.config["POLICIES"].get("delay_seconds", 1))

    def send_answer(case_no: str, body: dict[str, Any], key: str) -> None:
        """POST the answer to our platform API, signed; retried a few times with backoff (at
        least a second apart: a signature is used once, each retry is signed anew)."""
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = f"{app.config['API_BASE'].rstrip('/')}/cases/{case_no}/responses"
        for attempt in range(5):
            headers = signed_headers(app.config["SECRET"], raw, method="POST", url=url, idempotency_key=key,
                                     platform=app.config["PLATFORM_KEY"])
            try:
                resp = requests.post(url, data=raw, headers=headers, timeout=10, allow_redirects=False)
                with ledger.lock:
                    ledger.answers.append({"case_no": case_no, "body": body, "status": resp.status_code,
                                           "response": _json(resp)})
                if resp.status_code < 500:
                    return
            except requests.RequestException as exc:
                log.warning("sandbox answer to %s failed: %s", url, exc)
            time.sleep(2**attempt)

    def handle(req: dict[str, Any], key: str) -> dict[str, Any]:
        if req.get("type") != "settlement_request":
            return {"status": "noted", "type": req.get("type")}
        rule = choose(app.config["POLICIES"], req)
        body = answer_for(rule, req)
        if body is not None:
            def later() -> None:
                time.sleep(delay())
                send_answer(req["case_no"], body, f"sandbox-{key}")

            threading.Thread(target=later, daemon=True, name=f"sandbox-answer-{req['case_no']}").start()
        return {"status": "accepted_for_processing", "policy": rule.get("name"), "answer": body and body["action"]}

    @app.post("/settlements")
    def settlements():
        raw = request.get_data()
        now = app.config.get("SIGNATURE_CLOCK", time.time)()
        try:
            verify(app.config["SECRET"], request.headers.get(HEADER_TIMESTAMP), raw,
                   request.headers.get(HEADER_SIGNATURE), method=request.method,
                   target=target_of(request.script_root + request.path, request.query_string.decode("latin-1")),
                   now=now)
        except SignatureError as exc:
            return jsonify({"error": {"code": "bad_signature", "message": exc.message_zh}}), 401
        key = request.headers.get(HEADER_IDEMPOTENCY, "")
        if not key:
            return jsonify({"error": {"code": "idempotency_key_required", "message": "缺少 Idempotency-Key"}}), 400
        try:
            req = json.loads(raw)
        except json.JSONDecodeError:
            return jsonify({"error": {"code": "bad_json", "message": "请求体不是合法的JSON"}}), 400
        with ledger.lock:
            ledger.received.append({"key": key, "type": req.get("type"), "case_no": req.get("case_no"),
                                    "attempt": request.headers.get("X-ODR-Attempt"), "at": time.time()})
            first = key not in ledger.processed
            if first:
                ledger.processed[key] = {"type": req.get("type"), "case_no": req.get("case_no"), "result": None}
        if not first:
            return jsonify({"status": "duplicate", "idempotency_key": key}), 200
        if app.config["RECEIVE_DELAY_SECONDS"]:
            time.sleep(app.config["RECEIVE_DELAY_SECONDS"])  # a slow platform, for crash tests
        result = handle(req, key)
        with ledger.lock:
            ledger.processed[key]["result"] = result
        return jsonify({"status": "ok", "idempotency_key": key, **result}), 202

    def helper_refused():
        """None if the request carries the helper token, else the refusal."""
        given = request.headers.get(HELPER_HEADER, "")
        if given and hmac.compare_digest(given.encode(), str(app.config["HELPER_TOKEN"]).encode()):
            return None
        return jsonify({"error": {"code": "helper_token_required", "message": (
            f"沙盒辅助接口需要本机令牌：请在请求头 {HELPER_HEADER} 中提供环境变量 SANDBOX_HELPER_TOKEN 或文件 "
            "var/sandbox_helper_token 中的令牌")}}), 403

    if app.config["HELPERS"]:
        @app.get("/_sandbox/ledger")
        def ledger_view():
            return helper_refused() or jsonify(ledger.snapshot())

        @app.post("/_sandbox/answer/<case_no>")
        def manual_answer(case_no: str):
            """Demo helper: make the sandbox send an arbitrary answer now (local use only)."""
            refused = helper_refused()
            if refused:
                return refused
            body = request.get_json(force=True)
            if isinstance(body, dict):
                body.setdefault("case_no", case_no)  # the platform API requires it
            send_answer(case_no, body, f"sandbox-manual-{uuid.uuid4().hex}")
            return jsonify(ledger.snapshot()["answers"][-1:])

    @app.get("/")
    def index():
        return jsonify({"name": "ODR sandbox platform", "platform": app.config["PLATFORM_KEY"],
                        "api_base": app.config["API_BASE"], "rules": [r.get("name") for r in
                                                                      app.config["POLICIES"].get("rules", [])]})

    return app


def _json(resp) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text[:200]
