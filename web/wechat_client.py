"""The two WeChat APIs we call: customer-service messages (replies later than 5 s and case
notifications) and temporary media (images the consumer sends as evidence).

`ApiWeChatClient` talks to WeChat through wechatpy; `LocalWeChatClient` keeps everything in
memory (and the log) for tests and the demo, where no real Official Account exists. Which one a
process gets is decided by `make_client(settings)`: the API client only when an AppSecret is
configured (env `WECHAT_APP_SECRET`) and `WECHAT_MODE` is not `local`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from disputes.db import with_redis_auth
from disputes.demo import SecretProblem, secret_problem
from disputes.privacy import mask_id

log = logging.getLogger(__name__)

# The demo Official Account. Real deployments set env WECHAT_TOKEN / WECHAT_APP_ID /
# WECHAT_ENCODING_AES_KEY / WECHAT_APP_SECRET; these values are public and only fit the local demo:
# outside demo mode (ODR_DEMO=1) the web tier refuses to start with them (`secret_problems`).
# The demo AES key is never used by default: a configured key switches the endpoint to safe mode.
DEMO_TOKEN = "odr-demo-token"
DEMO_APP_ID = "wxodrdemo00000000"
DEMO_ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# Customer-service text messages may carry at most 2048 bytes.
MAX_TEXT_BYTES = 2000
# WeChat: "response out of time limit" (no interaction in the last 48 h) and similar refusals
# after which retrying the same message is pointless until the user writes again.
WINDOW_CLOSED_CODES = {45015, 45047, 43004}


class WeChatSendError(RuntimeError):
    """A customer-service message was not accepted; `window_closed` when WeChat refuses because
    the consumer has not written within the last 48 hours (delivered when they write again)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.window_closed = code in WINDOW_CLOSED_CODES


class MediaError(RuntimeError):
    """An image could not be fetched from WeChat."""


def settings_from(config: Mapping[str, Any]) -> dict[str, Any]:
    """WeChat settings: app config first, then the environment, then the demo defaults (token and
    AppID; no AES key). Outside demo mode `secret_problems` refuses the demo values at start-up."""

    def pick(key: str, default: Any) -> Any:
        if config.get(key) not in (None, ""):
            return config[key]
        return os.environ.get(key) or default

    return {
        "WECHAT_TOKEN": pick("WECHAT_TOKEN", DEMO_TOKEN),
        "WECHAT_APP_ID": pick("WECHAT_APP_ID", DEMO_APP_ID),
        "WECHAT_ENCODING_AES_KEY": pick("WECHAT_ENCODING_AES_KEY", ""),
        "WECHAT_APP_SECRET": pick("WECHAT_APP_SECRET", ""),
        "WECHAT_MODE": pick("WECHAT_MODE", ""),
        "WECHAT_TOKEN_REDIS_URL": pick("WECHAT_TOKEN_REDIS_URL", ""),
    }


def secret_problems(settings: Mapping[str, Any]) -> list[SecretProblem]:
    """WeChat settings that are unset or public demo values (see `disputes.demo.enforce`)."""
    problems = [secret_problem("WECHAT_TOKEN", settings.get("WECHAT_TOKEN"), [DEMO_TOKEN],
                               what_zh="公众号后台「服务器配置」中的令牌 Token",
                               what_en="the Token of the Official Account's server configuration")]
    key = settings.get("WECHAT_ENCODING_AES_KEY")
    if key:
        problems.append(secret_problem("WECHAT_ENCODING_AES_KEY", key, [DEMO_ENCODING_AES_KEY],
                                       what_zh="公众号后台的消息加解密密钥 EncodingAESKey",
                                       what_en="the EncodingAESKey of the Official Account"))
        problems.append(secret_problem("WECHAT_APP_ID", settings.get("WECHAT_APP_ID"), [DEMO_APP_ID],
                                       what_zh="公众号的 AppID，安全模式解密需要", what_en="the Official Account's AppID, "
                                       "needed to decrypt safe-mode messages"))
    return [p for p in problems if p is not None]


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Cut a long reply into parts WeChat accepts, at line breaks where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = ""
        while len(line.encode()) > limit:
            cut = limit // 4  # UTF-8: at most 4 bytes a character
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return parts or [""]


