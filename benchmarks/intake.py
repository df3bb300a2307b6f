"""Intake benchmark: does the complaint intake file the right decision for a consumer's story?

    .venv/bin/python benchmarks/intake.py --start-stack                    # own stack, today's date
    .venv/bin/python benchmarks/intake.py --rasa-url http://127.0.0.1:5005 --today 2026-11-28
    .venv/bin/python benchmarks/intake.py --start-stack --only case_d_01 --transcripts
    .venv/bin/python benchmarks/intake.py --self-check                     # no stack needed
    .venv/bin/python benchmarks/intake.py --reader --cases knowledge/eval/intake_v2.jsonl  # reader alone

For every case of the development files (`../shared/eval/cases_dev*.jsonl`) a scripted consumer
talks to the bot over Rasa's REST channel: it sends the case's narrative, then answers each
question of the catalogue (`knowledge/intake/questions.yaml`) only from the case's structured
facts, the way a person types, until the bot files the complaint (「案件编号：ODR-…」) or the
conversation is stuck. The decision stored with the filed case is then compared with the case's
`expected` decision: the five v1 fields (seven-day eligibility and deadline, platform liability,
punitive multiple and amount) on every row, and on v2 rows (those whose `expected` has
`report_recommended`) the v2 outcomes too (refund, report, rescission, prepaid cooling-off, warranty,
car usage fee). `--reader` measures the story reader alone, per fact key. Every date of a case is shifted so that its complaint date is the
benchmark's "today" (the action server's frozen clock), because the bot reads 「今天」 and
「9月1号」 relative to the real date. Markdown tables go to stdout, per-case results and the
transcripts of failing cases to .cache/benchmarks/intake.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: reuse the load benchmark's stack

from benchmarks.load import Stack  # noqa: E402

EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_CASES = [EVAL_DIR / "cases_dev.jsonl", EVAL_DIR / "cases_dev_v2.jsonl"]
QUESTIONS_FILE = REPO / "knowledge" / "intake" / "questions.yaml"
OUT = REPO / ".cache" / "benchmarks" / "intake.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HTTP_TIMEOUT_S = 30.0

CASE_NO = re.compile(r"案件编号：(ODR-\d{8}-\d{4,})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An optional explicit year, then M月D号 / M月D日; not preceded by another digit.
NARRATIVE_DATE = re.compile(r"(?:(\d{4})年)?(?<!\d)(\d{1,2})月(\d{1,2})([号日])")

MAX_ANSWERS = 20  # answers after the story before the conversation counts as stuck
MAX_UNRECOGNISED_RUN = 3  # bot turns in a row without a catalogue question
MAX_SAME_QUESTION_RUN = 3  # the same question asked this many times in a row

CONDITION_ANSWERS = {
    "intact": "没拆封，吊牌都在",
    "opened": "拆开看过，没用过",
    "used": "已经用过了",
    "damaged_by_consumer": "被我不小心弄坏了",
}
UNNAMED_PLATFORM = {"offline_store": "实体店", "seller_own_site": "品牌官网"}
KNOWN_PLATFORMS = {
    "marketplace": "淘宝",
    "platform_self_operated": "京东自营",
    "live_stream": "抖音直播间",
    "secondhand_marketplace": "闲鱼",
    "food_delivery": "美团外卖",
    "seller_own_site": "品牌官网",
    "offline_store": "实体店",
}
FIELDS = ("seven_day_return_eligible", "seven_day_deadline", "platform_liable", "punitive_multiple",
          "punitive_amount")
# Outcomes of the v2 regimes (eval README "Extensions (v2)"), scored on rows that carry them.
V2_FIELDS = ("refund_amount_yuan", "report_recommended", "can_rescind", "prepaid_cooling_off_eligible",
             "prepaid_cooling_off_deadline", "warranty_expiry_date", "warranty_covered", "usage_compensation_yuan")
V2_MARK = "report_recommended"  # an `expected` with this key is a v2 row
NUMERIC = ("punitive_multiple", "punitive_amount", "refund_amount_yuan", "usage_compensation_yuan")
# How the scripted consumer says yes or no to the v2 questions (first: the fact holds).
YES_NO = {
    "prepaid_prior_same_service": ("接受过", "没有"),
    "payment_user_at_fault": ("有", "没有"),
    "cancelled_before_charge": ("已经关了", "没有关"),
    "renewal_notice_missing": ("没有提醒", "有提醒"),
    "time_essential": ("商家知道", "商家不知道"),
    "endorser_knew_false": ("知道", "不知道"),
}
CHOICES = {
    "prepaid_refund_cause": {"business": "商家的原因", "consumer": "我自己的原因"},
    "vehicle_fault": {"major_part": "发动机、变速箱、动力电池或驱动电机坏了",
                      "critical_failure": "转向或刹车失灵、车身开裂、燃油泄漏、电池起火",
                      "serious_safety": "其他严重安全问题", "other": "其他问题"},
}


# ---------------------------------------------------------------- cases and date shifting


def load_cases(path: Path) -> list[dict[str, Any]]:
    """One case per non-empty line of a cases*.jsonl file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _is_date_key(key: str) -> bool:
    return key.endswith("_date") or key.endswith("_deadline")


