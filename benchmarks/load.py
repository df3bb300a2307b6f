"""Load benchmark: N concurrent simulated consumers talking to the full stack through the web tier.

    .venv/bin/python benchmarks/load.py --start-stack                   # own stack on free ports
    .venv/bin/python benchmarks/load.py --base-url http://127.0.0.1:8000  # a running `make run`
    .venv/bin/python benchmarks/load.py --start-stack --concurrency 1,10 --duration 45
    .venv/bin/python benchmarks/load.py --start-stack --channel wechat  # WeChat consumers only
    .venv/bin/python benchmarks/load.py --start-stack --profile scaled  # Procfile.scaled, web consumers

A web consumer is a cookie session on `POST /api/chat/messages`; a WeChat consumer is one openid
whose messages reach `POST /wechat` as WeChat's servers send them (signed query string, XML text
messages with a MsgId). `--channel both` (the default) splits each level half/half. One
conversation = a lay legal question (answered by retrieval), the complaint form for 沙盒商城
through to the case number, and a status check of that case. Every level runs for at most
`--duration` seconds and at most `--conversations` conversations, so the run always stops by
itself. Per level and channel: turns/s, p50/p95/p99 latency of retrieval turns vs other turns,
transport/HTTP errors, unexpected replies; for WeChat also the latency of the answer WeChat's
server gets (the 5-second rule), passive vs pushed replies and whether each push arrived; and
the resident memory of each stack process (VmRSS after warm-up, VmRSS and peak VmHWM after the
level). The tables go to stdout and the figures to .cache/benchmarks/load.json.

`--start-stack --profile scaled` starts the scaled-out profile instead of the embedded one, with
the test suite's own `tests.e2e.scaled.ScaledStack` (web consumers only: see ScaledProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: reuse the test suite's server helpers

from tests.helpers import free_port, wait_http  # noqa: E402

OUT = REPO / ".cache" / "benchmarks" / "load.json"
MODEL_POINTER = REPO / ".cache" / "rasa" / "current-model"
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"
RASA_SERVER = REPO / "bot" / "rasa_server.py"  # `rasa run` with the response-validation fix
SHANGHAI = ZoneInfo("Asia/Shanghai")
CASE_NO = re.compile(r"ODR-\d{8}-\d{4}")
CITED = re.compile(r"第[一二三四五六七八九十百零\d]+条")
WECHAT_LIMIT_S = 5.0  # WeChat's server gives up (and retries) when the answer takes longer

# Lay questions written for this benchmark (not taken from any evaluation set).
LEGAL_QUESTIONS = [  # questions about the law: none tells a purchase of the consumer's own (that starts the intake)
    "网上买的外套拆了吊牌还能七天无理由退吗",
    "网店老板跑路了，平台要不要先赔我钱",
    "买到假货能要求退一赔三吗",
    "店家说特价商品一律不退不换，这样合法吗",
    "快递签收以后才发现东西是坏的，该找谁",
    "零食过期了能要十倍赔偿吗",
    "直播间买的东西跟主播说的不一样怎么办",
    "无理由退货寄回去的运费谁来出",
    "定做的衣服可以七天无理由退货吗",
    "付款一个星期了商家还不发货，可以投诉吗",
    "手机用了二十天就坏了，能要求换新的吗",
    "平台不肯告诉我卖家的真实地址，我怎么维权",
]
SHOPS = ["沙盒数码旗舰店", "沙盒家居专营店", "沙盒服饰小铺", "沙盒母婴优选店", "沙盒运动户外店"]
PRODUCTS = [("蓝牙耳机", 199), ("电热水壶", 89), ("羽绒服", 459), ("婴儿推车", 899), ("登山鞋", 329)]
STORIES = [  # what happened, as a consumer tells it (the intake reads the condition and problem)
    "不想要了，申请七天无理由，商家说拆了包装就不给退",
    "用了两天就开不了机，联系客服一直不回",
    "和描述不符，页面写纯棉收到的是化纤，吊牌还在",
]


# ---------------------------------------------------------------- the simulated consumer


@dataclass
class Turn:
    kind: str  # "retrieval" (legal question), "form" (complaint form), "status"
    latency: float
    ok: bool
    expected: bool
    error: str | None = None


@dataclass
class Outcome:
    turns: list[Turn] = field(default_factory=list)
    completed: bool = False
    case_no: str | None = None
    cited: bool = False
    cut: bool = False  # stopped at a turn boundary because the level's deadline came


def _texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def conversation_script(rng: random.Random, today: datetime) -> list[tuple[str, str, str | None]]:
    """(kind, what the consumer says, a fragment the bot's reply should contain)."""
    shop = rng.choice(SHOPS)
    product, price = rng.choice(PRODUCTS)
    story = rng.choice(STORIES)
    signed = today - timedelta(days=rng.randint(1, 3))
    phone = f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    return [
        ("retrieval", rng.choice(LEGAL_QUESTIONS), None),
        ("form", "我要投诉", "请把经过告诉我"),
        ("form", f"在沙盒商城的{shop}买的{product}，{price}元，{story}", "签收"),
        ("form", f"{signed.month}月{signed.day}号签收的", "订单号"),
        ("form", str(rng.randint(10**15, 10**16 - 1)), "手机号"),
        ("form", phone, "我理解的情况是"),
        ("form", "确认无误，同意提交", "案件编号"),
        ("status", "查一下{case_no}", "{case_no}"),
    ]


def judge_reply(out: Outcome, kind: str, reply: str, expect: str | None) -> bool:
    """Is this the reply the script waits for? Records a quoted article and the case number."""
    if kind == "retrieval":
        out.cited = bool(CITED.search(reply))
        good = out.cited  # every scripted question is in scope: the answer must quote an article
    else:
        good = expect is None or expect in reply
    if expect == "案件编号":
        m = CASE_NO.search(reply)
        out.case_no = m.group(0) if m else None
        good = good and out.case_no is not None
    return good


def run_conversation(base_url: str, seed: int, deadline: float, timeout: float,
                     think: tuple[float, float] = (0.0, 0.0), *,
                     session: requests.Session | None = None) -> Outcome:
    """One consumer, one cookie session, one conversation; stops at a turn boundary after the deadline.

    Between turns the consumer reads the reply and types the next message: a pause drawn
    uniformly from `think` seconds (0, 0 = closed loop, the next message as soon as the reply
    arrives). `session`: an existing cookie session to use (and leave open) instead of a new one.
    """
    rng = random.Random(seed)
    out = Outcome()
    with requests.Session() if session is None else contextlib.nullcontext(session) as http:
        try:
            http.get(f"{base_url}/", timeout=timeout).raise_for_status()  # the chat page sets the cookie
        except requests.RequestException as exc:
            out.turns.append(Turn("form", 0.0, False, False, f"page: {exc.__class__.__name__}"))
            return out
        for turn_no, (kind, said, expect) in enumerate(conversation_script(rng, datetime.now(SHANGHAI))):
            pause = rng.uniform(*think) if turn_no and think[1] > 0 else 0.0
            if time.monotonic() + pause >= deadline:
                out.cut = True
                return out
            time.sleep(pause)
            if out.case_no is None and "{case_no}" in said:
                return out
            said = said.format(case_no=out.case_no)
            expect = expect.format(case_no=out.case_no) if expect else None
            started = time.perf_counter()
            try:
                resp = http.post(f"{base_url}/api/chat/messages", json={"text": said}, timeout=timeout)
                latency = time.perf_counter() - started
            except requests.RequestException as exc:
                out.turns.append(Turn(kind, time.perf_counter() - started, False, False, exc.__class__.__name__))
                return out
            if resp.status_code != 200:
                out.turns.append(Turn(kind, latency, False, False, f"HTTP {resp.status_code}"))
                return out
            reply = _texts(resp.json().get("messages") or [])
            good = judge_reply(out, kind, reply, expect)
            out.turns.append(Turn(kind, latency, True, good, None if good else f"unexpected reply to {said!r}"))
            if not good:
                return out  # the conversation went off script: a real consumer would start over
        out.completed = True
    return out


# ---------------------------------------------------------------- the simulated WeChat consumer


@dataclass
class WechatTurn(Turn):
    status: int | None = None  # HTTP status of /wechat's answer (None: no answer)
    reply: str | None = None  # "passive" (XML reply within the request) or "push" ("success", then the API)
    push_s: float | None = None  # message sent → pushed reply recorded as sent (poll resolution 0.2 s)
    push_state: str | None = None  # wechat_inbound state when the wait for the push ended


@dataclass
class WechatOutcome(Outcome):
    openid: str = ""
    follow_latency: float | None = None  # the subscribe event (answered with the welcome text)


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """What WeChat's server puts in `signature` (and tests/web/conftest.py signs with)."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def wechat_xml(openid: str, msg_type: str, body: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_odr_load]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]>"
            f"</MsgType>{body}</xml>")


def typed_choice(previous_reply: str, payload: str) -> str:
    """A WeChat user cannot tap quick replies: the endpoint lists them as 「请回复：「A」 / 「B」」 and
    the user types the first (affirmative) one. Falls back to the payload if none was offered."""
    offered = re.search(r"请回复：(.+)", previous_reply)
    titles = re.findall(r"「([^」]+)」", offered.group(1)) if offered else []
    return titles[0] if titles else payload


class PushLedger:
    """How the web tier answered a MsgId, from its own record (`web.wechat_store.WechatInbound`
    in the case database): a turn answered with "success" becomes `deferred` and then `sent`
    (with the text) once the customer-service message was handed to the WeChat client."""

    POLL_S = 0.2

    def __init__(self, database_url: str) -> None:
        from disputes.db import session_factory

        self.factory = session_factory(database_url)

    def check(self) -> None:
        from sqlalchemy import func, select

        from web.wechat_store import WechatInbound

        with self.factory() as db:
            db.scalar(select(func.count()).select_from(WechatInbound))

    def state(self, msg_id: str) -> tuple[str | None, str | None]:
        from sqlalchemy import select

        from web.wechat_store import WechatInbound

        with self.factory() as db:
            row = db.execute(select(WechatInbound.state, WechatInbound.reply_text)
                             .where(WechatInbound.msg_id == msg_id)).first()
        return (row[0], row[1]) if row else (None, None)

    def wait(self, msg_id: str, bound: float) -> tuple[str | None, str | None]:
        """Poll until the deferred reply was sent or failed, at most `bound` seconds."""
        from web.wechat_store import FAILED, SENT

        end = time.monotonic() + bound
        while True:
            state, text = self.state(msg_id)
            if state in (SENT, FAILED) or time.monotonic() >= end:
                return state, text
            time.sleep(self.POLL_S)

    def delivered(self, openids: list[str]) -> dict[str, int]:
        """Customer-service messages the database says were sent to these openids."""
        from sqlalchemy import func, select

        from web.wechat_store import SENT, WechatInbound, WechatOutbound

        if not openids:
            return {"replies": 0, "notifications": 0, "notifications_still_sending": 0}
        with self.factory() as db:
            replies = db.scalar(select(func.count()).select_from(WechatInbound).where(
                WechatInbound.openid.in_(openids), WechatInbound.state == SENT))
            notes = dict(db.execute(select(WechatOutbound.state, func.count()).where(
                WechatOutbound.openid.in_(openids)).group_by(WechatOutbound.state)).all())
        return {"replies": replies or 0, "notifications": notes.get("sent", 0),
                "notifications_still_sending": notes.get("sending", 0)}


class LocalPushLog:
    """The local WeChat client (`WECHAT_MODE=local`, no real Official Account) records each
    customer-service message in the memory of the process that sent it and logs one line
    「wechat (local) customer-service message to <openid[:6]>…: <text>」. The web tier sends deferred
    replies and post-turn notifications; the worker's per-minute sweep sends the rest. This reads
    the lines appended to those logs since `mark()`."""

    LINE = re.compile(r"wechat \(local\) customer-service message to (\S{6})…: (.*?)"
                      r"(?=\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\Z)", re.DOTALL)

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.offsets: dict[Path, int] = {}

    def mark(self) -> None:
        self.offsets = {p: (p.stat().st_size if p.exists() else 0) for p in self.paths}

    def messages(self, prefixes: set[str]) -> list[tuple[str, str, str]]:
        """(log file name, openid[:6], text as logged, i.e. masked) since `mark()`, for these prefixes."""
        found = []
        for path in self.paths:
            if not path.exists():
                continue
            with path.open("rb") as f:
                f.seek(self.offsets.get(path, 0))
                text = f.read().decode("utf-8", errors="replace")
            found += [(path.name, m.group(1), m.group(2).strip()) for m in self.LINE.finditer(text)
                      if m.group(1) in prefixes]
        return found


class WechatSetup:
    """What every WeChat consumer shares: the endpoint, the token, the push ledger, and unique
    openids / MsgIds (openid[:6] differs between conversations, so the local client's log lines,
    which show only that prefix, can be told apart)."""

    def __init__(self, base_url: str, token: str, ledger: PushLedger, push_wait: float) -> None:
        self.url = f"{base_url}/wechat"
        self.token, self.ledger, self.push_wait = token, ledger, push_wait
        self._lock = threading.Lock()
        self._openids = itertools.count(1)
        self._msg_ids = itertools.count(time.time_ns() // 1000)  # unique across runs on one database

    def new_openid(self) -> str:
        with self._lock:
            serial = next(self._openids)
        tag = ""
        for _ in range(5):
            serial, digit = divmod(serial, 36)
            tag = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + tag
        return f"o{tag}" + secrets.token_urlsafe(16)[:22].replace("-", "_")

    def new_msg_id(self) -> str:
        with self._lock:
            return str(next(self._msg_ids))

    def post(self, http: requests.Session, openid: str, xml: str, timeout: float) -> requests.Response:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        query = {"signature": wechat_signature(self.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": openid}
        return http.post(self.url, params=query, data=xml.encode(), timeout=timeout,
                         headers={"Content-Type": "text/xml"})


def _passive_content(body: str) -> str | None:
    import xmltodict

    try:
        content = xmltodict.parse(body)["xml"]["Content"]
    except Exception:
        return None
    return content if isinstance(content, str) else None


def run_wechat_conversation(wx: WechatSetup, seed: int, deadline: float, timeout: float,
                            think: tuple[float, float] = (0.0, 0.0)) -> WechatOutcome:
    """One WeChat follower (a new openid), one conversation, the same script as the web consumer.

    WeChat's server first pushes the subscribe event (the follow), then each message with a fresh
    MsgId. An XML answer is a passive reply; "success" means the reply follows through the
    customer-service API, and the consumer waits for it (at most `wx.push_wait` seconds) before
    reading it and typing on. Quick-reply payloads are typed as the offered words.
    """
    rng = random.Random(seed)
    out = WechatOutcome(openid=wx.new_openid())
    with requests.Session() as http:
        started = time.perf_counter()
        try:
            resp = wx.post(http, out.openid, wechat_xml(out.openid, "event", "<Event><![CDATA[subscribe]]></Event>"),
                           timeout)
            out.follow_latency = time.perf_counter() - started
        except requests.RequestException as exc:
            out.turns.append(WechatTurn("form", time.perf_counter() - started, False, False,
                                        f"follow: {exc.__class__.__name__}"))
            return out
        previous = _passive_content(resp.text) if resp.status_code == 200 else None
        if previous is None:
            out.turns.append(WechatTurn("form", out.follow_latency, False, False,
                                        f"follow: HTTP {resp.status_code} {resp.text[:40]!r}", status=resp.status_code))
            return out
        for turn_no, (kind, said, expect) in enumerate(conversation_script(rng, datetime.now(SHANGHAI))):
            pause = rng.uniform(*think) if turn_no and think[1] > 0 else 0.0
            if time.monotonic() + pause >= deadline:
                out.cut = True
                return out
            time.sleep(pause)
            if out.case_no is None and "{case_no}" in said:
                return out
            said = said.format(case_no=out.case_no)
            if said.startswith("/"):
                said = typed_choice(previous, said)
            expect = expect.format(case_no=out.case_no) if expect else None
            msg_id = wx.new_msg_id()
            xml = wechat_xml(out.openid, "text", f"<Content><![CDATA[{said}]]></Content><MsgId>{msg_id}</MsgId>")
            started = time.perf_counter()
            try:
                resp = wx.post(http, out.openid, xml, timeout)
                latency = time.perf_counter() - started
            except requests.RequestException as exc:
                out.turns.append(WechatTurn(kind, time.perf_counter() - started, False, False, exc.__class__.__name__))
                return out
            if resp.status_code != 200:
                out.turns.append(WechatTurn(kind, latency, False, False, f"HTTP {resp.status_code}",
                                            status=resp.status_code))
                return out
            turn = WechatTurn(kind, latency, True, True, status=200)
            if resp.text.strip() == "success":
                turn.reply = "push"
                turn.push_state, reply = wx.ledger.wait(msg_id, wx.push_wait)
                turn.push_s = time.perf_counter() - started
                if turn.push_state != "sent" or reply is None:
                    turn.ok = turn.expected = False
                    turn.error = f"push not sent within {wx.push_wait:g}s (state {turn.push_state})"
                    out.turns.append(turn)
                    return out
            else:
                turn.reply = "passive"
                reply = _passive_content(resp.text)
                if reply is None:
                    turn.ok = turn.expected = False
                    turn.error = f"unreadable answer {resp.text[:40]!r}"
                    out.turns.append(turn)
                    return out
            if reply.startswith("助手暂时无法回复"):  # web.wechat.BOT_DOWN: the web path's 503
                turn.ok = turn.expected = False
                turn.error = f"bot down ({turn.reply})"
                out.turns.append(turn)
                return out
            good = judge_reply(out, kind, reply, expect)
            turn.expected = good
            turn.error = None if good else f"unexpected reply to {said!r}"
            out.turns.append(turn)
            if not good:
                return out
            previous = reply
        out.completed = True
    return out


# ---------------------------------------------------------------- statistics and memory


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), in the input's unit."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


ROLES = [  # (role, test on argv)
    ("rasa", lambda a: any(x.endswith(("/rasa", "rasa_server.py")) or x == "rasa" for x in a[:2]) and "run" in a),
    ("actions", lambda a: "rasa_sdk" in a),
    ("web", lambda a: a[-2:] == ["-m", "web"] or any("web:create_app" in x or "web.wsgi" in x for x in a)),
    ("sandbox", lambda a: "sandbox" in a and "-m" in a),
    ("worker", lambda a: "disputes.worker" in a or any(x.endswith("huey_consumer") for x in a)),
]


def _proc_argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "PPid"):
                out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def stack_processes(roots: list[int] | None) -> dict[str, list[int]]:
    """Stack processes by role, found by command line: descendants of `roots` when we started the
    stack, otherwise every matching process whose working directory is this checkout."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    allowed: set[int] | None = None
    if roots is not None:
        parent = {p: _proc_status(p).get("PPid", 0) for p in pids}
        allowed = set(roots)
        grew = True
        while grew:
            new = {p for p, pp in parent.items() if pp in allowed and p not in allowed}
            allowed |= new
            grew = bool(new)
    found: dict[str, list[int]] = {}
    children: dict[int, int] = {}  # unmatched process → its parent (e.g. the action server's Sanic worker)
    for pid in pids:
        if allowed is not None and pid not in allowed:
            continue
        if allowed is None:
            try:
                if Path(os.readlink(f"/proc/{pid}/cwd")) != REPO:
                    continue
            except OSError:
                continue
        argv = _proc_argv(pid)
        if not argv or "bash" in Path(argv[0]).name:
            continue
        role = None if any("multiprocessing." in x for x in argv) else next(
            (r for r, test in ROLES if test(argv)), None)
        if role:
            found.setdefault(role, []).append(pid)
        else:
            children[pid] = _proc_status(pid).get("PPid", 0)
    # multiprocessing children (spawned workers, resource trackers, managers) and any other helper
    # a stack process started count with the nearest ancestor that has a role
    role_of = {pid: role for role, members in found.items() for pid in members}
    for pid in children:
        up, seen = children[pid], {pid}
        while up in children and up not in seen:
            seen.add(up)
            up = children[up]
        if up in role_of:
            found[role_of[up]].append(pid)
    return found


def memory(roots: list[int] | None) -> dict[str, dict[str, float]]:
    """MiB per role (summed over its processes): current RSS and peak RSS (VmHWM)."""
    result = {}
    for role, pids in sorted(stack_processes(roots).items()):
        st = [_proc_status(p) for p in pids]
        result[role] = {"pids": pids, "rss_mib": round(sum(s.get("VmRSS", 0) for s in st) / 1024, 1),
                        "peak_mib": round(sum(s.get("VmHWM", 0) for s in st) / 1024, 1)}
    return result


# ---------------------------------------------------------------- one level of load


def split_consumers(n: int, channel: str) -> tuple[int, int]:
    """(web, WeChat) consumers of a level of N: all on one channel, or half/half for `both`
    (the odd one, and so N = 1, on the web)."""
    if channel == "web":
        return n, 0
    if channel == "wechat":
        return 0, n
    return n - n // 2, n // 2


async def run_level(base_url: str, n: int, duration: float, max_conversations: int, timeout: float,
                    seed: int, think: tuple[float, float] = (0.0, 0.0), *, channel: str = "web",
                    wechat: WechatSetup | None = None) -> dict[str, Any]:
    """N consumers in parallel (blocking requests in a thread pool), bounded by time and count;
    returns {"web": summary or None, "wechat": summary or None}."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + duration
    started_count = 0
    n_web, n_wx = split_consumers(n, channel)
    outcomes: dict[str, list[Outcome]] = {"web": [], "wechat": []}
    t0 = time.perf_counter()

    async def consumer(pool: ThreadPoolExecutor, index: int) -> None:
        nonlocal started_count
        on_wechat = index >= n_web
        if think[1] > 0:  # consumers arrive spread over one pause, not all in the same instant
            await asyncio.sleep(random.Random(seed * 1_000 + index).uniform(0, think[1]))
        while time.monotonic() < deadline and started_count < max_conversations:
            started_count += 1  # single event-loop thread: no lock needed
            conv_seed = seed * 100_000 + started_count
            if on_wechat:
                outcome = await loop.run_in_executor(
                    pool, run_wechat_conversation, wechat, conv_seed, deadline, timeout, think)
            else:
                outcome = await loop.run_in_executor(
                    pool, run_conversation, base_url, conv_seed, deadline, timeout, think)
            outcomes["wechat" if on_wechat else "web"].append(outcome)
            if outcome.cut:  # its pause ran past the deadline: no new conversation (and no burst of
                break        # first turns without a pause) in the last seconds of the level

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="consumer") as pool:
        await asyncio.gather(*(consumer(pool, i) for i in range(n)))
    wall = time.perf_counter() - t0
    load = [round(x, 2) for x in os.getloadavg()]
    common = {"level_consumers": n, "think_s": list(think), "wall_s": round(wall, 2), "load_average": load}
    return {
        "web": web_summary(outcomes["web"], n_web, wall, common) if n_web else None,
        "wechat": wechat_summary(outcomes["wechat"], n_wx, wall, common) if n_wx else None,
    }


def _latency(xs_s: list[float]) -> dict[str, Any]:
    xs = [x * 1000 for x in xs_s]
    return {"n": len(xs), **{f"p{int(q * 100)}_ms": None if not xs else round(percentile(xs, q), 1)
                             for q in (0.5, 0.95, 0.99)}}


def _conversations(outcomes: list[Outcome], turns: list[Turn], wall: float) -> dict[str, Any]:
    return {
        "conversations_started": len(outcomes),
        "conversations_completed": sum(o.completed for o in outcomes),
        "cases_opened": sum(o.case_no is not None for o in outcomes),
        "turns": len(turns),
        "turns_per_s": round(sum(t.ok for t in turns) / wall, 2) if wall else None,
    }


def web_summary(outcomes: list[Outcome], n: int, wall: float, common: dict[str, Any]) -> dict[str, Any]:
    """The web consumers of a level (the keys every earlier load.json had, plus channel/level data)."""
    turns = [t for o in outcomes for t in o.turns]
    return {
        "channel": "web",
        "consumers": n,
        **common,
        **_conversations(outcomes, turns, wall),
        "retrieval": _latency([t.latency for t in turns if t.ok and t.kind == "retrieval"]),
        "other": _latency([t.latency for t in turns if t.ok and t.kind != "retrieval"]),
        "errors": sum(not t.ok for t in turns),
        "unexpected_replies": sum(t.ok and not t.expected for t in turns),
        "retrieval_answers_with_article": sum(o.cited for o in outcomes),
        "error_samples": sorted({t.error for t in turns if t.error})[:5],
    }


def wechat_summary(outcomes: list[WechatOutcome], n: int, wall: float, common: dict[str, Any]) -> dict[str, Any]:
    """The WeChat consumers of a level. `response`: what WeChat's server waits for (every answer
    of /wechat, passive XML or "success"); `retrieval`/`other`: when the consumer sees the reply
    (the passive answer, or the pushed message)."""
    turns: list[WechatTurn] = [t for o in outcomes for t in o.turns]
    answered = [t for t in turns if t.status is not None]
    pushed = [t for t in turns if t.reply == "push"]
    arrived = [t for t in pushed if t.push_state == "sent"]

    def seen(t: WechatTurn) -> float:
        return t.push_s if t.reply == "push" and t.push_s is not None else t.latency

    follows = [o.follow_latency for o in outcomes if o.follow_latency is not None]
    push_s = [t.push_s for t in arrived if t.push_s is not None]
    return {
        "channel": "wechat",
        "consumers": n,
        **common,
        **_conversations(outcomes, turns, wall),
        "response": {**_latency([t.latency for t in answered]),
                     "max_ms": round(max(t.latency for t in answered) * 1000, 1) if answered else None},
        "over_5s": sum(t.latency > WECHAT_LIMIT_S for t in turns) + sum(x > WECHAT_LIMIT_S for x in follows),
        "follow_events": len(follows),
        "follow_max_ms": round(max(follows) * 1000, 1) if follows else None,
        "passive": sum(t.reply == "passive" for t in turns),
        "pushed": len(pushed),
        "push_arrived": len(arrived),
        "push_lost": len(pushed) - len(arrived),
        "push_delay_s": {"n": len(push_s), **{k: None if not push_s else round(v, 2) for k, v in (
            ("p50", percentile(push_s, 0.5)), ("p95", percentile(push_s, 0.95)),
            ("max", max(push_s) if push_s else None))}},
        "retrieval": _latency([seen(t) for t in turns if t.ok and t.kind == "retrieval"]),
        "other": _latency([seen(t) for t in turns if t.ok and t.kind != "retrieval"]),
        "errors": sum(not t.ok for t in turns),
        "unexpected_replies": sum(t.ok and not t.expected for t in turns),
        "retrieval_answers_with_article": sum(o.cited for o in outcomes),
        "error_samples": sorted({t.error for t in turns if t.error})[:5],
        "openids": [o.openid for o in outcomes],
    }


def check_local_pushes(level: dict[str, Any], ledger: PushLedger, log: LocalPushLog | None,
                       settle: float) -> None:
    """Compare the customer-service messages the local WeChat client logged for this level's
    openids with what the database says was sent (deferred replies + case notifications).
    `unexplained` > 0 would be messages sent twice; a notification whose `wechat_outbound` row
    is still 'sending' was handed to the client but its bookkeeping did not finish."""
    openids = level.pop("openids")
    prefixes = {o[:6] for o in openids}
    for _attempt in range(3):  # a push in flight between the reads: look again
        time.sleep(settle)  # notifications are pushed WECHAT_PUSH_DELAY (1 s) after a turn
        before = len(log.messages(prefixes)) if log is not None else 0
        db = ledger.delivered(openids)
        level["customer_service_sent_db"] = db
        if log is None:
            return
        logged = len(log.messages(prefixes))
        level["customer_service_logged"] = logged
        level["local_log_matches_db"] = logged == db["replies"] + db["notifications"]
        level["customer_service_unexplained"] = (logged - db["replies"] - db["notifications"]
                                                 - db["notifications_still_sending"])
        if level["local_log_matches_db"] or logged == before:
            return


# ---------------------------------------------------------------- starting the stack


class Stack:
    """Action server, Rasa server, web tier (plus sandbox platform and worker unless disabled) on
    free loopback ports, with a throwaway SQLite case store, tracker store and queue: the same
    approach as tests/e2e/conftest.py, extended with the web tier. The WeChat endpoint gets a
    random token of this run and the local WeChat client (`WECHAT_MODE=local`: customer-service
    messages are recorded and logged, nothing leaves the machine)."""

    def __init__(self, with_worker: bool) -> None:
        if not MODEL_POINTER.exists() or not RASA_PYTHON.exists():
            raise SystemExit("no trained Rasa model or .venv-rasa: run `bash scripts/setup.sh` first")
        self.work = Path(tempfile.mkdtemp(prefix="odr-load-"))
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.with_worker = with_worker
        ports = {k: free_port() for k in ("actions", "rasa", "web", "sandbox")}
        self.base_url = f"http://127.0.0.1:{ports['web']}"
        self.ports = ports
        self.database_url = f"sqlite:///{self.work / 'cases.sqlite3'}"
        self.wechat_token = "odr-load-" + secrets.token_hex(12)
        self.wechat_logs = [self.work / "web.log", self.work / "worker.log"]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("w")
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def start(self) -> None:
        import yaml

        from disputes.config import DEFAULT_FILE

        p, w = self.ports, self.work
        platforms = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
        platforms["platforms"]["sandbox"]["url"] = f"http://127.0.0.1:{p['sandbox']}/settlements"
        (w / "platforms.yaml").write_text(yaml.safe_dump(platforms, allow_unicode=True), encoding="utf-8")
        env = {
            **os.environ,
            "ODR_DATABASE_URL": self.database_url,
            "ODR_QUEUE_FILE": str(w / "huey.sqlite3"),
            "ODR_QUEUE_URL": "",
            "ODR_PLATFORMS_FILE": str(w / "platforms.yaml"),
            "ODR_PLATFORM_API": f"{self.base_url}/api/platform/v1",
            "ODR_SECRET_KEY": "load-benchmark-secret",
            "ODR_UPLOAD_DIR": str(w / "uploads"),
            "ODR_RASA_URL": f"http://127.0.0.1:{p['rasa']}",
            "ODR_WEB_PORT": str(p["web"]),
            "ODR_RATELIMIT_ENABLED": "0",  # every simulated consumer comes from this one address
            "SANDBOX_PORT": str(p["sandbox"]),
            "SANIC_HOST": "127.0.0.1",
            "RASA_TELEMETRY_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            # not a demo: this run's own sandbox secret (the public demo one is refused outside ODR_DEMO=1)
            "ODR_SANDBOX_SECRET": secrets.token_hex(16),
            # WeChat: this run's token, the local client (never the real API), plaintext mode
            "WECHAT_TOKEN": self.wechat_token,
            "WECHAT_ENCODING_AES_KEY": "",  # a configured key would refuse the plaintext pushes
            "WECHAT_MODE": "local",
            "WECHAT_APP_SECRET": "",
            "WECHAT_TOKEN_REDIS_URL": "",
        }
        env.pop("ODR_CLOCK_AT", None)
        env.pop("ODR_PROFILE", None)
        (w / "endpoints.yml").write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{p["actions"]}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{w / "tracker.sqlite3"}"\n'
        )
        py = sys.executable
        actions = self._spawn("actions", [py, "-m", "rasa_sdk", "--actions", "actions", "--port",
                                          str(p["actions"])], env)
        rasa = self._spawn("rasa", [str(RASA_PYTHON), str(RASA_SERVER), "run", "--model", MODEL_POINTER.read_text().strip(),
                                    "--interface", "127.0.0.1", "--port", str(p["rasa"]),
                                    "--endpoints", str(w / "endpoints.yml"),
                                    "--credentials", str(REPO / "bot" / "credentials.yml")], env)
        web = self._spawn("web", [py, "-m", "web"], env)
        if self.with_worker:
            self._spawn("sandbox", [py, "-m", "sandbox"], env)
            self._spawn("worker", [py, "-m", "disputes.worker", "--workers", "2"], env)
        wait_http(f"{self.base_url}/healthz", web, w / "web.log", 120)
        wait_http(f"http://127.0.0.1:{p['actions']}/health", actions, w / "actions.log", 180)
        wait_http(f"http://127.0.0.1:{p['rasa']}/", rasa, w / "rasa.log", 300)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for _, proc in self.procs]

    def stop(self, keep_logs: Path | None) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in [*self.work.glob("*.log"), *self.work.glob("cases.sqlite3*")]:
                shutil.copy(log, keep_logs / log.name)
        shutil.rmtree(self.work, ignore_errors=True)


class ScaledProfile:
    """The scaled-out profile (`make run-scaled`), started exactly as the test suite starts it:
    `tests.e2e.scaled.ScaledStack` runs Procfile.scaled with scaled.env on free loopback ports,
    i.e. two Rasa servers (trackers in a throwaway PostgreSQL database, locks in Redis under a
    unique key prefix), one action server each, the web tier under gunicorn (2 workers) spreading
    conversations over both Rasa servers, cases in another throwaway PostgreSQL database, the task
    queue on Redis, the sandbox platform and the worker. At the end it stops everything, drops
    both databases, flushes the queue and deletes its locks (and, as in the test suite, copies the
    logs to test-artifacts/scaled/).

    ScaledStack gives the web tier a random WeChat token of its own and no WeChat client mode, so
    this profile runs web consumers only."""

    wechat_token = None

    def __init__(self, postgres_url: str, redis_url: str) -> None:
        if not MODEL_POINTER.exists() or not RASA_PYTHON.exists():
            raise SystemExit("no trained Rasa model or .venv-rasa: run `bash scripts/setup.sh` first")
        from tests.e2e.scaled import WEB_WORKERS, ScaledStack

        self.work = Path(tempfile.mkdtemp(prefix="odr-load-scaled-"))
        try:
            self.stack = ScaledStack(self.work, postgres_url, redis_url)
        except BaseException:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        self.base_url = self.stack.base_url
        self.info = {"rasa_servers": self.stack.rasa_urls, "web_workers": WEB_WORKERS,
                     "postgres": _redacted_url(postgres_url), "redis": _redacted_url(redis_url)}

    def start(self) -> None:
        try:
            self.stack.start()
        except subprocess.CalledProcessError as exc:  # scripts/create_databases.py
            err = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
            raise SystemExit(f"cannot create the throwaway PostgreSQL databases at "
                             f"{self.info['postgres']}: {err[-1] if err else exc}") from None

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.stack.processes.values() if p.proc is not None]

    def sessions_per_rasa(self, n: int) -> list[requests.Session]:
        """n cookie sessions, round-robin over the Rasa servers the web tier sends them to first
        (so the warm-up reaches every Rasa server and its action server)."""
        return [self.stack.browser_on(i % len(self.stack.rasa_urls)).http for i in range(n)]

    def stop(self, keep_logs: Path | None) -> None:
        self.stack.close()
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in self.work.glob("*.log"):
                shutil.copy(log, keep_logs / log.name)
        shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------- report


def _f(x: Any) -> str:
    return "—" if x is None else str(x)


def _n(lv: dict[str, Any]) -> str:
    level = lv.get("level_consumers", lv["consumers"])
    return str(level) if level == lv["consumers"] else f"{lv['consumers']} of {level}"


def _think(lv: dict[str, Any]) -> str:
    return "–".join(f"{x:g}" for x in lv.get("think_s", (0, 0)))


def _pcts(stats: dict[str, Any], keys: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms")) -> str:
    return " / ".join(_f(stats[k]) for k in keys)


def table(levels: list[dict[str, Any]]) -> str:
    """Web consumers."""
    head = ("| N | think s | turns | turns/s | retrieval p50/p95/p99 ms | other p50/p95/p99 ms | errors | unexpected "
            "| cases | wall s |")
    rows = [head, "|" + "---|" * 10]
    for lv in levels:
        r, o = lv["retrieval"], lv["other"]
        rows.append(
            f"| {_n(lv)} | {_think(lv)} | {lv['turns']} | {lv['turns_per_s']} "
            f"| {_pcts(r)} (n={r['n']}) "
            f"| {_pcts(o)} (n={o['n']}) "
            f"| {lv['errors']} | {lv['unexpected_replies']} | {lv['cases_opened']} | {lv['wall_s']} |"
        )
    return "\n".join(rows)


def wechat_table(levels: list[dict[str, Any]]) -> str:
    """WeChat consumers: the answer WeChat's server waits for, and where the replies went."""
    head = ("| N | think s | turns | turns/s | response p50/p95/p99/max ms | >5 s | passive | pushed | lost "
            "| push delay p50/p95/max s | errors | unexpected | cases | wall s |")
    rows = [head, "|" + "---|" * 14]
    for lv in levels:
        r, d = lv["response"], lv["push_delay_s"]
        rows.append(
            f"| {_n(lv)} | {_think(lv)} | {lv['turns']} | {lv['turns_per_s']} "
            f"| {_pcts(r, ('p50_ms', 'p95_ms', 'p99_ms', 'max_ms'))} (n={r['n']}) "
            f"| {lv['over_5s']} | {lv['passive']} | {lv['pushed']} | {lv['push_lost']} "
            f"| {_pcts(d, ('p50', 'p95', 'max'))} "
            f"| {lv['errors']} | {lv['unexpected_replies']} | {lv['cases_opened']} | {lv['wall_s']} |"
        )
    return "\n".join(rows)


