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


def from_env() -> dict:
    from disputes.db import database_url

    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": database_url(),
        "RASA_URL": os.environ.get("ODR_RASA_URL", "http://127.0.0.1:5005"),
        "RASA_TIMEOUT": float(os.environ.get("ODR_RASA_TIMEOUT", "30")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("ODR_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        "UPLOAD_DIR": os.environ.get("ODR_UPLOAD_DIR", str(REPO_ROOT / "var" / "uploads")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
