"""Public statistics (`/stats`): anonymised counts of cases by platform, issue type, outcome and
month, the median time to settlement and the share escalated, as server-rendered SVG charts and
CSV.

Only categorical fields from fixed vocabularies are used (platform names from platforms.yaml,
issue types from the complaint form's list, states), never free text, names, phones or case
numbers. Cells below a threshold (default 3) are shown as "<3"; when a dimension has exactly
one such cell, the next smallest is suppressed too, so the hidden count cannot be recovered by
subtracting from the total.
"""

from __future__ import annotations

import csv
import io
import statistics
import threading
from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import select

from disputes.clock import SystemClock, format_local, local
from disputes.db import session_factory
from disputes.models import Case, CaseEvent, Platform
from disputes.states import State
from web.caching import cache_get, cache_set
from web.forms import register_error_pages

bp = Blueprint("stats", __name__, url_prefix="/stats")
register_error_pages(bp)

OTHER_ISSUE = "其他"
OTHER_PLATFORM = "其他平台"
OUTCOMES = ["已和解", "已转12315", "结案（未和解）", "处理中"]
DIMENSIONS = [("platform", "平台"), ("issue", "问题类型"), ("outcome", "结果"), ("month", "月份")]
DEFAULT_MIN_COUNT = 3
DEFAULT_CACHE_SECONDS = 300
_compute_lock = threading.Lock()  # one full scan at a time per process when the cached figures expire


@lru_cache(maxsize=1)
def issue_types() -> list[str]:
    """The issue types a case can have (knowledge/intake/problems.yaml; free text never leaves the case)."""
    from knowledge.intake.summary import problem_types

    names = [str(p["name"]) for p in problem_types()]
    if OTHER_ISSUE not in names:
        names.append(OTHER_ISSUE)
    return names


def issue_type(problem: Any) -> str:
    """A known issue type, else 其他 (so a consumer's own words never reach the statistics)."""
    return problem if isinstance(problem, str) and problem in issue_types() else OTHER_ISSUE


def _outcome(states_reached: set[str], state: str) -> str:
    if State.SETTLED in states_reached or state == State.SETTLED:
        return "已和解"
    if State.ESCALATED_REGULATOR in states_reached or state == State.ESCALATED_REGULATOR:
        return "已转12315"
    if state == State.CLOSED:
        return "结案（未和解）"
    return "处理中"


def collect(db, *, min_count: int = DEFAULT_MIN_COUNT) -> dict[str, Any]:
    """All figures of the page, already suppressed."""
    reached: dict[int, set[str]] = {}
    settled_at: dict[int, datetime] = {}
    for case_id, at, payload in db.execute(
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.payload)
        .where(CaseEvent.type == "state_changed", CaseEvent.case_id.is_not(None)).order_by(CaseEvent.id)
    ):
        to = (payload or {}).get("to")
        if not to:
            continue
        reached.setdefault(case_id, set()).add(to)
        if to == State.SETTLED and case_id not in settled_at:
            settled_at[case_id] = at
    counts: dict[str, Counter] = {key: Counter() for key, _ in DIMENSIONS}
    hours_to_settle: list[float] = []
    escalated = 0
    total = 0
    rows = db.execute(
        select(Case.id, Case.state, Case.facts, Case.created_at, Case.submitted_at, Platform.key, Platform.name)
        .outerjoin(Platform, Platform.id == Case.platform_id)
        .where(Case.state != State.DRAFT)
    )
    for case_id, state, facts, created_at, submitted_at, pkey, pname in rows:
        total += 1
        states = reached.get(case_id, set())
        counts["platform"][pname if pkey and pkey != "unlisted" and pname else OTHER_PLATFORM] += 1
        counts["issue"][issue_type((facts or {}).get("problem"))] += 1
        counts["outcome"][_outcome(states, state)] += 1
        counts["month"][local(created_at).strftime("%Y-%m")] += 1
        if states & {State.ESCALATED_DESK, State.ESCALATED_REGULATOR}:
            escalated += 1
        if case_id in settled_at and submitted_at is not None:
            hours_to_settle.append((settled_at[case_id] - submitted_at).total_seconds() / 3600)
    order = {
        "platform": lambda c: sorted(c, key=lambda k: (-c[k], k)),
        "issue": lambda c: [k for k in issue_types() if k in c],
        "outcome": lambda c: [k for k in OUTCOMES if k in c],
        "month": lambda c: sorted(c),
    }
    tables = {}
    for key, title in DIMENSIONS:
        c = counts[key]
        tables[key] = {"title": title, "rows": suppress([(k, c[k]) for k in order[key](c)], min_count)}
    enough = total >= min_count
    median_days = None
    if len(hours_to_settle) >= min_count:
        median_days = round(statistics.median(hours_to_settle) / 24, 1)
    share = None
    if enough and (escalated == 0 or escalated >= min_count):
        share = round(100 * escalated / total, 1)
    return {
        "total": total if enough else None,
        "total_text": str(total) if enough else f"<{min_count}",
        "median_days": median_days,
        "settled_n": len(hours_to_settle) if len(hours_to_settle) >= min_count else None,
        "escalated_share": share,
        "tables": tables,
        "min_count": min_count,
    }


