"""Demo mode and the start-up check against public demo secrets.

The repository ships values that only fit a local demo: the WeChat demo token and the sandbox
platform's signing secret (`demo_secret` in platforms.yaml). Anyone who reads the repository
knows them, so a process started outside demo mode refuses to run with one of them (or with a
needed secret missing) and says, in Chinese and English, which environment variable to set.
Demo mode is explicit: `ODR_DEMO=1`, which `make run` sets and announces.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEMO_ENV = "ODR_DEMO"
_TRUE = ("1", "true", "yes", "on")


def demo_mode() -> bool:
    """True when the process runs as the local demo (env ODR_DEMO=1)."""
    return os.environ.get(DEMO_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class SecretProblem:
    """A secret that is unset or a public demo value; `variable` is what the operator sets."""

    variable: str
    zh: str
    en: str
    demo: bool = True  # a public demo value would be used (False: nothing at all is configured)


class DemoSecretsRefused(RuntimeError):
    """Raised at start-up outside demo mode; the message names every variable to set."""

    def __init__(self, process: str, problems: Sequence[SecretProblem]) -> None:
        self.process, self.problems = process, list(problems)
        lines = [f"{process} 拒绝启动：以下密钥未设置或使用了公开的演示值（只有演示模式 {DEMO_ENV}=1 才允许）："]
        lines += [f"  - {p.variable}：{p.zh}" for p in self.problems]
        lines.append(f"{process} refuses to start: these secrets are unset or public demo values "
                     f"(allowed only in demo mode, {DEMO_ENV}=1):")
        lines += [f"  - {p.variable}: {p.en}" for p in self.problems]
        super().__init__("\n".join(lines))


def enforce(process: str, problems: Iterable[SecretProblem]) -> None:
    """Outside demo mode raise DemoSecretsRefused if anything is wrong; in demo mode say loudly
    which demo values are in use."""
    found = list(problems)
    if not found:
        return
    if not demo_mode():
        raise DemoSecretsRefused(process, found)
    names = ", ".join(p.variable for p in found)
    log.warning("演示模式（%s=1）：%s 正在使用公开的演示密钥（%s），仅供本机演示，切勿对外开放。", DEMO_ENV, process, names)
    log.warning("Demo mode (%s=1): %s uses public demo secrets (%s); local demo only, never expose it.",
                DEMO_ENV, process, names)


def secret_problem(variable: str, value: str | None, demo_values: Iterable[str | None], *, what_zh: str,
                   what_en: str) -> SecretProblem | None:
    """A problem when `value` is empty or one of the public demo values, else None."""
    public = {v for v in demo_values if v}
    if value and value not in public:
        return None
    return SecretProblem(
        variable,
        f"请设置环境变量 {variable}（{what_zh}），不要使用演示值",
        f"set the environment variable {variable} ({what_en}), not a demo value",
        demo=bool(value),
    )


def public_platform_secrets() -> set[str]:
    """The platforms' demo secrets: of the loaded platforms file and of the repository's own (a
    copied file may keep one as its `secret`)."""
    from disputes.config import DEFAULT_FILE, load_platforms

    return {p.demo_secret for cfg in (load_platforms(), load_platforms(DEFAULT_FILE))
            for p in cfg.platforms.values() if p.demo_secret}


def platform_problems(keys: Iterable[str] | None = None) -> list[SecretProblem]:
    """Webhook platforms (all, or those in `keys`) whose signing secret is unset or public."""
    from disputes.config import load_platforms

    platforms = load_platforms()
    public = public_platform_secrets()
    wanted = set(keys) if keys is not None else None
    out = []
    for cfg in platforms.platforms.values():
        if cfg.connector != "webhook" or (wanted is not None and cfg.key not in wanted):
            continue
        variable = cfg.secret_env or f"platforms.yaml: {cfg.key}.secret_env"
        problem = secret_problem(variable, cfg.secret, public, what_zh=f"与平台「{cfg.name}」共享的 HMAC 签名密钥",
                                 what_en=f"the HMAC signing secret shared with platform {cfg.key}")
        if problem is not None:
            out.append(problem)
    return out
