"""The scaled-out profile (`make run-scaled`) for tests: the processes of Procfile.scaled with the
environment of scaled.env, on free loopback ports and throwaway stores.

Two Rasa servers (bot/endpoints.scaled.yml: trackers in a throwaway PostgreSQL database, locks in
Redis under a unique key prefix), each with its own action server, the web tier under gunicorn
(2 workers) spreading conversations over both Rasa servers, the case store in another throwaway
PostgreSQL database, the task queue on Redis, the sandbox platform and the worker.

The stack is session-scoped and shared by tests/e2e/test_scaled_profile.py and
tests/faults/test_process_kills.py (tests/conftest.py imports the fixtures); it is stopped right
after the last test that uses it, and the processes' logs go to test-artifacts/scaled/.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml
from sqlalchemy import create_engine, text

from tests.helpers import ROOT, Process, free_port, keep_logs, release_after_last_use, start_all, stop_all
from tests.services import require_postgres, require_redis

PROCFILE = ROOT / "Procfile.scaled"
ENV_FILE = ROOT / "scaled.env"
ENDPOINTS = ROOT / "bot" / "endpoints.scaled.yml"
MODEL_POINTER = ROOT / ".cache" / "rasa" / "current-model"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
SECRET_KEY = "scaled-profile-test-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CASE_NO = re.compile(r"ODR-\d{8}-\d{4}")
WEB_WORKERS = 2


# ---------------------------------------------------------------- Procfile.scaled and scaled.env


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as honcho's `-e` reads them (comments and blank lines ignored)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def read_procfile(path: Path) -> dict[str, tuple[dict[str, str], list[str]]]:
    """name → (leading VAR=value assignments, argv) for each `name: command` line."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = shlex.split(command)
        env = {}
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        out[name.strip()] = (env, words)
    return out


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """argv with `option`'s value replaced (the option must be there: the Procfile changed otherwise)."""
    assert option in argv, f"{option} is no longer in Procfile.scaled: update tests/e2e/scaled.py"
    i = argv.index(option)
    return [*argv[: i + 1], value, *argv[i + 2 :]]


# ---------------------------------------------------------------- a consumer's browser


class LoopbackSession(requests.Session):
    """A cookie session that, as browsers do, treats http://127.0.0.1 and localhost as secure: the
    web tier's session cookie is Secure outside the demo, and requests would not send it back."""

    def send(self, request, **kwargs):
        resp = super().send(request, **kwargs)
        for cookie in self.cookies:
            if cookie.domain in ("127.0.0.1", "localhost", "localhost.local", "::1"):
                cookie.secure = False
        return resp


