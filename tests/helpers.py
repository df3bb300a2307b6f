"""Test data and in-process servers shared by several test packages."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


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


class Process:
    """A server subprocess for end-to-end tests: its own session (so a signal reaches everything it
    started), output appended to `<log_dir>/<name>.log` across restarts, a readiness URL, and
    `kill()` (SIGKILL, like a crash or an OOM kill) / `start()` again with the same command.

    Signals go to the process group only while its leader (our child) is not yet reaped: until then
    its id, which is also the group's id, cannot have been given to anyone else."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, *,
                 ready_url: str | None = None, ready_timeout: float = 120, cwd: Path = ROOT) -> None:
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.ready_url, self.ready_timeout = ready_url, ready_timeout
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        assert not self.alive, f"{self.name} is already running"
        self._reap()  # what is left of an earlier run
        with self.log.open("a") as out:
            out.write(f"==== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n")
            out.flush()
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        assert self.proc is not None and self.ready_url
        wait_http(self.ready_url, self.proc, self.log, timeout or self.ready_timeout)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        """Running (checked without reaping it, see the class comment)."""
        if self.proc is None or self.proc.returncode is not None:
            return False
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def _signal_group(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return  # reaped: the id is no longer ours to signal
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        """SIGKILL whatever is left in the process group, then reap the leader."""
        if self.proc is not None and self.proc.returncode is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(30)

    def kill(self) -> None:
        """SIGKILL the process and everything in its session, no clean-up."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self._reap()
        with self.log.open("a") as out:
            out.write(f"==== {time.strftime('%H:%M:%S')} killed (SIGKILL)\n")

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        stop_all([self], timeout)


def start_all(processes: list[Process], timeout: float | None = None) -> None:
    """Start every process at once, then wait until each answers (waits overlap: the total is the
    slowest start-up, not the sum)."""
    for p in processes:
        if not p.alive:
            p.start()
    for p in processes:
        if p.ready_url:
            p.wait_ready(timeout)


def stop_all(processes: list[Process], timeout: float = 20) -> None:
    """SIGTERM every process at once; after `timeout` seconds at most, SIGKILL whatever is left."""
    running = [p for p in processes if p.alive]
    for p in running:
        p._signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(p.alive for p in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in processes:
        p._reap()


def keep_logs(log_dir: Path, name: str) -> Path:
    """Copy the processes' logs to `test-artifacts/<name>/` (CI uploads that folder)."""
    artifacts = ROOT / "test-artifacts" / name
    artifacts.mkdir(parents=True, exist_ok=True)
    for log in log_dir.glob("*.log"):
        shutil.copy(log, artifacts / log.name)
    return artifacts


_release: dict[str, Callable[[], None]] = {}


def release_after_last_use(fixture: str, close: Callable[[], None]) -> None:
    """Run `close` (idempotent) right after the last test of the session that uses `fixture`: a
    session-scoped server stack would otherwise hold its memory (gigabytes for Rasa and the action
    servers) until the very end of the run."""
    _release[fixture] = close


def release_unused(item) -> None:
    """Body of the `pytest_runtest_teardown` hook in tests/conftest.py."""
    names = [n for n in _release if n in getattr(item, "fixturenames", ())]
    if not names:
        return
    later = item.session.items[item.session.items.index(item) + 1 :]
    for name in names:
        if not any(name in getattr(i, "fixturenames", ()) for i in later):
            _release.pop(name)()