def shift_dates(value: Any, shift: timedelta, key: str = "") -> Any:
    """A copy of `value` with every ISO date under a date key (`*_date`, `*_deadline`, e.g.
    seven_day_deadline, refund_due_date, prepaid_cooling_off_deadline) moved by `shift`; nested
    dicts and lists are walked, other values are kept."""
    if isinstance(value, dict):
        return {k: shift_dates(v, shift, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, shift, key) for v in value]
    if isinstance(value, str) and _is_date_key(key) and ISO_DATE.fullmatch(value):
        return (date.fromisoformat(value) + shift).isoformat()
    return value


def shift_narrative(text: str, complaint: date, shift: timedelta) -> str:
    """Move every 「M月D号/日」 of the consumer's story by `shift`. The story's year is implicit:
    the complaint's year, or the year before when that day would come after the complaint."""

    def repl(m: re.Match[str]) -> str:
        year, month, day, suffix = m[1], int(m[2]), int(m[3]), m[4]
        try:
            if year:
                d = date(int(year), month, day)
            else:
                d = date(complaint.year, month, day)
                if d > complaint:
                    d = date(complaint.year - 1, month, day)
        except ValueError:  # 2月30号, or 2月29号 in a year without it: leave as written
            return m[0]
        new = d + shift
        return (f"{new.year}年" if year else "") + f"{new.month}月{new.day}{suffix}"

    return NARRATIVE_DATE.sub(repl, text)


def shift_case(case: dict[str, Any], today: date) -> dict[str, Any]:
    """The case as if the consumer complained today: the clock of the bot and the dates of the
    story, facts and expected decision must agree, or 「今天」 and 「M月D号」 mean other days."""
    complaint = date.fromisoformat(case["facts"]["complaint_date"])
    shift = today - complaint
    return {
        **case,
        "narrative": shift_narrative(case["narrative"], complaint, shift),
        "facts": shift_dates(case["facts"], shift),
        "expected": shift_dates(case["expected"], shift),
        "shift_days": shift.days,
    }


# ---------------------------------------------------------------- the scripted consumer


def load_catalogue(path: Path = QUESTIONS_FILE) -> dict[str, str]:
    """Question id -> the exact text the bot asks (read at run time: the catalogue changes)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {qid: q["text"] for qid, q in data["questions"].items()}


def identify_question(texts: list[str], catalogue: dict[str, str]) -> str | None:
    """The catalogue question of one bot turn. The question comes after any explanation or
    summary, so of the texts that occur the one that ends last wins (then the longer one)."""
    joined = "\n".join(texts)
    best: tuple[int, int, str] | None = None
    for qid, text in catalogue.items():
        pos = joined.rfind(text)
        if pos >= 0:
            key = (pos + len(text), len(text), qid)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def month_day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.month}月{d.day}号"


def yuan(amount: float | int) -> str:
    """299 -> 「299」, 12.5 -> 「12.5」: how a person writes an amount."""
    x = float(amount)
    return str(int(x)) if x.is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


@dataclass
class Consumer:
    """What the consumer knows besides the facts: whether the story was told, its order number."""

    narrative: str
    facts: dict[str, Any]
    known_platforms: bool = False
    story_sent: bool = False
    order_id: str = field(default_factory=lambda: str(random.randint(10**15, 10**16 - 1)))

    def platform(self) -> str:
        channel = self.facts.get("channel")
        if self.known_platforms and channel in KNOWN_PLATFORMS:
            return KNOWN_PLATFORMS[channel]
        if self.facts.get("platform"):
            return str(self.facts["platform"])
        return UNNAMED_PLATFORM.get(channel or "", "不记得了")

    def answer(self, question: str) -> str:
        """The reply to one catalogue question, only from the case's facts."""
        f = self.facts
        if question == "story":
            if self.story_sent:
                return "刚才说过了"
            self.story_sent = True
            return self.narrative
        if question == "platform":
            return self.platform()
        if question == "product":
            return str(f.get("product") or "不清楚")
        if question == "signed_date":
            return f"{month_day(f['signed_date'])}签收的" if f.get("signed_date") else "还没收到"
        if question == "return_request_date":
            rd = f.get("return_request_date")
            return f"{month_day(rd)}提的" if rd else "还没提"
        if question == "condition":
            return CONDITION_ANSWERS.get(f.get("condition") or "", "不清楚")
        if question == "merchant_exclusion_confirmed":
            return "点过确认" if f.get("merchant_exclusion_confirmed") else "没有确认过"
        if question == "platform_provided_seller_info":
            return "提供了" if f.get("platform_provided_seller_info") else "没有提供"
        if question == "seller_type":
            return "个人卖自己的闲置" if f.get("seller_type") == "individual_non_business" else "是商家开的店铺"
        if question == "price_yuan":
            return f"{yuan(f.get('price_yuan') or 0)}元"
        if question == "loss_yuan":
            loss = f.get("loss_yuan")
            return f"{yuan(loss)}元" if loss else "没有损失"
        if question == "order_id":
            return self.order_id
        if question == "phone":
            return "13800138000"
        if question == "confirm":
            return "确认无误，同意提交"
        return self.answer_v2(question)

    def day(self, iso: str) -> str:
        """「M月D号」, with the year when it is not the complaint's (a car bought the year before)."""
        complaint = self.facts.get("complaint_date")
        d = date.fromisoformat(iso)
        same_year = complaint and date.fromisoformat(complaint).year == d.year
        return month_day(iso) if same_year else f"{d.year}年{month_day(iso)}"

    def answer_v2(self, question: str) -> str:
        """The v2 questions (prepaid, deposit, payment, renewal, delivery, warranty, car,
        endorser), only from the case's facts; 「不知道」 for a question this script does not know."""
        f = self.facts
        value = f.get(question)
        if question in YES_NO:
            yes, no = YES_NO[question]
            return yes if value else no
        if question in CHOICES:
            return CHOICES[question].get(value or "", "不清楚")
        if question in ("refund_request_date", "delivery_reminder_date"):
            return f"{self.day(value)}提的" if value else ("没催过" if question == "delivery_reminder_date" else "还没提")
        if question in ("prepaid_paid_date", "promised_delivery_date", "warranty_start_date", "defect_found_date"):
            return self.day(value) if value else "不记得了"
        if question in ("prepaid_units_total", "prepaid_units_used", "warranty_repair_count", "warranty_repair_days",
                        "reminder_period_days"):
            return "不记得了" if value is None else str(int(value))
        if question == "prepaid_list_unit_price_yuan":
            return f"{yuan(value)}元" if value is not None else "没有打折"
        if question in ("deposit_yuan", "deposit_deduction_yuan", "loss_after_notice_yuan"):
            return f"{yuan(value)}元" if value else "没有"
        if question == "warranty_months":
            return f"{int(value)}个月" if value else "不清楚"
        if question == "vehicle_km":
            return f"{int(value)}公里" if value is not None else "不记得了"
        if question == "vehicle_usage_coefficient":
            return f"{float(value) * 100:g}%" if value else "不清楚"
        return "不知道"  # a question added to the catalogue after this script