def wechat_notes(levels: list[dict[str, Any]]) -> str:
    """Per level: when the consumers saw their replies, and the local client's record vs the database."""
    lines = []
    for lv in levels:
        r, o, db = lv["retrieval"], lv["other"], lv.get("customer_service_sent_db")
        line = (f"N={lv['level_consumers']}: reply seen by the consumer, retrieval p50/p95 "
                f"{_f(r['p50_ms'])} / {_f(r['p95_ms'])} ms (n={r['n']}), other {_f(o['p50_ms'])} / "
                f"{_f(o['p95_ms'])} ms (n={o['n']}); follow events {lv['follow_events']} (max {_f(lv['follow_max_ms'])} ms)")
        if db is not None:
            line += (f"; customer-service messages sent (database): {db['replies']} replies + "
                     f"{db['notifications']} notifications")
        if "customer_service_logged" in lv:
            line += f", logged by the local client: {lv['customer_service_logged']}"
            if not lv["local_log_matches_db"]:
                line += (f" (MISMATCH: {db['notifications_still_sending']} logged but their wechat_outbound row "
                         f"is still 'sending'; unexplained {lv['customer_service_unexplained']})")
        if lv["error_samples"]:
            line += f"; errors/unexpected: {lv['error_samples']}"
        lines.append("- " + line)
    return "\n".join(lines)


