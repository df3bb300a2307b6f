"""Fuzzing of the input normalisers (knowledge/normalize.py) and the story reader
(knowledge/intake/reader.py) with hypothesis, for time as well as correctness: no input of up to
2,000 characters (the longest chat message) may take more than 50 ms, and every input either
gives a well-formed result or fails with a Chinese hint.

A regular expression that backtracks is slow on every run of the same input, while a process
that was descheduled is slow once; so a call over the limit is repeated twice and only the
fastest of the three runs counts. `FUZZ` collects, per kind (normalisers, reader), the number of
timed calls and the slowest input.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from knowledge import normalize
from knowledge.normalize import (
    MAX_AMOUNT,
    NormalizationError,
    mask_phone,
    normalize_amount,
    normalize_date,
    normalize_order_number,
    normalize_phone,
    normalize_platform,
)

LIMIT_MS = 50.0
MAX_CHARS = 2000
TODAY = date(2026, 12, 6)
CJK = re.compile(r"[\u4e00-\u9fff]")

# Characters the normalisers' and the reader's patterns turn on, plus ordinary story words.
ALPHABET = (
    "0123456789零〇一二两三四五六七八九十百千万亿壹贰点:：时分半钟左右前后的时候上午下午晚上凌晨"
    "年月日号天周星期礼拜上下这本去今昨大个元块钱毛角¥￥,，.．/／-－—+ 　\n()（）#"
    "订单编号orderNOkKwWRMB淘宝京东拼多多沙盒商城dyPDD"
    "买收签到退换货商家客服说没不了在激活拆用坏修保质节次课卡充值押金扣刷公里km发货内“”「」"
)
units = st.text(alphabet=ALPHABET, min_size=1, max_size=8)
# Repetition is what makes a pattern backtrack: one short unit repeated up to 2,000 characters.
repeated = st.builds(lambda unit, n, tail: (unit * n)[: MAX_CHARS - len(tail)] + tail,
                     units, st.integers(1, MAX_CHARS), st.text(alphabet=ALPHABET, max_size=3))
texts = st.one_of(st.text(alphabet=ALPHABET, max_size=MAX_CHARS), repeated, st.text(max_size=300))
short_texts = st.one_of(st.text(alphabet=ALPHABET, max_size=80), repeated.map(lambda s: s[:80]))

FUZZ: dict[str, dict[str, Any]] = {kind: {"calls": 0, "slowest_ms": 0.0, "slowest": ""}
                                   for kind in ("normalisers", "reader")}
FUZZ_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def timed(fn, *args: Any, limit_ms: float = LIMIT_MS, record: bool = True) -> tuple[Any, Exception | None]:
    """Call fn(*args) and assert that it stays within the limit; returns (result, exception).
    `record=False` keeps the known-slow cases out of the figures."""
    name = getattr(fn, "__name__", str(fn))
    best = float("inf")
    result: Any = None
    error: Exception | None = None
    for _ in range(3):
        start = time.perf_counter()
        try:
            result, error = fn(*args), None
        except Exception as exc:  # the caller checks which exceptions are allowed
            result, error = None, exc
        best = min(best, (time.perf_counter() - start) * 1000)
        if best <= limit_ms:
            break
    text = next((a for a in args if isinstance(a, str) and len(a) > 20), args[0] if args else "")
    figures = FUZZ["reader" if name.startswith("read_") else "normalisers"]
    if record:
        figures["calls"] += 1
    if record and best > figures["slowest_ms"]:
        figures.update(slowest_ms=best, slowest=f"{name}({str(text)[:30]!r}…, {len(str(text))} chars)")
    assert best <= limit_ms, f"{name} took {best:.1f} ms on {str(text)[:60]!r} ({len(str(text))} chars)"
    return result, error


def chinese_hint(error: Exception | None, kind: type[Exception]) -> None:
    assert isinstance(error, kind), repr(error)
    assert CJK.search(error.message), error.message  # type: ignore[attr-defined]


@pytest.fixture(scope="module", autouse=True)
def warm() -> None:
    """Load the YAML files and compile the patterns before anything is timed."""
    from knowledge.intake.reader import AnswerError, read_answer, read_story

    read_story("我11月29号在淘宝签收的毛衣299元，吊牌没拆，今天跟商家申请七天无理由", TODAY)
    for question in QUESTIONS:
        try:
            read_answer(question, "11月29号", TODAY)
        except AnswerError:
            pass
    normalize_platform("淘宝")


# ---------------------------------------------------------------- the ReDoS regression


@pytest.mark.parametrize("text", ["点" * 400 + "x", "点" * 1990 + "x"], ids=["400", "1990"])
def test_time_of_day_pattern_regression(text: str) -> None:
    """「点」×1990 + 「x」 once took 145 s in the time-of-day pattern (「点」 was both a digit and the
    hour separator). The old form's parse_slot("order_date", …) is now normalize_date for a date
    field and read_answer for a date question; the story reader reads dates in any message."""
    from knowledge.intake.reader import AnswerError, read_answer, read_story

    timed(normalize._TIME_OF_DAY.sub, "", text)
    _, error = timed(normalize_date, text, TODAY)
    chinese_hint(error, NormalizationError)
    for question in ("signed_date", "return_request_date", "refund_request_date"):
        _, error = timed(read_answer, question, text, TODAY)
        chinese_hint(error, AnswerError)
    timed(read_story, text, TODAY)


PADDING = " " * normalize.MAX_FIELD_TEXT


@pytest.mark.parametrize(("fn", "text"), [
    (normalize_date, "2026年" + PADDING + "3月2日"),
    (normalize_amount, "1" + PADDING + "99元"),
    (normalize_order_number, "1234" + PADDING + "5678"),  # valid once the spaces are gone
    (normalize_phone, "138" + PADDING + "1234 5678"),
], ids=["date", "amount", "order_number", "phone"])
def test_field_normalisers_read_a_bounded_text(fn, text: str) -> None:
    """A date, amount, order number or phone longer than MAX_FIELD_TEXT is refused at once."""
    args = (text, TODAY) if fn is normalize_date else (text,)
    _, error = timed(fn, *args, limit_ms=5)
    chinese_hint(error, NormalizationError)


def test_platform_normaliser_reads_at_most_one_message() -> None:
    assert normalize_platform("淘宝" + "。" * (normalize.MAX_TEXT - 2)) is not None
    assert normalize_platform("。" * normalize.MAX_TEXT + "淘宝") is None


# ---------------------------------------------------------------- dates


@FUZZ_SETTINGS
@given(texts)
@example("点" * 1990 + "x")
@example("3月2号下午3点半")
def test_normalize_date_any_text(text: str) -> None:
    result, error = timed(normalize_date, text, TODAY)
    if error is not None:
        chinese_hint(error, NormalizationError)
    else:
        assert result.value <= TODAY and result.text == text.strip()


@FUZZ_SETTINGS
@given(st.dates(date(2000, 1, 1), TODAY), st.sampled_from(["{y}年{m}月{d}日", "{y}-{m:02d}-{d:02d}", "{y}.{m}.{d}",
                                                           "{y}/{m}/{d}", "{y}{m:02d}{d:02d}", "{y}年{m}月{d}号"]),
       st.sampled_from(["", "下午3点半", "上午10:30", "晚上八点左右", " 的时候"]))
def test_normalize_date_reads_written_dates(day: date, form: str, time_of_day: str) -> None:
    text = form.format(y=day.year, m=day.month, d=day.day)
    if form == "{y}{m:02d}{d:02d}" and time_of_day:
        time_of_day = ""  # 20261203下午3点 is not how anyone writes
    result, error = timed(normalize_date, text + time_of_day, TODAY)
    assert error is None and result.value == day


@FUZZ_SETTINGS
@given(st.integers(0, 3650), st.sampled_from(["天前", "天以前", "天之前"]))
def test_normalize_date_days_ago(n: int, suffix: str) -> None:
    result, error = timed(normalize_date, f"{n}{suffix}", TODAY)
    assert error is None and result.value == TODAY - timedelta(days=n)


# ---------------------------------------------------------------- amounts


@FUZZ_SETTINGS
@given(texts)
def test_normalize_amount_any_text(text: str) -> None:
    result, error = timed(normalize_amount, text)
    if error is not None:
        chinese_hint(error, NormalizationError)
    else:
        assert Decimal("0") < result.value <= MAX_AMOUNT and result.value.as_tuple().exponent == -2


@FUZZ_SETTINGS
@given(st.decimals(Decimal("0.01"), MAX_AMOUNT, places=2),
       st.sampled_from(["{v}元", "¥{v:,}", "￥{v}", "{v}块", "人民币{v}元", "{v} RMB"]))
def test_normalize_amount_reads_written_amounts(value: Decimal, form: str) -> None:
    result, error = timed(normalize_amount, form.format(v=value))
    assert error is None and result.value == value


# ---------------------------------------------------------------- order numbers and phones


@FUZZ_SETTINGS
@given(short_texts | texts)
def test_normalize_order_number_any_text(text: str) -> None:
    result, error = timed(normalize_order_number, text)
    if error is not None:
        chinese_hint(error, NormalizationError)
    else:
        assert re.fullmatch(r"[A-Za-z0-9]{6,32}", result.value)


@FUZZ_SETTINGS
@given(st.from_regex(r"[A-Za-z0-9]{6,32}", fullmatch=True), st.sampled_from(["", "订单号：", "订单编号 ", "order no: "]),
       st.integers(3, 8))
def test_normalize_order_number_reads_order_numbers(number: str, prefix: str, group: int) -> None:
    """As copied from an order page: the number whole or in groups of three or more."""
    spaced = "-".join(number[i:i + group] for i in range(0, len(number), group))
    result, error = timed(normalize_order_number, prefix + spaced)
    assert error is None and result.value == number


@FUZZ_SETTINGS
@given(short_texts | texts)
def test_normalize_phone_any_text(text: str) -> None:
    result, error = timed(normalize_phone, text)
    if error is not None:
        chinese_hint(error, NormalizationError)
    else:
        assert re.fullmatch(r"1[3-9]\d{9}", result.value)
        assert result.masked == result.value[:3] + "****" + result.value[-4:]


@FUZZ_SETTINGS
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86 ", "0086", "86"]),
       st.sampled_from(["{a}{b}{c}", "{a} {b} {c}", "{a}-{b}-{c}", "({a}){b}{c}"]))
def test_normalize_phone_reads_phone_numbers(phone: str, prefix: str, form: str) -> None:
    result, error = timed(normalize_phone, prefix + form.format(a=phone[:3], b=phone[3:7], c=phone[7:]))
    assert error is None and result.value == phone
    assert mask_phone(phone) == phone[:3] + "****" + phone[-4:]


# ---------------------------------------------------------------- platforms


def _platform_names() -> set[str]:
    import yaml

    return set(yaml.safe_load(normalize.PLATFORMS_FILE.read_text(encoding="utf-8"))["platforms"])


@FUZZ_SETTINGS
@given(texts)
def test_normalize_platform_any_text(text: str) -> None:
    result, error = timed(normalize_platform, text)
    assert error is None
    assert result is None or result.name in _platform_names()


@FUZZ_SETTINGS
@given(st.text(alphabet="买了一件衣服在的上收到商家说没有退货，。", max_size=900), st.sampled_from(
    ["淘宝", "狗东", "拼多多", "抖音直播", "闲鱼", "美团外卖", "沙盒商城", "小红书"]),
       st.text(alphabet="买了一件衣服在的上收到商家说没有退货，。", max_size=900))
def test_normalize_platform_finds_a_platform_in_a_story(before: str, alias: str, after: str) -> None:
    result, error = timed(normalize_platform, before + alias + after)
    assert error is None and result is not None


# ---------------------------------------------------------------- the story reader

QUESTIONS = ("story", "platform", "product", "signed_date", "return_request_date", "condition", "price_yuan",
             "loss_yuan", "order_id", "phone", "merchant_exclusion_confirmed", "seller_type", "confirm",
             "refund_request_date", "deposit_yuan", "promised_delivery_date", "time_essential")
# Questions whose answer is a count, kilometres, months or a percentage: the reader turns a number of
# 300+ digits into float infinity and int() raised OverflowError instead of AnswerError (found by
# the fuzzing below); now a Chinese hint.
NUMBER_QUESTIONS = ("prepaid_units_total", "prepaid_units_used", "reminder_period_days", "vehicle_km",
                    "warranty_months", "warranty_repair_count", "warranty_repair_days")

# Inputs on which the reader took 100–400 ms: number patterns tried at every digit of a run (km,
# ship_within, sessions_total, term_days, warranty months, prepaid_context in
# knowledge/intake/reader.yaml; 「N天前」 in reader.py's _DATE_RE, now anchored by look-behinds) and
# the role of every one of hundreds of dates looked up in the whole text (now at most 30 dates).
SLOW_STORIES = ["1" * MAX_CHARS, ("9月1号" * 400)[:MAX_CHARS], "12" * 1000 + "公里", "3" * 1999 + "天"]


def _check_reading(reading: Any) -> None:
    from knowledge.intake.reader import Reading

    assert isinstance(reading, Reading)
    assert all(isinstance(k, str) for k in reading.facts)
    for key, value in reading.facts.items():
        if key.endswith("_date") and value is not None:
            date.fromisoformat(value)
        if key.endswith("_yuan") and value is not None:
            assert value >= 0


def _read_everything(text: str, question: str, limit_ms: float, record: bool = True) -> None:
    from knowledge.intake.reader import AnswerError, read_answer, read_story

    reading, error = timed(read_story, text, TODAY, limit_ms=limit_ms, record=record)
    assert error is None, repr(error)
    _check_reading(reading)
    answer, error = timed(read_answer, question, text, TODAY, limit_ms=limit_ms, record=record)
    if error is not None:
        chinese_hint(error, AnswerError)
    else:
        _check_reading(answer)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts, st.sampled_from(QUESTIONS))
def test_reader_any_text_is_read_correctly(text: str, question: str) -> None:
    """Correctness, with the reader's present bound (1 s) as the time limit."""
    _read_everything(text, question, limit_ms=1000)


@pytest.mark.parametrize("question", NUMBER_QUESTIONS)
def test_reader_number_answers_give_a_hint_for_a_huge_number(question: str) -> None:
    _read_everything("2" + "0" * 400, question, limit_ms=1000, record=False)


@pytest.mark.parametrize("text", SLOW_STORIES, ids=["digits", "dates", "km", "days"])
def test_reader_known_slow_inputs_within_50_ms(text: str) -> None:
    _read_everything(text, "signed_date", limit_ms=LIMIT_MS, record=False)


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(texts, st.sampled_from(QUESTIONS))
def test_reader_any_text_within_50_ms(text: str, question: str) -> None:
    _read_everything(text, question, limit_ms=LIMIT_MS, record=False)


def test_report_fuzz_figures(record_property) -> None:
    """Last in the file: the number of timed calls and the slowest input (see `-rA` / junit)."""
    for kind, figures in FUZZ.items():
        record_property(f"{kind}_timed_calls", figures["calls"])
        record_property(f"{kind}_slowest_ms", round(figures["slowest_ms"], 1))
        print(f"{kind}: {figures['calls']} timed calls, slowest {figures['slowest_ms']:.1f} ms: {figures['slowest']}")
