"""Configuration from environment variables, with embedded defaults for a single machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _secret_key() -> str:
    """A stable secret per checkout unless ODR_SECRET_KEY is given (sessions survive restarts)."""
    if os.environ.get("ODR_SECRET_KEY"):
        return os.environ["ODR_SECRET_KEY"]
    path = REPO_ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# Rate limits and quotas on anonymous, expensive work (web/limits.py). Limits are Flask-Limiter
# strings ("N per minute;M per hour"), quotas are counts and bytes; env ODR_<KEY> overrides each.
LIMIT_DEFAULTS: dict[str, str | int] = {
    "CHAT_MESSAGE_LIMIT_IP": "60 per minute;1000 per hour",  # chat messages, per client address
    "CHAT_MESSAGE_LIMIT_SESSION": "20 per minute;300 per hour",  # chat messages, per conversation
    "CHAT_NEW_SESSION_LIMIT_IP": "20 per minute;200 per hour",  # new chat conversations, per address
    "WECHAT_MESSAGE_LIMIT": "20 per minute;300 per hour",  # WeChat messages (text, images), per openid
    "EVIDENCE_UPLOAD_LIMIT_IP": "20 per minute;200 per day",  # evidence uploads, per client address
    "EVIDENCE_UPLOAD_LIMIT_SESSION": "10 per minute;100 per day",  # evidence uploads, per consumer
    "STATS_LIMIT_IP": "60 per minute",  # /stats pages and CSV, per client address
    "EVIDENCE_MAX_FILES": 30,  # evidence files per case
    "EVIDENCE_MAX_CASE_BYTES": 50 * 1024 * 1024,  # evidence bytes per case
    "EVIDENCE_DAILY_FILES": 60,  # evidence files per consumer in 24 hours
    "EVIDENCE_DAILY_BYTES": 100 * 1024 * 1024,  # evidence bytes per consumer in 24 hours
    "STATS_CACHE_SECONDS": 300,  # /stats figures are recomputed at most this often (0 = every request)
}


def limits_from_env() -> dict[str, str | int]:
    """LIMIT_DEFAULTS with the environment's overrides (ODR_CHAT_MESSAGE_LIMIT_IP=…)."""
    out: dict[str, str | int] = {}
    for key, default in LIMIT_DEFAULTS.items():
        raw = os.environ.get(f"ODR_{key}", "").strip()
        out[key] = (int(raw) if isinstance(default, int) else raw) if raw else default
    return out


def from_env() -> dict:
    from disputes.db import database_url
    from disputes.erasure import upload_dir

    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": database_url(),
        "RASA_URL": os.environ.get("ODR_RASA_URL", "http://127.0.0.1:5005"),
        "RASA_TIMEOUT": float(os.environ.get("ODR_RASA_TIMEOUT", "30")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("ODR_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        "UPLOAD_DIR": str(upload_dir()),  # env ODR_UPLOAD_DIR (the worker's purge reads the same)
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # off only for load benchmarks: ODR_RATELIMIT_ENABLED=0
        "RATELIMIT_ENABLED": os.environ.get("ODR_RATELIMIT_ENABLED", "1").strip().lower() not in ("0", "false", "no"),
        "CACHE_URL": os.environ.get("ODR_CACHE_URL", "").strip(),
        **limits_from_env(),
    }