def memory_table(mem: dict[str, Any]) -> str:
    """One row per role, summed over its processes (their number in brackets, e.g. `rasa (2)`
    for two Rasa servers, `web (3)` for a gunicorn master and two workers)."""
    roles = sorted({r for snap in mem.values() for r in snap})
    rows = ["| process | " + " | ".join(mem) + " |", "|---|" + "---|" * len(mem)]
    for role in roles:
        cells = []
        for snap in mem.values():
            m = snap.get(role)
            cells.append("—" if m is None else f"{m['rss_mib']} (peak {m['peak_mib']})")
        count = max(len(snap[role]["pids"]) for snap in mem.values() if role in snap)
        rows.append(f"| {role} ({count}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _redacted_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]+@", r"//\1:***@", url)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument("--channel", choices=("web", "wechat", "both"), default=None,
                    help="consumers on the web chat, on the WeChat endpoint, or half/half (default; "
                         "with --profile scaled only `web` is supported, and the default)")
    ap.add_argument("--concurrency", default="1,10,20,50", help="comma-separated consumer counts")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per level (hard cap)")
    ap.add_argument("--conversations", type=int, default=200, help="conversations per level (cap)")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    ap.add_argument("--warmup", type=int, default=None,
                    help="sequential warm-up conversations per channel (default 1; with --profile scaled "
                         "2, one per Rasa server)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--think", default="2,6",
                    help="seconds a consumer pauses between turns, uniform MIN,MAX (0,0: closed loop)")
    ap.add_argument("--start-stack", action="store_true", help="start the stack on free loopback ports")
    ap.add_argument("--profile", choices=("embedded", "scaled"), default="embedded",
                    help="with --start-stack: `embedded` (default: one Rasa server, one action server, "
                         "SQLite) or `scaled` (Procfile.scaled as tests/e2e/scaled.py starts it: two Rasa "
                         "servers with PostgreSQL trackers and Redis locks, two action servers, gunicorn, "
                         "cases in PostgreSQL, queue on Redis; web consumers only, as it sets no WeChat token)")
    ap.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432",
                    help="with --profile scaled: PostgreSQL server where throwaway case and tracker "
                         "databases are created and dropped (default %(default)s)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                    help="with --profile scaled: Redis for the task queue and rate limits (its `odr` queue "
                         "is flushed at start and end: not the database of a running stack) and, in "
                         "database 1, the Rasa locks under a unique prefix (default %(default)s)")
    ap.add_argument("--no-worker", action="store_true", help="with --start-stack: no sandbox platform/worker")
    ap.add_argument("--keep-logs", action="store_true",
                    help="with --start-stack: keep the stack's logs in .cache/benchmarks/load-logs/ "
                         "(they are kept anyway when the run fails)")
    ap.add_argument("--wechat-token", default=os.environ.get("WECHAT_TOKEN", ""),
                    help="without --start-stack: the stack's WECHAT_TOKEN (default: env WECHAT_TOKEN, "
                         "else the demo token)")
    ap.add_argument("--database-url", default="",
                    help="without --start-stack: the stack's case database, where /wechat records how each "
                         "MsgId was answered (default: env ODR_DATABASE_URL, else var/odr.sqlite3)")
    ap.add_argument("--wechat-log", type=Path, action="append", default=[],
                    help="without --start-stack: a log of a process running the local WeChat client (web "
                         "tier, worker), to cross-check its customer-service messages; repeatable")
    ap.add_argument("--push-wait", type=float, default=60.0,
                    help="seconds a WeChat consumer waits for a reply pushed after 'success'")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    levels_n = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if any(n < 1 for n in levels_n):
        ap.error("--concurrency values must be positive")
    try:
        think = tuple(float(x) for x in args.think.split(","))
        if len(think) != 2 or not 0 <= think[0] <= think[1]:
            raise ValueError
    except ValueError:
        ap.error("--think takes MIN,MAX seconds with 0 <= MIN <= MAX, e.g. 2,6 or 0,0")
    scaled = args.profile == "scaled"
    if scaled and not args.start_stack:
        ap.error("--profile scaled needs --start-stack (for a running `make run-scaled`, use --base-url)")
    if scaled and args.no_worker:
        ap.error("--no-worker is not supported with --profile scaled")
    if scaled and args.channel not in (None, "web"):
        ap.error("--profile scaled supports --channel web only (tests/e2e/scaled.py sets no WeChat token)")
    args.channel = args.channel or ("web" if scaled else "both")
    if args.warmup is None:
        args.warmup = 2 if scaled else 1
    on_web = args.channel in ("web", "both")
    on_wechat = args.channel in ("wechat", "both")

    sys.path.insert(0, str(REPO))
    stack: Stack | ScaledProfile | None = None
    if args.start_stack:
        stack = ScaledProfile(args.postgres_url, args.redis_url) if scaled else Stack(not args.no_worker)
    failed = False
    try:
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        if stack is not None:
            t = time.perf_counter()
            print(f"starting the stack in {stack.work} ...", file=sys.stderr)
            stack.start()
            print(f"stack up in {time.perf_counter() - t:.1f}s at {stack.base_url}", file=sys.stderr)
            base_url = stack.base_url
        else:
            base_url = args.base_url.rstrip("/")
        roots = stack.pids if stack else None

        wx: WechatSetup | None = None
        push_log: LocalPushLog | None = None
        wechat_info: dict[str, Any] = {}
        if on_wechat:
            from disputes.db import database_url
            from web.wechat_client import DEMO_TOKEN

            if stack is not None:
                token, db_url, logs = stack.wechat_token, stack.database_url, stack.wechat_logs
                token_source = "this run's stack"
            else:
                token = args.wechat_token or DEMO_TOKEN
                token_source = "--wechat-token / WECHAT_TOKEN" if args.wechat_token else "demo token"
                db_url, logs = args.database_url or database_url(), args.wechat_log
            ledger = PushLedger(db_url)
            try:
                ledger.check()
            except Exception as exc:
                raise SystemExit(f"cannot read the WeChat records in {_redacted_url(db_url)} ({exc.__class__.__name__}): "
                                 "pass the stack's case database with --database-url") from None
            wx = WechatSetup(base_url, token, ledger, args.push_wait)
            push_log = LocalPushLog(logs) if logs else None
            wechat_info = {"token": token_source, "database": _redacted_url(db_url),
                           "local_client_logs": [str(p) for p in logs], "push_wait_s": args.push_wait,
                           "limit_s": WECHAT_LIMIT_S}

        sessions = (stack.sessions_per_rasa(args.warmup) if isinstance(stack, ScaledProfile) and on_web
                    else [None] * args.warmup)
        warm = [run_conversation(base_url, args.seed * 7919 + i, time.monotonic() + 300, args.timeout,
                                 session=sessions[i]) for i in range(args.warmup)] if on_web else []
        for http in sessions:
            if http is not None:
                http.close()
        warm_wx = [run_wechat_conversation(wx, args.seed * 7919 + i, time.monotonic() + 300, args.timeout)
                   for i in range(args.warmup)] if wx is not None else []
        for name, runs in (("web", warm), ("WeChat", warm_wx)):
            if runs and not all(o.completed for o in runs):
                bad = [t.error for o in runs for t in o.turns if t.error]
                print(f"warning: the {name} warm-up conversation did not complete: {bad}", file=sys.stderr)
        mem: dict[str, Any] = {"after_warmup": memory(roots)}
        levels: list[dict[str, Any]] = []
        wechat_levels: list[dict[str, Any]] = []
        for i, n in enumerate(levels_n):
            n_web, n_wx = split_consumers(n, args.channel)
            print(f"level N={n} ({n_web} web, {n_wx} WeChat): up to {args.duration:.0f}s / "
                  f"{args.conversations} conversations ...", file=sys.stderr)
            if push_log is not None:
                push_log.mark()
            lv = asyncio.run(run_level(base_url, n, args.duration, args.conversations, args.timeout,
                                       args.seed + i, think, channel=args.channel, wechat=wx))
            if lv["web"] is not None:
                levels.append(lv["web"])
                print("web:    " + table([lv["web"]]).splitlines()[-1], file=sys.stderr)
            if lv["wechat"] is not None:
                check_local_pushes(lv["wechat"], wx.ledger, push_log, settle=3.0)
                wechat_levels.append(lv["wechat"])
                print("WeChat: " + wechat_table([lv["wechat"]]).splitlines()[-1], file=sys.stderr)
            mem[f"after_N={n}"] = memory(roots)
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        settings["wechat_log"] = [str(p) for p in args.wechat_log]
        settings["wechat_token"] = "***" if args.wechat_token else ""
        settings["database_url"] = _redacted_url(args.database_url)
        report = {
            "generated_at": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
            "base_url": base_url,
            "started_stack": bool(stack),
            "profile": args.profile if stack else None,
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": list(os.getloadavg()),
            "settings": settings,
            "warmup": [asdict(o) for o in warm],
            "levels": levels,
            "memory_mib": mem,
        }
        if isinstance(stack, ScaledProfile):
            report["scaled"] = stack.info
        if on_wechat:
            report["wechat"] = wechat_info
            report["warmup_wechat"] = [asdict(o) for o in warm_wx]
            report["wechat_levels"] = wechat_levels
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        if levels:
            if on_wechat:
                print("web consumers:")
            print(table(levels))
            print()
        if wechat_levels:
            print(f"WeChat consumers (response = what WeChat's server waits for; limit {WECHAT_LIMIT_S:g} s):")
            print(wechat_table(wechat_levels))
            print(wechat_notes(wechat_levels))
            print()
        print("resident memory, MiB (VmRSS, peak VmHWM):")
        print(memory_table(mem))
        print(f"\nload average (1/5/15 min): {load_at_start} at start, "
              f"{[round(x, 2) for x in os.getloadavg()]} at the end; {os.cpu_count()} CPUs")
        print(f"JSON: {args.out}")
    except BaseException:
        failed = True
        raise
    finally:
        if stack is not None:
            stack.stop(keep_logs=REPO / ".cache" / "benchmarks" / "load-logs" if failed or args.keep_logs else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
