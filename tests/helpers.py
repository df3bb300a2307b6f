"""Test data and in-process servers shared by several test packages."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests


def make_facts(**overrides: Any) -> dict[str, Any]:
    """Complaint facts as the chat collects them, with consent to share them with the platform."""
    facts = {
        "platform": "淘宝",
        "shop": "某某数码旗舰店",
        "order_id": "1234567890",
        "product": "蓝牙耳机",
        "category": "电子产品",
        "price_yuan": 199.0,
        "order_date": "2026-04-25",
        "signed_date": "2026-04-28",
        "problem": "不想要了",
        "description": "收到后不喜欢，未拆封",
        "desired_remedy": "退货退款",
        "phone": "13800138000",
        "consent": True,
    }
    facts.update(overrides)
    return facts


SEVEN_DAY_DECISION = {
    "seven_day_return_eligible": True,
    "reason_codes": ["SEVEN_DAY_OK"],
    "legal_basis": [
        {"law": "消费者权益保护法", "article": 25},
        {"law": "网络购买商品七日无理由退货暂行办法", "article": 10},
    ],
    "suggested_remedies": ["退货退款"],
    "punitive": None,
    "explanation": "符合七日无理由退货条件。",
}


class ServerThread:
    """A werkzeug server for a WSGI app on a free loopback port, in a daemon thread."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait until a freshly started server answers, failing early (with its log) if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")
