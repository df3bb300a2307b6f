"""The web tier's cache (Flask-Caching): in the process by default, in Redis when `CACHE_URL`
(env ODR_CACHE_URL) is a redis:// URL, as in the scaled profile, so that every gunicorn worker
sees the same entries. It holds what may be recomputed at any time (the /stats figures, the quick
replies offered to each conversation): when the cache is unreachable the callers carry on
without it."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_caching import Cache

cache = Cache()
log = logging.getLogger(__name__)


def init_cache(app: Flask) -> Cache:
    from disputes.db import with_redis_auth

    url = str(app.config.get("CACHE_URL") or "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        app.config.setdefault("CACHE_TYPE", "RedisCache")
        app.config.setdefault("CACHE_REDIS_URL", with_redis_auth(url))  # AUTH from env ODR_REDIS_PASSWORD
    else:
        app.config.setdefault("CACHE_TYPE", "SimpleCache")
        app.config.setdefault("CACHE_THRESHOLD", 20000)  # entries kept before pruning (one per conversation)
    app.config.setdefault("CACHE_KEY_PREFIX", "odr:")
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", 300)
    cache.init_app(app)
    return cache


def cache_get(key: str) -> Any:
    """The cached value, or None (also when the cache cannot be reached)."""
    try:
        return cache.get(key)
    except Exception:
        log.warning("cache unreachable (get %s)", key.split(":", 1)[0], exc_info=True)
        return None


def cache_set(key: str, value: Any, timeout: int) -> None:
    """Store a value for `timeout` seconds (> 0); a cache that cannot be reached is only logged."""
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        log.warning("cache unreachable (set %s)", key.split(":", 1)[0], exc_info=True)


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        log.warning("cache unreachable (delete %s)", key.split(":", 1)[0], exc_info=True)
