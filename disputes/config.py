"""Platform and negotiation settings from `platforms.yaml` (env `ODR_PLATFORMS_FILE` overrides)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from disputes.clock import add_business_days

DEFAULT_FILE = Path(__file__).resolve().parent / "platforms.yaml"
_cache: dict[tuple[str, float], PlatformsConfig] = {}


@dataclass(frozen=True)
class Duration:
    """A deadline length; business days are counted Mon–Fri in Shanghai time."""

    business_days: int = 0
    days: float = 0
    hours: float = 0
    minutes: float = 0

    @classmethod
    def parse(cls, raw: Any) -> Duration:
        if isinstance(raw, Duration):
            return raw
        if isinstance(raw, int | float):
            return cls(hours=float(raw))
        if not isinstance(raw, dict):
            raise ValueError(f"bad duration {raw!r}: use e.g. {{business_days: 3}}")
        unknown = set(raw) - {"business_days", "days", "hours", "minutes"}
        if unknown:
            raise ValueError(f"bad duration keys {sorted(unknown)}")
        return cls(**raw)

    def after(self, start: datetime) -> datetime:
        out = add_business_days(start, self.business_days) if self.business_days else start
        return out + timedelta(days=self.days, hours=self.hours, minutes=self.minutes)

    def describe_zh(self) -> str:
        parts = []
        if self.business_days:
            parts.append(f"{self.business_days}个工作日")
        if self.days:
            parts.append(f"{self.days:g}天")
        if self.hours:
            parts.append(f"{self.hours:g}小时")
        if self.minutes:
            parts.append(f"{self.minutes:g}分钟")
        return "".join(parts) or "即时"


@dataclass(frozen=True)
class WebhookPolicy:
    timeout_seconds: float = 10
    max_attempts: int = 8
    base_seconds: float = 5
    max_backoff_seconds: float = 3600

    def backoff(self, attempts: int) -> float:
        """Delay before the next try after `attempts` failed ones: base * 2**(attempts-1)."""
        return min(self.base_seconds * (2 ** max(attempts - 1, 0)), self.max_backoff_seconds)


@dataclass(frozen=True)
class PlatformConfig:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    connector: str = "desk"  # webhook | desk
    url: str | None = None
    secret_env: str | None = None
    secret_fallback: str | None = field(default=None, repr=False)
    # A public value for the local demo (ODR_DEMO=1); processes refuse to start with it otherwise.
    demo_secret: str | None = field(default=None, repr=False)
    operator: str | None = None
    address: str | None = None
    response_deadline: Duration = Duration(business_days=3)
    desk_sla: Duration = Duration(business_days=10)
    consumer_reply: Duration = Duration(days=3)
    max_rounds: int = 3
    seven_day_reminder: Duration = Duration(hours=24)
    webhook: WebhookPolicy = WebhookPolicy()

    @property
    def secret(self) -> str | None:
        """Shared HMAC secret: the environment variable, else the file's `secret`, else its public
        `demo_secret` (outside demo mode a process refuses to start with that, see disputes.demo)."""
        if self.secret_env and os.environ.get(self.secret_env):
            return os.environ[self.secret_env]
        return self.secret_fallback or self.demo_secret


@dataclass(frozen=True)
class PlatformsConfig:
    platforms: dict[str, PlatformConfig]
    unlisted: PlatformConfig

    def get(self, key: str) -> PlatformConfig:
        if key in self.platforms:
            return self.platforms[key]
        if key == self.unlisted.key:
            return self.unlisted
        raise KeyError(key)

    def match(self, name: str | None) -> PlatformConfig | None:
        """Find the platform a consumer named (exact name/alias first, then containment)."""
        if not name:
            return None
        norm = _norm(name)
        for p in self.platforms.values():
            if norm in {_norm(p.key), _norm(p.name), *(_norm(a) for a in p.aliases)}:
                return p
        best: tuple[int, PlatformConfig] | None = None
        for p in self.platforms.values():
            for n in (p.name, *p.aliases):
                n2 = _norm(n)
                if len(n2) >= 2 and n2 in norm and (best is None or len(n2) > best[0]):
                    best = (len(n2), p)
        return best[1] if best else None


def _norm(s: str) -> str:
    return "".join(str(s).lower().split())


def _build(key: str, raw: dict[str, Any], defaults: dict[str, Any]) -> PlatformConfig:
    merged = {**defaults, **raw}
    connector = merged.get("connector", "desk")
    if connector not in ("webhook", "desk"):
        raise ValueError(f"platform {key}: connector must be webhook or desk, not {connector!r}")
    if connector == "webhook" and not merged.get("url"):
        raise ValueError(f"platform {key}: webhook connector needs a url")
    return PlatformConfig(
        key=key,
        name=str(merged.get("name", key)),
        aliases=tuple(str(a) for a in merged.get("aliases", ())),
        connector=connector,
        url=merged.get("url"),
        secret_env=merged.get("secret_env"),
        secret_fallback=merged.get("secret"),
        demo_secret=merged.get("demo_secret"),
        operator=merged.get("operator"),
        address=merged.get("address"),
        response_deadline=Duration.parse(merged.get("response_deadline", {"business_days": 3})),
        desk_sla=Duration.parse(merged.get("desk_sla", {"business_days": 10})),
        consumer_reply=Duration.parse(merged.get("consumer_reply", {"days": 3})),
        max_rounds=int(merged.get("max_rounds", 3)),
        seven_day_reminder=Duration.parse(merged.get("seven_day_reminder", {"hours": 24})),
        webhook=WebhookPolicy(**(merged.get("webhook") or {})),
    )


def parse_config(data: dict[str, Any]) -> PlatformsConfig:
    defaults = dict(data.get("defaults") or {})
    platforms = {k: _build(k, v or {}, defaults) for k, v in (data.get("platforms") or {}).items()}
    raw_unlisted = dict(data.get("unlisted") or {})
    ukey = raw_unlisted.pop("key", "unlisted")
    raw_unlisted.setdefault("name", "未收录平台")
    raw_unlisted["connector"] = "desk"
    return PlatformsConfig(platforms=platforms, unlisted=_build(ukey, raw_unlisted, defaults))


def load_platforms(path: str | Path | None = None) -> PlatformsConfig:
    """Parsed platforms.yaml, re-read when the file changes."""
    p = Path(path or os.environ.get("ODR_PLATFORMS_FILE") or DEFAULT_FILE)
    key = (str(p), p.stat().st_mtime)
    cfg = _cache.get(key)
    if cfg is None:
        cfg = parse_config(yaml.safe_load(p.read_text(encoding="utf-8")) or {})
        _cache[key] = cfg
    return cfg