class WeChatClientBase:
    """What the WeChat endpoint and the push loop need from WeChat."""

    mode = "base"

    def send_text(self, openid: str, text: str) -> None:
        raise NotImplementedError

    def download_media(self, media_id: str) -> tuple[bytes, str | None]:
        raise NotImplementedError


class LocalWeChatClient(WeChatClientBase):
    """Records messages instead of sending them; serves media registered with `add_media`."""

    mode = "local"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[dict[str, str]] = []
        self.media: dict[str, tuple[bytes, str | None]] = {}
        self.fail_with: WeChatSendError | None = None

    def send_text(self, openid: str, text: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            for part in split_text(text):
                self.sent.append({"openid": openid, "text": part})
        log.info("wechat (local) customer-service message to %s (%d chars)", mask_id(openid), len(text))

    def add_media(self, media_id: str, data: bytes, content_type: str | None = None) -> None:
        with self._lock:
            self.media[media_id] = (data, content_type)

    def download_media(self, media_id: str) -> tuple[bytes, str | None]:
        with self._lock:
            found = self.media.get(media_id)
        if found is None:
            raise MediaError(f"no local media {media_id}")
        return found

    def messages_to(self, openid: str) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent if m["openid"] == openid]


class ApiWeChatClient(WeChatClientBase):
    """wechatpy's client. The access token is cached in Redis when WECHAT_TOKEN_REDIS_URL is set,
    so several web workers and the task worker share one token instead of invalidating each
    other's."""

    mode = "api"

    def __init__(self, app_id: str, secret: str, *, redis_url: str = "", timeout: float = 5.0) -> None:
        from wechatpy import WeChatClient

        session = None
        if redis_url:
            from redis import Redis
            from wechatpy.session.redisstorage import RedisStorage

            session = RedisStorage(Redis.from_url(with_redis_auth(redis_url)), prefix="odr-wechat")
        self._client = WeChatClient(app_id, secret, session=session, timeout=timeout)

    def send_text(self, openid: str, text: str) -> None:
        from wechatpy.exceptions import WeChatClientException

        for part in split_text(text):
            try:
                self._client.message.send_text(openid, part)
            except WeChatClientException as exc:
                raise WeChatSendError(f"customer-service message refused: {exc.errcode} {exc.errmsg}",
                                      code=exc.errcode) from exc
            except Exception as exc:  # network
                raise WeChatSendError(f"customer-service message failed: {exc}") from exc

    def download_media(self, media_id: str) -> tuple[bytes, str | None]:
        from wechatpy.exceptions import WeChatClientException

        try:
            res = self._client.media.download(media_id)
        except WeChatClientException as exc:
            raise MediaError(f"media download refused: {exc.errcode} {exc.errmsg}") from exc
        except Exception as exc:
            raise MediaError(f"media download failed: {exc}") from exc
        if isinstance(res, dict):  # a JSON error body
            raise MediaError(f"media download refused: {res}")
        return res.content, res.headers.get("Content-Type")


def make_client(settings: Mapping[str, Any]) -> WeChatClientBase:
    """The API client when an AppSecret is configured, else the local one."""
    mode = (settings.get("WECHAT_MODE") or "").lower()
    if mode != "local" and settings.get("WECHAT_APP_SECRET"):
        return ApiWeChatClient(settings["WECHAT_APP_ID"], settings["WECHAT_APP_SECRET"],
                               redis_url=settings.get("WECHAT_TOKEN_REDIS_URL") or "")
    if mode == "api":
        raise RuntimeError("WECHAT_MODE=api needs WECHAT_APP_ID and WECHAT_APP_SECRET")
    return LocalWeChatClient()


_env_client: WeChatClientBase | None = None
_env_lock = threading.Lock()


def client_from_env() -> WeChatClientBase:
    """One client per process for code outside Flask (the task worker's push loop)."""
    global _env_client
    with _env_lock:
        if _env_client is None:
            _env_client = make_client(settings_from({}))
        return _env_client