# ---------------------------------------------------------------- one conversation


@dataclass
class Conversation:
    sender: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    questions: list[str | None] = field(default_factory=list)
    case_no: str | None = None
    answers_after_story: int = 0
    unrecognised: int = 0
    stuck: str | None = None  # why the script gave up
    error: str | None = None  # transport or HTTP failure


def say(http: requests.Session, rasa_url: str, sender: str, text: str) -> list[str]:
    """One consumer message over the REST channel; the texts of the bot's reply."""
    resp = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                     timeout=HTTP_TIMEOUT_S)
    resp.raise_for_status()
    return [m["text"] for m in resp.json() if m.get("text")]


def converse(http: requests.Session, rasa_url: str, case: dict[str, Any], catalogue: dict[str, str],
             known_platforms: bool) -> Conversation:
    """Tell the story, then answer question after question until the case number appears or the
    conversation is stuck (bounded: at most MAX_ANSWERS answers, each with an HTTP timeout)."""
    conv = Conversation(sender=f"web-intake-{case['id']}-{secrets.token_hex(4)}")
    consumer = Consumer(case["narrative"], case["facts"], known_platforms)
    message = consumer.answer("story")
    unrecognised_run = same_run = 0
    last: str | None = None
    while True:
        try:
            texts = say(http, rasa_url, conv.sender, message)
        except (requests.RequestException, ValueError) as exc:
            conv.transcript.append({"user": message, "bot": []})
            conv.error = f"{type(exc).__name__}: {exc}"
            return conv
        found = CASE_NO.search("\n".join(texts))
        question = None if found else identify_question(texts, catalogue)
        conv.transcript.append({"user": message, "bot": texts, "question": question})
        if found:
            conv.case_no = found[1]
            return conv
        conv.questions.append(question)
        if question is None:
            conv.unrecognised += 1
            unrecognised_run, last = unrecognised_run + 1, None
            if unrecognised_run >= MAX_UNRECOGNISED_RUN:
                conv.stuck = f"{MAX_UNRECOGNISED_RUN} replies in a row without a catalogue question"
                return conv
            message = "不知道"
        else:
            unrecognised_run = 0
            same_run = same_run + 1 if question == last else 1
            last = question
            if same_run >= MAX_SAME_QUESTION_RUN:
                conv.stuck = f"「{question}」 asked {MAX_SAME_QUESTION_RUN} times in a row"
                return conv
            message = consumer.answer(question)
        if conv.answers_after_story >= MAX_ANSWERS:
            conv.stuck = f"no case number after {MAX_ANSWERS} answers"
            return conv
        conv.answers_after_story += 1


