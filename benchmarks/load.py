"""Load benchmark: N concurrent simulated consumers talking to the full stack through the web tier.

    .venv/bin/python benchmarks/load.py --start-stack                   # own stack on free ports
    .venv/bin/python benchmarks/load.py --base-url http://127.0.0.1:8000  # a running `make run`
    .venv/bin/python benchmarks/load.py --start-stack --concurrency 1,10 --duration 45

Each consumer is a cookie session on `POST /api/chat/messages`. One conversation = a lay legal
question (answered by retrieval), the complaint form for 沙盒商城 through to the case number, and
a status check of that case. Every level runs for at most `--duration` seconds and at most
`--conversations` conversations, so the run always stops by itself. Per level: turns/s, p50/p95/
p99 latency of retrieval turns vs other turns, transport/HTTP errors, unexpected replies, and the
resident memory of each stack process (VmRSS after warm-up, VmRSS and peak VmHWM after the level).
The table goes to stdout and the figures to .cache/benchmarks/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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

# Lay questions written for this benchmark (not taken from any evaluation set).
LEGAL_QUESTIONS = [
    "网上买的外套拆了吊牌还能七天无理由退吗",
    "网店老板跑路了，平台要不要先赔我钱",
    "买到假货能要求退一赔三吗",
    "店家说特价商品一律不退不换，这样合法吗",
    "快递签收以后才发现东西是坏的，该找谁",
    "买的零食过期了能要十倍赔偿吗",
    "直播间买的东西跟主播说的不一样怎么办",
    "无理由退货寄回去的运费谁来出",
    "定做的衣服可以七天无理由退货吗",
    "付款一个星期了商家还不发货，可以投诉吗",
    "网上买的手机用了二十天就坏了，能要求换新的吗",
    "平台不肯告诉我卖家的真实地址，我怎么维权",
]
SHOPS = ["沙盒数码旗舰店", "沙盒家居专营店", "沙盒服饰小铺", "沙盒母婴优选店", "沙盒运动户外店"]
PRODUCTS = [("蓝牙耳机", 199), ("电热水壶", 89), ("羽绒服", 459), ("婴儿推车", 899), ("登山鞋", 329)]
PROBLEMS = [  # problem types of actions/problems.yml, as the form's quick replies offer them
    ("拒绝七天无理由", "签收第二天申请退货，商家说拆了包装就不给退"),
    ("质量问题", "用了两天就开不了机，联系客服一直不回"),
    ("与描述不符", "页面写的是纯棉，收到的是化纤的，吊牌还在"),
]
REMEDIES = ["退货退款", "退款", "换货"]


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


def _texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def conversation_script(rng: random.Random, today: datetime) -> list[tuple[str, str, str | None]]:
    """(kind, what the consumer says, a fragment the bot's reply should contain)."""
    shop = rng.choice(SHOPS)
    product, price = rng.choice(PRODUCTS)
    problem, description = rng.choice(PROBLEMS)
    ordered = today - timedelta(days=rng.randint(4, 6))
    signed = today - timedelta(days=rng.randint(1, 3))
    phone = f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    return [
        ("retrieval", rng.choice(LEGAL_QUESTIONS), None),
        ("form", "我要投诉", "平台"),
        ("form", "沙盒商城", "店铺"),
        ("form", shop, "订单号"),
        ("form", str(rng.randint(10**15, 10**16 - 1)), "商品"),
        ("form", product, "多少钱"),
        ("form", f"{price}元", "下的单"),
        ("form", f"{ordered.year}年{ordered.month}月{ordered.day}日", "签收"),
        ("form", f"{signed.year}年{signed.month}月{signed.day}日", "问题"),
        ("form", problem, "发生了什么"),
        ("form", description, "解决"),
        ("form", rng.choice(REMEDIES), "手机号"),
        ("form", phone, "同意"),
        ("form", "/affirm", "现在提交吗"),
        ("form", "/affirm", "案件编号"),
        ("status", "查一下{case_no}", "{case_no}"),
    ]


def run_conversation(base_url: str, seed: int, deadline: float, timeout: float,
                     think: tuple[float, float] = (0.0, 0.0)) -> Outcome:
    """One consumer, one cookie session, one conversation; stops at a turn boundary after the deadline.

    Between turns the consumer reads the reply and types the next message: a pause drawn
    uniformly from `think` seconds (0, 0 = closed loop, the next message as soon as the reply
    arrives).
    """
    rng = random.Random(seed)
    out = Outcome()
    with requests.Session() as http:
        try:
            http.get(f"{base_url}/", timeout=timeout).raise_for_status()  # the chat page sets the cookie
        except requests.RequestException as exc:
            out.turns.append(Turn("form", 0.0, False, False, f"page: {exc.__class__.__name__}"))
            return out
        for turn_no, (kind, said, expect) in enumerate(conversation_script(rng, datetime.now(SHANGHAI))):
            pause = rng.uniform(*think) if turn_no and think[1] > 0 else 0.0
            if time.monotonic() + pause >= deadline:
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
            if kind == "retrieval":
                out.cited = bool(re.search(r"第[一二三四五六七八九十百零\d]+条", reply))
                good = bool(reply.strip())
            else:
                good = expect is None or expect in reply
            if expect == "案件编号":
                m = CASE_NO.search(reply)
                out.case_no = m.group(0) if m else None
                good = good and out.case_no is not None
            out.turns.append(Turn(kind, latency, True, good, None if good else f"unexpected reply to {said!r}"))
            if not good:
                return out  # the conversation went off script: a real consumer would start over
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
    spawned: list[int] = []  # multiprocessing children (the action server's Sanic worker)
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
        if any("multiprocessing.spawn" in x for x in argv):
            spawned.append(pid)
            continue
        for role, test in ROLES:
            if test(argv):
                found.setdefault(role, []).append(pid)
                break
    role_of = {pid: role for role, members in found.items() for pid in members}
    for pid in spawned:  # counted with the process that started it
        role = role_of.get(_proc_status(pid).get("PPid", 0))
        if role:
            found[role].append(pid)
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


async def run_level(base_url: str, n: int, duration: float, max_conversations: int, timeout: float,
                    seed: int, think: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    """N consumers in parallel (blocking requests in a thread pool), bounded by time and count."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + duration
    started_count = 0
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()

    async def consumer(pool: ThreadPoolExecutor, index: int) -> None:
        nonlocal started_count
        if think[1] > 0:  # consumers arrive spread over one pause, not all in the same instant
            await asyncio.sleep(random.Random(seed * 1_000 + index).uniform(0, think[1]))
        while time.monotonic() < deadline and started_count < max_conversations:
            started_count += 1  # single event-loop thread: no lock needed
            conv_seed = seed * 100_000 + started_count
            outcomes.append(await loop.run_in_executor(pool, run_conversation, base_url, conv_seed, deadline,
                                                       timeout, think))

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="consumer") as pool:
        await asyncio.gather(*(consumer(pool, i) for i in range(n)))
    wall = time.perf_counter() - t0
    turns = [t for o in outcomes for t in o.turns]

    def lat(kind_test) -> dict[str, Any]:
        xs = [t.latency * 1000 for t in turns if t.ok and kind_test(t.kind)]
        return {"n": len(xs), **{f"p{int(q * 100)}_ms": None if not xs else round(percentile(xs, q), 1)
                                 for q in (0.5, 0.95, 0.99)}}

    return {
        "consumers": n,
        "think_s": list(think),
        "wall_s": round(wall, 2),
        "conversations_started": len(outcomes),
        "conversations_completed": sum(o.completed for o in outcomes),
        "cases_opened": sum(o.case_no is not None for o in outcomes),
        "turns": len(turns),
        "turns_per_s": round(sum(t.ok for t in turns) / wall, 2) if wall else None,
        "retrieval": lat(lambda k: k == "retrieval"),
        "other": lat(lambda k: k != "retrieval"),
        "errors": sum(not t.ok for t in turns),
        "unexpected_replies": sum(t.ok and not t.expected for t in turns),
        "retrieval_answers_with_article": sum(o.cited for o in outcomes),
        "error_samples": sorted({t.error for t in turns if t.error})[:5],
    }


# ---------------------------------------------------------------- starting the stack


class Stack:
    """Action server, Rasa server, web tier (plus sandbox platform and worker unless disabled) on
    free loopback ports, with a throwaway SQLite case store, tracker store and queue: the same
    approach as tests/e2e/conftest.py, extended with the web tier."""

    def __init__(self, with_worker: bool) -> None:
        if not MODEL_POINTER.exists() or not RASA_PYTHON.exists():
            raise SystemExit("no trained Rasa model or .venv-rasa: run `bash scripts/setup.sh` first")
        self.work = Path(tempfile.mkdtemp(prefix="odr-load-"))
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.with_worker = with_worker
        ports = {k: free_port() for k in ("actions", "rasa", "web", "sandbox")}
        self.base_url = f"http://127.0.0.1:{ports['web']}"
        self.ports = ports

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
            "ODR_DATABASE_URL": f"sqlite:///{w / 'cases.sqlite3'}",
            "ODR_QUEUE_FILE": str(w / "huey.sqlite3"),
            "ODR_QUEUE_URL": "",
            "ODR_PLATFORMS_FILE": str(w / "platforms.yaml"),
            "ODR_PLATFORM_API": f"{self.base_url}/api/platform/v1",
            "ODR_SECRET_KEY": "load-benchmark-secret",
            "ODR_UPLOAD_DIR": str(w / "uploads"),
            "ODR_RASA_URL": f"http://127.0.0.1:{p['rasa']}",
            "ODR_WEB_PORT": str(p["web"]),
            "SANDBOX_PORT": str(p["sandbox"]),
            "SANIC_HOST": "127.0.0.1",
            "RASA_TELEMETRY_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
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
            for log in self.work.glob("*.log"):
                shutil.copy(log, keep_logs / log.name)
        shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------- report


def table(levels: list[dict[str, Any]]) -> str:
    def f(x: Any) -> str:
        return "—" if x is None else str(x)

    head = ("| N | think s | turns | turns/s | retrieval p50/p95/p99 ms | other p50/p95/p99 ms | errors | unexpected "
            "| cases | wall s |")
    rows = [head, "|" + "---|" * 10]
    for lv in levels:
        r, o = lv["retrieval"], lv["other"]
        rows.append(
            f"| {lv['consumers']} | {'–'.join(f'{x:g}' for x in lv.get('think_s', (0, 0)))} "
            f"| {lv['turns']} | {lv['turns_per_s']} "
            f"| {f(r['p50_ms'])} / {f(r['p95_ms'])} / {f(r['p99_ms'])} (n={r['n']}) "
            f"| {f(o['p50_ms'])} / {f(o['p95_ms'])} / {f(o['p99_ms'])} (n={o['n']}) "
            f"| {lv['errors']} | {lv['unexpected_replies']} | {lv['cases_opened']} | {lv['wall_s']} |"
        )
    return "\n".join(rows)


def memory_table(mem: dict[str, Any]) -> str:
    roles = sorted({r for snap in mem.values() for r in snap})
    rows = ["| process | " + " | ".join(mem) + " |", "|---|" + "---|" * len(mem)]
    for role in roles:
        cells = []
        for snap in mem.values():
            m = snap.get(role)
            cells.append("—" if m is None else f"{m['rss_mib']} (peak {m['peak_mib']})")
        rows.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument("--concurrency", default="1,10,20,50", help="comma-separated consumer counts")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per level (hard cap)")
    ap.add_argument("--conversations", type=int, default=200, help="conversations per level (cap)")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    ap.add_argument("--warmup", type=int, default=1, help="sequential warm-up conversations")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--think", default="2,6",
                    help="seconds a consumer pauses between turns, uniform MIN,MAX (0,0: closed loop)")
    ap.add_argument("--start-stack", action="store_true", help="start the stack on free loopback ports")
    ap.add_argument("--no-worker", action="store_true", help="with --start-stack: no sandbox platform/worker")
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

    sys.path.insert(0, str(REPO))
    stack = Stack(with_worker=not args.no_worker) if args.start_stack else None
    failed = False
    try:
        if stack is not None:
            t = time.perf_counter()
            print(f"starting the stack in {stack.work} ...", file=sys.stderr)
            stack.start()
            print(f"stack up in {time.perf_counter() - t:.1f}s at {stack.base_url}", file=sys.stderr)
            base_url = stack.base_url
        else:
            base_url = args.base_url.rstrip("/")
        roots = stack.pids if stack else None

        warm = [run_conversation(base_url, args.seed * 7919 + i, time.monotonic() + 300, args.timeout)
                for i in range(args.warmup)]
        if args.warmup and not all(o.completed for o in warm):
            bad = [t.error for o in warm for t in o.turns if t.error]
            print(f"warning: the warm-up conversation did not complete: {bad}", file=sys.stderr)
        mem: dict[str, Any] = {"after_warmup": memory(roots)}
        levels = []
        for i, n in enumerate(levels_n):
            print(f"level N={n}: up to {args.duration:.0f}s / {args.conversations} conversations ...",
                  file=sys.stderr)
            lv = asyncio.run(run_level(base_url, n, args.duration, args.conversations, args.timeout,
                                       args.seed + i, think))
            levels.append(lv)
            mem[f"after_N={n}"] = memory(roots)
            print(table([lv]).splitlines()[-1], file=sys.stderr)
        report = {
            "generated_at": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
            "base_url": base_url,
            "started_stack": bool(stack),
            "cpus": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "warmup": [asdict(o) for o in warm],
            "levels": levels,
            "memory_mib": mem,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        print(table(levels))
        print()
        print("resident memory, MiB (VmRSS, peak VmHWM):")
        print(memory_table(mem))
        print(f"\nJSON: {args.out}")
    except BaseException:
        failed = True
        raise
    finally:
        if stack is not None:
            stack.stop(keep_logs=REPO / ".cache" / "benchmarks" / "load-logs" if failed else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
