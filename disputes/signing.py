"""HMAC-SHA256 request signing shared by both directions of the platform protocol.

signature = hex(HMAC-SHA256(secret, f"{timestamp}." + body)), sent as
`X-ODR-Timestamp: <unix seconds>` and `X-ODR-Signature: sha256=<hex>`; the receiver refuses
timestamps more than REPLAY_WINDOW seconds away from its clock and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

REPLAY_WINDOW = 300  # seconds (5 minutes)
HEADER_PLATFORM = "X-ODR-Platform"
HEADER_TIMESTAMP = "X-ODR-Timestamp"
HEADER_SIGNATURE = "X-ODR-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"


class SignatureError(ValueError):
    """Why a signed request was refused; `message_zh` is safe to return to the sender."""

    def __init__(self, detail: str, message_zh: str) -> None:
        super().__init__(detail)
        self.message_zh = message_zh


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(
    secret: str, body: bytes, *, idempotency_key: str | None = None, platform: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers for a signed JSON request (a fresh timestamp per attempt, same idempotency key)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign(secret, ts, body),
    }
    if idempotency_key:
        headers[HEADER_IDEMPOTENCY] = idempotency_key
    if platform:
        headers[HEADER_PLATFORM] = platform
    return headers


def verify(
    secret: str, timestamp: str | None, body: bytes, signature: str | None, *, now: float | None = None,
    window: int = REPLAY_WINDOW,
) -> int:
    """Check timestamp freshness and signature; returns the timestamp or raises SignatureError."""
    if not timestamp or not signature:
        raise SignatureError("missing signature headers", "缺少签名（X-ODR-Timestamp / X-ODR-Signature）")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("bad timestamp", "X-ODR-Timestamp 必须是Unix秒级时间戳") from None
    current = time.time() if now is None else now
    if abs(current - ts) > window:
        raise SignatureError("timestamp outside replay window", "请求时间戳超出5分钟有效期，请重新签名后发送")
    expected = sign(secret, ts, body)
    given = signature.strip()
    if not given.startswith("sha256="):
        given = "sha256=" + given
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature mismatch", "签名校验失败")
    return ts