# ---------------------------------------------------------------- the stored case


def read_case(case_no: str, database_url: str) -> tuple[dict[str, Any] | None, str]:
    """The filed case as the case service stores it (what `python -m disputes show NO --json`
    prints), read in this process, and where it was read from."""
    from disputes.db import session_factory
    from disputes.service import case_record

    with session_factory(database_url)() as s:
        return case_record(s, case_no), "case service"


# ---------------------------------------------------------------- scoring


def _field(decision: dict[str, Any] | None, name: str) -> Any:
    d = decision or {}
    if name.startswith("punitive_"):
        punitive = d.get("punitive") or {}
        return punitive.get("multiple" if name == "punitive_multiple" else "amount_yuan")
    return d.get(name)


def _same(name: str, got: Any, expected: Any) -> bool:
    if name in ("punitive_multiple", "punitive_amount"):  # numbers: 3 == 3.0, no punitive == 0
        try:
            return math.isclose(float(got or 0), float(expected or 0), abs_tol=0.005)
        except (TypeError, ValueError):
            return False
    if name in NUMERIC:  # money: None stays None, 840 == 840.0
        if got is None or expected is None:
            return got is None and expected is None
        try:
            return math.isclose(float(got), float(expected), abs_tol=0.005)
        except (TypeError, ValueError):
            return False
    return got == expected


def scored_fields(expected: dict[str, Any], v2: bool | None = None) -> tuple[str, ...]:
    """The five v1 fields, and the v2 ones on a v2 row (`v2` overrides the row's own mark)."""
    return (*FIELDS, *V2_FIELDS) if (V2_MARK in expected if v2 is None else v2) else FIELDS


def score(decision: dict[str, Any] | None, expected: dict[str, Any], v2: bool | None = None
          ) -> dict[str, dict[str, Any]]:
    """Each benchmark field: expected, got, ok. Without a stored decision every field is wrong."""
    out = {}
    for name in scored_fields(expected, v2):
        want, got = _field(expected, name), _field(decision, name)
        out[name] = {"expected": want, "got": got, "ok": decision is not None and _same(name, got, want)}
    return out


@dataclass
class CaseResult:
    id: str
    file: str
    sender: str
    filed: bool
    stuck: bool
    stuck_reason: str | None
    error: str | None
    case_no: str | None
    answers_after_story: int | None
    unrecognised_turns: int
    questions: list[str | None]
    fields: dict[str, dict[str, Any]]
    all_five: bool
    all_v2: bool | None  # every v2 field right (None on a v1 row)
    engine_equal: bool  # the scored fields equal the rules engine's on the case's true facts
    read_from: str | None
    state: str | None
    seconds: float


def engine_on_true_facts(case: dict[str, Any]) -> dict[str, Any]:
    """What the rules engine decides on the case's structured facts and narrative: the chat's
    decision should equal it (the expectation may differ where the engine itself is wrong)."""
    from knowledge.rules import decide
    from knowledge.rules.narrative import enrich

    facts = case["facts"]
    today = date.fromisoformat(facts["complaint_date"])
    return decide(enrich(facts, case["narrative"]), today=today).to_dict()


def run_case(http: requests.Session, rasa_url: str, database_url: str, case: dict[str, Any], file: str,
             catalogue: dict[str, str], known_platforms: bool) -> tuple[CaseResult, Conversation, dict | None]:
    """One conversation and the comparison of the stored decision with the shifted expectation."""
    t0 = time.perf_counter()
    conv = converse(http, rasa_url, case, catalogue, known_platforms)
    stored: dict[str, Any] | None = None
    source: str | None = None
    if conv.case_no:
        try:
            stored, source = read_case(conv.case_no, database_url)
        except Exception as exc:  # a broken store must not end the run: this case scores as wrong
            conv.error = f"cannot read {conv.case_no}: {type(exc).__name__}: {exc}"
    decision = (stored or {}).get("decision")
    fields = score(decision, case["expected"])
    v2_row = V2_MARK in case["expected"]
    on_true_facts = score(decision, engine_on_true_facts(case), v2=v2_row)
    filed = conv.case_no is not None
    result = CaseResult(
        id=case["id"], file=file, sender=conv.sender, filed=filed, stuck=conv.stuck is not None,
        stuck_reason=conv.stuck, error=conv.error, case_no=conv.case_no,
        answers_after_story=conv.answers_after_story if filed else None,
        unrecognised_turns=conv.unrecognised, questions=conv.questions, fields=fields,
        all_five=all(fields[f]["ok"] for f in FIELDS),
        all_v2=all(fields[f]["ok"] for f in V2_FIELDS) if v2_row else None,
        engine_equal=all(f["ok"] for f in on_true_facts.values()), read_from=source,
        state=(stored or {}).get("state"), seconds=round(time.perf_counter() - t0, 2))
    return result, conv, stored


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    """Accuracy per field (a case not filed is wrong on every field), cases filed, answers after
    the story (filed cases only), conversations stuck."""
    n = len(results)
    answers = [r.answers_after_story for r in results if r.filed and r.answers_after_story is not None]
    acc = {name: (sum(r.fields[name]["ok"] for r in results) / n if n else None) for name in FIELDS}
    acc["all_five"] = sum(r.all_five for r in results) / n if n else None
    v2_rows = [r for r in results if r.all_v2 is not None]
    for name in V2_FIELDS:
        acc[name] = sum(r.fields[name]["ok"] for r in v2_rows) / len(v2_rows) if v2_rows else None
    acc["all_v2"] = sum(bool(r.all_v2) for r in v2_rows) / len(v2_rows) if v2_rows else None
    acc["engine_equal"] = sum(r.engine_equal for r in results) / n if n else None
    return {
        "cases": n,
        "filed": sum(r.filed for r in results),
        "stuck": sum(r.stuck for r in results),
        "errors": sum(r.error is not None for r in results),
        "accuracy": acc,
        "answers_after_story_median": statistics.median(answers) if answers else None,
        "answers_after_story_mean": round(statistics.fmean(answers), 2) if answers else None,
    }