def suppress(cells: list[tuple[str, int]], k: int) -> list[dict[str, Any]]:
    """Small-cell suppression: counts below k become "<k"; a lone suppressed cell takes the
    smallest other cell with it (secondary suppression)."""
    hidden = {i for i, (_, n) in enumerate(cells) if 0 < n < k}
    if len(hidden) == 1 and len(cells) > 1:
        rest = [(n, i) for i, (_, n) in enumerate(cells) if i not in hidden]
        hidden.add(min(rest)[1])
    out = []
    for i, (label, n) in enumerate(cells):
        if i in hidden:
            out.append({"label": label, "count": None, "text": f"<{k}" if n < k else "已隐藏"})
        else:
            out.append({"label": label, "count": n, "text": str(n)})
    return out


def _figures() -> dict[str, Any]:
    """The figures from the cache (STATS_CACHE_SECONDS, shared by the web workers in the scaled
    profile); a full scan of the case store only when they are older than that."""
    ttl = int(current_app.config.get("STATS_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    if ttl <= 0:
        return _compute()
    key = f"stats:figures:{int(current_app.config.get('STATS_MIN_COUNT', DEFAULT_MIN_COUNT))}"
    data = cache_get(key)
    if data is None:
        with _compute_lock:
            data = cache_get(key)
            if data is None:
                data = _compute()
                cache_set(key, data, ttl)
    return data


def _compute() -> dict[str, Any]:
    k = int(current_app.config.get("STATS_MIN_COUNT", DEFAULT_MIN_COUNT))
    with session_factory(current_app.config["DATABASE_URL"])() as db:
        data = collect(db, min_count=k)
    clock = current_app.config.get("CLOCK") or SystemClock()
    data["generated_at"] = format_local(clock.now())
    return data


def bar_chart(rows: list[dict[str, Any]], *, width: int = 400, label_width: int = 110) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (the template draws it as inline SVG)."""
    bar_h, gap = 20, 8
    top = max((r["count"] or 0 for r in rows), default=0) or 1
    span = width - label_width - 50
    bars = []
    for i, r in enumerate(rows):
        y = i * (bar_h + gap)
        w = 0 if r["count"] is None else max(2, round(span * r["count"] / top))
        bars.append({"label": r["label"], "text": r["text"], "y": y, "w": w, "x": label_width,
                     "ty": y + bar_h * 0.72, "vx": label_width + w + 6})
    return {"width": width, "height": max(1, len(rows)) * (bar_h + gap), "bar_h": bar_h, "bars": bars,
            "label_width": label_width}


@bp.get("/")
def index():
    data = _figures()
    charts = {key: bar_chart(t["rows"]) for key, t in data["tables"].items()}
    resp = Response(render_template("stats.html", data=data, charts=charts, dimensions=DIMENSIONS))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def _cell(value: Any) -> str:
    """No spreadsheet formulas in exported cells."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


@bp.get("/cases.csv")
def csv_export():
    data = _figures()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["维度", "类别", "案件数"])
    for key, title in DIMENSIONS:
        for row in data["tables"][key]["rows"]:
            writer.writerow([title, _cell(row["label"]), row["text"]])
    writer.writerow(["合计", "全部案件", data["total_text"]])
    writer.writerow(["指标", "和解用时中位数（天）", "" if data["median_days"] is None else data["median_days"]])
    writer.writerow(["指标", "升级比例（%）", "" if data["escalated_share"] is None else data["escalated_share"]])
    writer.writerow(["说明", f"少于{data['min_count']}件的类别显示为<{data['min_count']}", data["generated_at"]])
    body = "\ufeff" + buf.getvalue()  # BOM: spreadsheet programs then read the Chinese correctly
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = 'attachment; filename="odr-stats.csv"'
    return resp
