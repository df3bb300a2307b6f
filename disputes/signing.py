"""HMAC-SHA256 request signing shared by both directions of the platform protocol (our webhook
deliveries to platforms, the platforms' calls to our platform API, the sandbox platform).

The signed string binds the request to its method, its path (with the query string, if any) and
its time, not only to its body:

    canonical = METHOD + "\\n" + path + "\\n" + timestamp + "\\n" + body
    signature = hex(HMAC-SHA256(secret, canonical))

sent as `X-ODR-Timestamp: <unix seconds>` and `X-ODR-Signature: sha256=<hex>`. `path` is the
URL's path, percent-decoded (what the receiver's framework reports), followed by `?` and the raw
query string when there is one. The receiver refuses timestamps more than REPLAY_WINDOW seconds
away from its clock, compares in constant time and remembers every signature it accepted for the
window (a signature is used once).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import unquote, urlsplit

REPLAY_WINDOW = 300  # seconds (5 minutes)
HEADER_PLATFORM = "X-ODR-Platform"
HEADER_TIMESTAMP = "X-ODR-Timestamp"
HEADER_SIGNATURE = "X-ODR-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"
CANONICAL_FORMAT = 'METHOD + "\\n" + path + "\\n" + timestamp + "\\n" + body'


class SignatureError(ValueError):
    """Why a signed request was refused; `message_zh` is safe to return to the sender."""

    def __init__(self, detail: str, message_zh: str) -> None:
        super().__init__(detail)
        self.message_zh = message_zh


def request_target(url: str) -> str:
    """The `path` of the canonical string for a request to `url` (a full URL or a bare path): its
    percent-decoded path, plus `?query` when there is a query string."""
    parts = urlsplit(url)
    return target_of(unquote(parts.path) or "/", parts.query)


def target_of(path: str, query: str = "") -> str:
    """The same for a receiver, from its framework's decoded path and the raw query string."""
    return f"{path}?{query}" if query else path


def canonical(method: str, target: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{method.upper()}\n{target}\n{timestamp}\n".encode() + body


def sign(secret: str, *, method: str, target: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), canonical(method, target, timestamp, body), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(
    secret: str, body: bytes, *, method: str, url: str, idempotency_key: str | None = None,
    platform: str | None = None, timestamp: int | None = None,
) -> dict[str, str]:
    """Headers for a signed request to `url` (a fresh timestamp per attempt, same idempotency key)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign(secret, method=method, target=request_target(url), timestamp=ts, body=body),
    }
    if body or method.upper() not in ("GET", "HEAD", "DELETE"):
        headers["Content-Type"] = "application/json; charset=utf-8"
    if idempotency_key:
        headers[HEADER_IDEMPOTENCY] = idempotency_key
    if platform:
        headers[HEADER_PLATFORM] = platform
    return headers


def signature_hex(signature: str | None) -> str:
    """The hex digest of an `X-ODR-Signature` value (with or without the `sha256=` prefix)."""
    return (signature or "").strip().removeprefix("sha256=").lower()


def verify(
    secret: str, timestamp: str | None, body: bytes, signature: str | None, *, method: str, target: str,
    now: float | None = None, window: int = REPLAY_WINDOW,
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
    expected = sign(secret, method=method, target=target, timestamp=ts, body=body)
    if not hmac.compare_digest(expected, "sha256=" + signature_hex(signature)):
        raise SignatureError("signature mismatch", "签名校验失败（签名须覆盖请求方法、路径、时间戳和请求体）")
    return ts