class Browser:
    """One consumer: a cookie session on the web tier, as the chat page uses it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = LoopbackSession()  # the session cookie is Secure outside the demo
        self.http.get(f"{base_url}/", timeout=30).raise_for_status()  # the chat page sets the cookie

    @property
    def sender_id(self) -> str:
        """The conversation id in the signed session cookie (the test knows the secret key)."""
        from flask import Flask

        app = Flask("cookie-reader")
        app.secret_key = SECRET_KEY
        return app.session_interface.get_signing_serializer(app).loads(self.http.cookies["session"])["sender_id"]

    def post(self, said: str, timeout: float = 90) -> requests.Response:
        return self.http.post(f"{self.base_url}/api/chat/messages", json={"text": said}, timeout=timeout)

    def say(self, said: str, expect: str | None = None) -> str:
        """Send one message; the reply must be HTTP 200 with text (containing `expect` if given)."""
        resp = self.post(said)
        assert resp.status_code == 200, (said, resp.status_code, resp.text[:500])
        reply = "\n".join(m.get("text") or "" for m in resp.json()["messages"])
        assert reply.strip(), f"empty reply to {said!r}"
        if expect is not None:
            assert expect in reply, (said, expect, reply)
        return reply


ORDER_TURN = 4  # complaint_turns()[ORDER_TURN][0] is the order number


def complaint_turns(today: date | None = None) -> list[tuple[str, str]]:
    """(what the consumer says, a fragment of the next reply) from 「我要投诉」 to the summary:
    a seven-day return at 沙盒商城 told as a story, with a legal question and a correction on
    the way (the sandbox platform accepts it: the goods are intact and the window is open)."""
    today = today or datetime.now(SHANGHAI).date()
    signed, earlier = today - timedelta(days=2), today - timedelta(days=3)
    suffix = uuid.uuid4().int % 10**8
    return [
        ("我要投诉", "请把经过告诉我"),
        ("在沙盒商城的沙盒数码旗舰店买了副蓝牙耳机，199元，收到觉得不喜欢", "签收"),
        (f"{signed.month}月{signed.day}号签收的", "商品现在是什么状态"),
        ("没拆封，包装完好", "订单号"),
        (f"88{suffix:08d}123456", "手机号"),
        (f"139{suffix:08d}", "我理解的情况是"),
        ("七天无理由退货的运费谁出？", "以上信息对吗"),
        (f"不对，是{earlier.month}月{earlier.day}号签收的", "已更正"),
    ]


def submit(browser: Browser) -> str:
    """Confirm the summary; returns the case number from the reply."""
    reply = browser.say("确认无误，同意提交", "案件编号")
    match = CASE_NO.search(reply)
    assert match, reply
    return match.group(0)


# ---------------------------------------------------------------- the stack


class ScaledStack:
    def __init__(self, work: Path, postgres_url: str, redis_url: str) -> None:
        self.work = work
        self.closed = False
        tag = uuid.uuid4().hex[:10]
        pg = urlsplit(postgres_url.replace("+psycopg", ""))
        self.pg_admin_url = pg._replace(query="").geturl()  # the test database, to create/drop ours
        self.case_db, self.tracker_db = f"odr_t_{tag}", f"odr_tracker_t_{tag}"
        self.database_url = pg._replace(path=f"/{self.case_db}", query="").geturl()
        self.tracker_url = pg._replace(path=f"/{self.tracker_db}", query="").geturl()
        self.redis_url = redis_url
        self.lock_prefix = f"odrt{tag}"  # Rasa takes alphanumeric prefixes only
        ports = {name: free_port() for name in ("web", "sandbox", "rasa1", "rasa2", "actions1", "actions2")}
        self.base_url = f"http://127.0.0.1:{ports['web']}"
        self.rasa_urls = [f"http://127.0.0.1:{ports['rasa1']}", f"http://127.0.0.1:{ports['rasa2']}"]
        self.processes = self._processes(ports, pg, urlsplit(redis_url))
        self._engine = None

    # -- set-up

    def _processes(self, ports: dict[str, int], pg, redis) -> dict[str, Process]:
        procfile = read_procfile(PROCFILE)
        assert set(procfile) == {"rasa1", "rasa2", "actions1", "actions2", "web", "sandbox", "worker"}, procfile
        platforms = yaml.safe_load((ROOT / "disputes" / "platforms.yaml").read_text(encoding="utf-8"))
        platforms["platforms"]["sandbox"]["url"] = f"http://127.0.0.1:{ports['sandbox']}/settlements"
        (self.work / "platforms.yaml").write_text(yaml.safe_dump(platforms, allow_unicode=True), encoding="utf-8")
        # bot/endpoints.scaled.yml as it is (environment references included), but locks under our
        # own key prefix so they cannot meet those of a `make run-scaled` on this machine
        endpoints = ENDPOINTS.read_text(encoding="utf-8")
        endpoints, n = re.subn(r"(?m)^(\s*key_prefix:).*$", rf"\1 {self.lock_prefix}", endpoints)
        assert n == 1, "bot/endpoints.scaled.yml has no lock_store key_prefix: update tests/e2e/scaled.py"
        (self.work / "endpoints.scaled.yml").write_text(endpoints, encoding="utf-8")

        env = {**os.environ, **read_env_file(ENV_FILE)}
        assert env.get("ODR_PROFILE") == "scaled"
        env.update({
            "ODR_DATABASE_URL": self.database_url,
            "ODR_QUEUE_URL": self.redis_url,
            "ODR_RATELIMIT_STORAGE": self.redis_url,
            "ODR_CACHE_URL": self.redis_url,
            "ODR_RASA_URL": ",".join(self.rasa_urls),
            "ODR_PG_HOST": pg.hostname or "127.0.0.1",
            "ODR_PG_PORT": str(pg.port or 5432),
            "ODR_PG_DB": self.tracker_db,
            "ODR_PG_USER": pg.username or "postgres",
            "ODR_REDIS_HOST": redis.hostname or "127.0.0.1",
            "ODR_REDIS_PORT": str(redis.port or 6379),
            "ODR_SECRET_KEY": SECRET_KEY,
            # not a demo (scaled.env: ODR_DEMO=0): this run's own secrets, never the public demo ones
            "WECHAT_TOKEN": f"scaled-test-{uuid.uuid4().hex}",
            "ODR_SANDBOX_SECRET": f"scaled-test-{uuid.uuid4().hex}",
            "ODR_REDIS_PASSWORD": unquote(redis.password or ""),
            **({"PGPASSWORD": unquote(pg.password)} if pg.password else {}),
            "ODR_UPLOAD_DIR": str(self.work / "uploads"),
            # every simulated consumer of the tests shares one loopback address: the per-address
            # limits would count them all as one client (the per-conversation limits stay)
            "ODR_CHAT_MESSAGE_LIMIT_IP": "100000 per minute",
            "ODR_CHAT_NEW_SESSION_LIMIT_IP": "100000 per minute",
            "ODR_EVIDENCE_UPLOAD_LIMIT_IP": "100000 per minute",
            "ODR_PLATFORMS_FILE": str(self.work / "platforms.yaml"),
            "ODR_PLATFORM_API": f"{self.base_url}/api/platform/v1",
            "SANDBOX_PORT": str(ports["sandbox"]),
            "RASA_TELEMETRY_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        })
        for key in ("ODR_CLOCK_AT", "ODR_DISPATCH", "ODR_QUEUE_FILE"):
            env.pop(key, None)  # real time: the sandbox signs its answers with a 5-minute window

        processes = {}
        for name, (assigned, argv) in procfile.items():
            penv = {**env, **assigned}
            ready_url, timeout = None, 120.0
            if name.startswith("rasa"):
                n = name[-1]
                penv.update(ODR_RASA_PORT=str(ports[name]),
                            ODR_ACTION_URL=f"http://127.0.0.1:{ports[f'actions{n}']}/webhook")
                # scripts/run_rasa.sh passes extra arguments on to `rasa run`; the last --endpoints wins
                argv = [*argv, "--endpoints", str(self.work / "endpoints.scaled.yml")]
                ready_url, timeout = f"http://127.0.0.1:{ports[name]}/", 360.0
            elif name.startswith("actions"):
                penv["ODR_ACTIONS_PORT"] = str(ports[name])
                ready_url, timeout = f"http://127.0.0.1:{ports[name]}/health", 240.0
            elif name == "web":
                argv = with_option(argv, "--workers", str(WEB_WORKERS))
                argv = with_option(argv, "--bind", f"127.0.0.1:{ports['web']}")
                # gunicorn's control socket defaults to ~/.gunicorn/gunicorn.ctl: keep ours apart
                argv = [*argv[:-1], "--control-socket", str(self.work / "gunicorn.ctl"), argv[-1]]
                ready_url = f"{self.base_url}/healthz"
            elif name == "sandbox":
                ready_url = f"http://127.0.0.1:{ports['sandbox']}/settlements"  # 405 on GET: it listens
            processes[name] = Process(name, argv, penv, self.work, ready_url=ready_url, ready_timeout=timeout)
        return processes

    def start(self) -> None:
        from huey import RedisHuey

        subprocess.run([sys.executable, "scripts/create_databases.py", self.pg_admin_url, self.case_db,
                        self.tracker_db], cwd=ROOT, check=True, capture_output=True, timeout=60)
        RedisHuey("odr", url=self.redis_url).flush()  # nothing an earlier run may have left queued
        started = time.monotonic()
        start_all(list(self.processes.values()))
        time.sleep(1)
        assert self.processes["worker"].alive, self.processes["worker"].log.read_text()[-3000:]
        self.startup_seconds = time.monotonic() - started
        print(f"\nscaled stack up in {self.startup_seconds:.0f}s", file=sys.stderr)

    def ensure_up(self) -> None:
        """Start again whatever an earlier test killed, and wait until everything answers."""
        start_all(list(self.processes.values()))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        stop_all(list(self.processes.values()))
        keep_logs(self.work, "scaled")
        if self._engine is not None:
            self._engine.dispose()
        try:
            import psycopg
            import redis
            from huey import RedisHuey

            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                for db in (self.case_db, self.tracker_db):
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            RedisHuey("odr", url=self.redis_url).flush()
            where = urlsplit(self.redis_url)
            lock_db = int(yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))["lock_store"]["db"])
            locks = redis.Redis(host=where.hostname or "127.0.0.1", port=where.port or 6379, db=lock_db)
            for key in locks.scan_iter(f"{self.lock_prefix}:*"):
                locks.delete(key)
        except Exception as exc:  # clean-up only: never hide the test's own outcome
            print(f"scaled stack clean-up: {exc!r}", file=sys.stderr)

    # -- helpers for the tests

    def browser(self) -> Browser:
        return Browser(self.base_url)

    def rasa_index(self, sender_id: str) -> int:
        """Which Rasa server the web tier tries first for this conversation."""
        from web.rasa_client import RasaClient

        return self.rasa_urls.index(RasaClient(list(self.rasa_urls))._order(sender_id)[0])

    def browser_on(self, rasa_index: int) -> Browser:
        """A new consumer whose conversation the web tier sends to Rasa server `rasa_index` first."""
        for _ in range(64):
            b = self.browser()
            if self.rasa_index(b.sender_id) == rasa_index:
                return b
        raise AssertionError("no conversation id hashed to that Rasa server in 64 tries")

    @property
    def engine(self):
        if self._engine is None:
            from disputes.db import normalise_url

            self._engine = create_engine(normalise_url(self.database_url))
        return self._engine

    def cases_of(self, sender_id: str) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                text("select case_no, state from cases where sender_id = :s order by id"), {"s": sender_id})]

    def events_of(self, case_no: str) -> list[tuple[str, dict]]:
        with self.engine.connect() as conn:
            return [(r[0], r[1] or {}) for r in conn.execute(text(
                "select e.type, e.payload from case_events e join cases c on c.id = e.case_id "
                "where c.case_no = :n order by e.id"), {"n": case_no})]

    def tracker_events(self, sender_id: str, action: str | None = None) -> int:
        """Rows of this conversation in the PostgreSQL tracker store (runs of `action` if given)."""
        import psycopg

        query, args = "select count(*) from events where sender_id = %s", [sender_id]
        if action:
            query, args = query + " and action_name = %s", [*args, action]
        with psycopg.connect(self.tracker_url) as conn:
            return conn.execute(query, args).fetchone()[0]

    def deliveries_of(self, case_no: str) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "select d.kind, d.status from webhook_deliveries d join cases c on c.id = d.case_id "
                "where c.case_no = :n order by d.id"), {"n": case_no})]

    def assert_one_complete_case(self, sender_id: str, timeout: float = 90) -> str:
        """Exactly one case for this consumer, with its whole history once: created and submitted,
        the settlement request taken by the worker (Redis queue) to the sandbox platform, which
        accepts the seven-day return through the platform API, hence settled. Waits for the worker
        and the sandbox first."""
        cases = self.cases_of(sender_id)
        assert len(cases) == 1, cases
        case_no = cases[0][0]

        def settled() -> bool:
            deliveries = self.deliveries_of(case_no)
            return (self.cases_of(sender_id)[0][1] == "settled" and bool(deliveries)
                    and all(status == "delivered" for _, status in deliveries))

        deadline = time.monotonic() + timeout
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.5)
        events = self.events_of(case_no)
        types = [t for t, _ in events]
        assert self.cases_of(sender_id) == [(case_no, "settled")], (self.cases_of(sender_id), types)
        assert [p.get("to") for t, p in events if t == "state_changed"] == \
            ["submitted", "negotiating", "settled"], types
        for t in ("case_created", "settlement_requested", "platform_accepted"):
            assert types.count(t) == 1, (t, types)
        deliveries = self.deliveries_of(case_no)
        assert all(status == "delivered" for _, status in deliveries), deliveries
        delivered = sorted(p.get("kind") for t, p in events if t == "webhook_delivered")
        assert delivered == sorted(kind for kind, _ in deliveries), (delivered, deliveries)
        assert delivered.count("settlement_request") == 1, delivered
        return case_no


@pytest.fixture(scope="session")
def scaled_stack(tmp_path_factory):
    postgres_url, redis_url = require_postgres(), require_redis()
    if not MODEL_POINTER.exists() or not RASA.exists():
        pytest.fail("the trained Rasa model or .venv-rasa is missing: run `make test` (it runs setup first)")
    stack = ScaledStack(tmp_path_factory.mktemp("scaled"), postgres_url, redis_url)
    release_after_last_use("scaled_stack", stack.close)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


@pytest.fixture
def scaled(scaled_stack) -> ScaledStack:
    """The scaled stack with every process up (an earlier test may have killed one)."""
    assert not scaled_stack.closed, "the scaled stack was released before a test that needs it"
    scaled_stack.ensure_up()
    return scaled_stack