# ---------------------------------------------------------------- report

SHORT = {"seven_day_return_eligible": "7-day eligible", "seven_day_deadline": "7-day deadline",
         "platform_liable": "platform liable", "punitive_multiple": "punitive ×",
         "punitive_amount": "punitive ¥", "all_five": "all five", "engine_equal": "= engine on true facts",
         "refund_amount_yuan": "refund ¥", "report_recommended": "report", "can_rescind": "can rescind",
         "prepaid_cooling_off_eligible": "cooling-off", "prepaid_cooling_off_deadline": "cooling-off deadline",
         "warranty_expiry_date": "warranty expiry", "warranty_covered": "warranty covered",
         "usage_compensation_yuan": "car usage fee", "all_v2": "all v2"}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _columns(results: list[CaseResult]) -> tuple[str, ...]:
    """The v1 fields, and the v2 ones when a row carries them."""
    return (*FIELDS, *V2_FIELDS) if any(r.all_v2 is not None for r in results) else FIELDS


def case_table(results: list[CaseResult]) -> str:
    """One row per case: ✓/✗ per field, answers after the story, why it stopped."""
    cols = _columns(results)
    v2 = cols != FIELDS
    head = ["case", "filed", "answers", *(SHORT[f] for f in cols), "all five", *(["all v2"] if v2 else []),
            "= engine", "note"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        marks = [("✓" if r.fields[f]["ok"] else "✗") if f in r.fields else "—" for f in cols]
        wrong = [f"{SHORT[f]}: {r.fields[f]['got']!r} ≠ {r.fields[f]['expected']!r}"
                 for f in cols if r.filed and f in r.fields and not r.fields[f]["ok"]]
        note = r.error or r.stuck_reason or "; ".join(wrong)
        all_v2 = ["—" if r.all_v2 is None else ("✓" if r.all_v2 else "✗")] if v2 else []
        rows.append("| " + " | ".join([r.id, "yes" if r.filed else "no", _num(r.answers_after_story), *marks,
                                       "✓" if r.all_five else "✗", *all_v2, "✓" if r.engine_equal else "✗",
                                       note.replace("|", "/")]) + " |")
    return "\n".join(rows)


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    v2 = any(s["accuracy"].get("all_v2") is not None for s in summaries.values())
    cols = (*FIELDS, "all_five", *((*V2_FIELDS, "all_v2") if v2 else ()), "engine_equal")
    head = ["file", "filed", "stuck", "answers median / mean", *(SHORT[f] for f in cols)]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in summaries.items():
        rows.append("| " + " | ".join([
            name, f"{s['filed']}/{s['cases']}", str(s["stuck"]),
            f"{_num(s['answers_after_story_median'])} / {_num(s['answers_after_story_mean'])}",
            *(_pct(s["accuracy"].get(f)) for f in cols)]) + " |")
    return "\n".join(rows)


def format_transcript(case_id: str, transcript: list[dict[str, Any]]) -> str:
    lines = [f"#### {case_id}"]
    for turn in transcript:
        lines.append(f"> 用户：{turn['user']}")
        for text in turn["bot"]:
            lines.append("  机器人：" + text.replace("\n", "\n  "))
    return "\n".join(lines)


# ---------------------------------------------------------------- the reader alone

_MISSING = object()
READER_DEFAULTS = (None, False, "none")  # a fact key's "nothing to say" (v2 keys default to null/false)
# Keys the reader never fills on purpose: the channel's own flag, the complaint day (the chat's),
# the quantity (default 1), and the category (a label of the data, not of the story).
READER_SKIP = ("platform_self_operated", "complaint_date", "quantity", "category")


# What the v1 schema assumes when nothing is said: read or not, such a value tells nothing.
READER_ASSUMED = {"seller_type": "business", "seller_reachable": True, "platform_provided_seller_info": True}


def _reader_same(got: Any, want: Any, key: str = "") -> bool:
    if key == "product" and isinstance(got, str) and isinstance(want, str):
        return got in want or want in got  # 「半年卡」 names the 「游泳半年卡」
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=0.005)
    return got == want


def reader_figures(cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per fact key, the story reader alone (`read_story` on the narrative, on the complaint day)
    against the true facts: `told` rows where the truth says something (not null/false/none),
    of which `right`, `wrong` (another value) and `missed` (nothing read); `spurious`: a value
    read where the truth says nothing. The chat asks what the reader missed, so these are the
    reader's figures, not the intake's."""
    from knowledge.intake.reader import read_story

    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        facts = case["facts"]
        reading = read_story(case["narrative"], date.fromisoformat(facts["complaint_date"]))
        for key, want in facts.items():
            if key in READER_SKIP:
                continue
            row = out.setdefault(key, {"told": 0, "right": 0, "wrong": [], "missed": [], "spurious": []})
            got = reading.facts.get(key, _MISSING)
            nothing = (want is None or want is False or want == "none"
                       or (key in READER_ASSUMED and want == READER_ASSUMED[key]))
            if nothing:
                said = got is not _MISSING and got not in READER_DEFAULTS and got != READER_ASSUMED.get(key, _MISSING)
                if said and not _reader_same(got, want, key):
                    row["spurious"].append(case["id"])
                continue
            row["told"] += 1
            if got is _MISSING:
                row["missed"].append(case["id"])
            elif _reader_same(got, want, key):
                row["right"] += 1
            else:
                row["wrong"].append(case["id"])
    return out


def reader_table(figures: dict[str, dict[str, Any]], keys: tuple[str, ...] | None = None) -> str:
    head = ["fact", "told", "right", "wrong", "missed", "spurious", "cases wrong / missed / spurious"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, r in figures.items():
        if keys is not None and key not in keys:
            continue
        if not (r["told"] or r["spurious"]):
            continue
        ids = " / ".join(", ".join(x) or "—" for x in (r["wrong"], r["missed"], r["spurious"]))
        rows.append(f"| {key} | {r['told']} | {r['right']} | {len(r['wrong'])} | {len(r['missed'])} | "
                    f"{len(r['spurious'])} | {ids} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- self-check


def self_check() -> None:
    """Assertions on the parts that need no stack: date shifting, question identification,
    answers and scoring, on case_d_01 (online, dated story) and case_d2_02 (offline, no platform)."""
    cases = {c["id"]: c for p in DEFAULT_CASES for c in load_cases(p)}
    catalogue = load_catalogue()
    today = date(2026, 11, 28)

    d01 = shift_case(cases["case_d_01"], today)  # complained 2025-09-08: shift 446 days
    assert d01["shift_days"] == (today - date(2025, 9, 8)).days
    assert d01["facts"]["complaint_date"] == "2026-11-28"
    assert d01["facts"]["signed_date"] == "2026-11-21"
    assert d01["facts"]["order_date"] == "2026-11-18"
    assert d01["facts"]["logistics_marked_signed_date"] is None
    assert d01["expected"]["seven_day_deadline"] == "2026-11-28"
    assert d01["narrative"].startswith("11月21号收到两本小说"), d01["narrative"]
    assert "11月28号想退" in d01["narrative"]
    assert cases["case_d_01"]["facts"]["signed_date"] == "2025-09-01"  # the original is untouched

    # Year of a story date: after the complaint day means the year before; explicit years move too.
    assert shift_narrative("12月30号买的，1月2号到", date(2026, 1, 5), timedelta(days=10)) == "1月9号买的，1月12号到"
    assert shift_narrative("2025年3月1日", date(2026, 1, 5), timedelta(days=1)) == "2025年3月2日"
    assert shift_narrative("2月30号、今天", date(2026, 3, 1), timedelta(days=1)) == "2月30号、今天"
    assert shift_dates({"punitive": {"amount_yuan": 500}, "refund_due_date": "2026-01-31", "note": "2026-01-31"},
                       timedelta(days=1)) == {"punitive": {"amount_yuan": 500}, "refund_due_date": "2026-02-01",
                                              "note": "2026-01-31"}

    c = Consumer(d01["narrative"], d01["facts"], story_sent=True)
    assert c.answer("story") == "刚才说过了"
    assert c.answer("platform") == "好物集"
    assert c.answer("signed_date") == "11月21号签收的"
    assert c.answer("return_request_date") == "11月28号提的"
    assert c.answer("condition") == "没拆封，吊牌都在"
    assert c.answer("merchant_exclusion_confirmed") == "没有确认过"
    assert c.answer("platform_provided_seller_info") == "提供了"
    assert c.answer("price_yuan") == "86元"
    assert c.answer("loss_yuan") == "没有损失"
    assert re.fullmatch(r"[1-9]\d{15}", c.answer("order_id")) and c.answer("order_id") == c.order_id
    assert c.answer("confirm") == "确认无误，同意提交"
    assert yuan(1599.5) == "1599.5" and yuan(68000.0) == "68000"

    d2 = shift_case(cases["case_d2_02"], today)  # offline, no platform, never "signed"
    assert "4月20号" not in d2["narrative"] and "11月26号" in d2["narrative"], d2["narrative"]
    c2 = Consumer(d2["narrative"], d2["facts"])
    assert c2.answer("story") == d2["narrative"] and c2.answer("story") == "刚才说过了"
    assert c2.answer("platform") == "实体店"
    assert c2.answer("signed_date") == "还没收到"
    assert c2.answer("return_request_date") == "还没提"
    assert c2.answer("condition") == "已经用过了"
    assert Consumer("", {**d2["facts"], "channel": "live_stream"}, known_platforms=True).answer("platform") == "抖音直播间"

    q = catalogue["signed_date"]
    assert identify_question(["好的，记下了。", f"{catalogue['platform']}"], catalogue) == "platform"
    assert identify_question([f"摘要……\n{catalogue['confirm']}"], catalogue) == "confirm"
    assert identify_question([catalogue["product"], "说明一下。" + q], catalogue) == "signed_date"
    assert identify_question(["您好，我是调解助手。"], catalogue) is None
    assert CASE_NO.search("已提交。案件编号：ODR-20261128-0001，请留意短信。")[1] == "ODR-20261128-0001"

    ok = score(d01["expected"], d01["expected"])
    assert all(f["ok"] for f in ok.values())
    wrong = score({**d01["expected"], "punitive": {"multiple": 3.0, "amount_yuan": 500}}, d01["expected"])
    assert not wrong["punitive_multiple"]["ok"] and wrong["seven_day_deadline"]["ok"]
    assert score({**d01["expected"], "punitive": None}, d01["expected"])["punitive_amount"]["ok"]
    assert not any(f["ok"] for f in score(None, d01["expected"]).values())

    # v2 rows: their own fields are scored, and the consumer answers the v2 questions from the facts
    v2_expected = {**d01["expected"], "report_recommended": True, "refund_amount_yuan": 840, "can_rescind": None}
    scored = score({**v2_expected, "refund_amount_yuan": 840.0}, v2_expected)
    assert "report_recommended" in scored and scored["refund_amount_yuan"]["ok"]
    assert not score({**v2_expected, "refund_amount_yuan": None}, v2_expected)["refund_amount_yuan"]["ok"]
    assert "report_recommended" not in score(d01["expected"], d01["expected"])
    c3 = Consumer("", {"complaint_date": "2026-06-20", "prepaid_refund_cause": "consumer", "vehicle_km": 18000,
                       "warranty_start_date": "2025-03-15", "renewal_notice_missing": True,
                       "delivery_reminder_date": None, "vehicle_usage_coefficient": 0.005})
    assert c3.answer("prepaid_refund_cause") == "我自己的原因" and c3.answer("vehicle_km") == "18000公里"
    assert c3.answer("warranty_start_date") == "2025年3月15号" and c3.answer("renewal_notice_missing") == "没有提醒"
    assert c3.answer("delivery_reminder_date") == "没催过" and c3.answer("vehicle_usage_coefficient") == "0.5%"
    assert set(YES_NO) | set(CHOICES) <= set(catalogue)
    print("self-check passed")


# ---------------------------------------------------------------- main


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


class IntakeStack(Stack):
    """The load benchmark's stack (action server, Rasa via bot/rasa_server.py, web tier, throwaway
    SQLite stores) with the clock frozen at the benchmark's today: the intake resolves 「今天」 and
    「M月D号」 and the rules engine computes windows against that clock. No worker: jobs are
    not dispatched (ODR_DISPATCH=off, as the action tests run), the decision is stored at filing."""

    def __init__(self, today: date) -> None:
        super().__init__(with_worker=False)
        self.clock_at = f"{today.isoformat()}T10:00:00+08:00"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        return super()._spawn(name, argv, {**env, "ODR_CLOCK_AT": self.clock_at, "ODR_DISPATCH": "off"})

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rasa']}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--rasa-url", help="a running Rasa server (its action server's ODR_CLOCK_AT must be "
                                          "--today, its case store --database-url)")
    where.add_argument("--start-stack", action="store_true",
                       help="start action server, Rasa and web tier on free ports with a throwaway case store "
                            "and the clock frozen at --today")
    where.add_argument("--self-check", action="store_true",
                       help="assertions on date shifting, answers and scoring; no stack")
    where.add_argument("--reader", action="store_true",
                       help="the story reader alone, per fact key, against the cases' true facts; no stack")
    ap.add_argument("--cases", action="append", type=Path, metavar="FILE",
                    help="a cases*.jsonl file (repeatable; default: ../shared/eval/cases_dev.jsonl and "
                         "cases_dev_v2.jsonl)")
    ap.add_argument("--only", action="append", metavar="ID", help="run only this case id (repeatable)")
    ap.add_argument("--today", type=date.fromisoformat, default=None,
                    help="the frozen date every case is shifted to, YYYY-MM-DD (default: today in Asia/Shanghai)")
    ap.add_argument("--database-url", help="with --rasa-url: the stack's case store "
                                           "(default: env ODR_DATABASE_URL, else var/odr.sqlite3)")
    ap.add_argument("--known-platforms", action="store_true",
                    help="name a well-known platform per channel (淘宝, 京东自营, …) instead of the fictional one")
    ap.add_argument("--transcripts", action="store_true", help="also print the transcripts of failing cases")
    ap.add_argument("--keep-logs", action="store_true",
                    help="with --start-stack: keep the stack's logs in .cache/benchmarks/intake-logs/")
    ap.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default: {OUT.relative_to(REPO)})")
    args = ap.parse_args(argv)
    if not (args.rasa_url or args.start_stack or args.self_check or args.reader):
        ap.error("one of --rasa-url, --start-stack, --self-check or --reader is required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.self_check:
        self_check()
        return 0
    if args.reader:
        for path in args.cases or DEFAULT_CASES:
            cases = [c for c in load_cases(path) if not args.only or c["id"] in args.only]
            print(f"## {path.name}: the reader alone ({len(cases)} stories)\n\n{reader_table(reader_figures(cases))}\n")
        return 0
    today = args.today or shanghai_today()
    catalogue = load_catalogue()
    files = args.cases or DEFAULT_CASES
    selected: list[tuple[str, dict[str, Any]]] = []
    for path in files:
        for case in load_cases(path):
            if not args.only or case["id"] in args.only:
                selected.append((path.name, shift_case(case, today)))
    if args.only and (missing := set(args.only) - {c["id"] for _, c in selected}):
        raise SystemExit(f"unknown case id(s): {', '.join(sorted(missing))}")

    stack: IntakeStack | None = None
    failed = False
    try:
        if args.start_stack:
            stack = IntakeStack(today)
            t = time.perf_counter()
            print(f"starting the stack in {stack.work} (clock {stack.clock_at}) ...", file=sys.stderr)
            stack.start()
            print(f"stack up in {time.perf_counter() - t:.1f}s", file=sys.stderr)
            rasa_url, database_url = stack.rasa_url, stack.database_url
        else:
            from disputes.db import database_url as default_database_url

            rasa_url, database_url = args.rasa_url.rstrip("/"), args.database_url or default_database_url()
            try:
                requests.get(f"{rasa_url}/", timeout=HTTP_TIMEOUT_S).raise_for_status()
            except requests.RequestException as exc:
                raise SystemExit(f"no Rasa server at {rasa_url}: {exc}") from None

        http = requests.Session()
        results: list[CaseResult] = []
        transcripts: dict[str, list[dict[str, Any]]] = {}
        details: dict[str, dict[str, Any]] = {}
        t_run = time.perf_counter()
        for i, (file, case) in enumerate(selected, 1):
            result, conv, stored = run_case(http, rasa_url, database_url, case, file, catalogue,
                                            args.known_platforms)
            results.append(result)
            status = "filed" if result.filed else ("stuck" if result.stuck else "error")
            print(f"[{i}/{len(selected)}] {case['id']}: {status}, all five {'✓' if result.all_five else '✗'} "
                  f"({result.seconds:.1f}s)", file=sys.stderr)
            if not result.all_five or result.stuck or result.error:
                transcripts[case["id"]] = conv.transcript
                details[case["id"]] = {"narrative": case["narrative"], "facts": case["facts"],
                                       "expected": case["expected"],
                                       "stored_facts": (stored or {}).get("facts"),
                                       "stored_decision": (stored or {}).get("decision")}
        wall = round(time.perf_counter() - t_run, 1)

        by_file: dict[str, list[CaseResult]] = {}
        for r in results:
            by_file.setdefault(r.file, []).append(r)
        summaries = {name: summarize(rs) for name, rs in by_file.items()}
        if len(by_file) > 1:
            summaries["overall"] = summarize(results)

        print(f"# Intake benchmark, today = {today.isoformat()}, "
              f"{'well-known' if args.known_platforms else 'case'} platform names, {wall}s\n")
        for name, rs in by_file.items():
            print(f"## {name}\n\n{case_table(rs)}\n")
        print(summary_table(summaries))
        if args.transcripts and transcripts:
            print("\n## Transcripts of failing cases\n")
            for cid, transcript in transcripts.items():
                print(format_transcript(cid, transcript) + "\n")

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "today": today.isoformat(),
            "rasa_url": rasa_url,
            "stack": "started" if stack else "external",
            "known_platforms": args.known_platforms,
            "files": [str(p) for p in files],
            "wall_s": wall,
            "summary": summaries,
            "cases": [asdict(r) for r in results],
            "failing": details,
            "transcripts": transcripts,
        }, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        print(f"\nJSON: {args.out}")
    except BaseException:
        failed = True
        raise
    finally:
        if stack is not None:
            keep = REPO / ".cache" / "benchmarks" / "intake-logs" if failed or args.keep_logs else None
            stack.stop(keep_logs=keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
