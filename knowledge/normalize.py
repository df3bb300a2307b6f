"""Normalisers for what consumers type in chat: dates, amounts, order numbers, phones, platforms.

Each normaliser returns a small result object or raises `NormalizationError` whose `message` is
Chinese text the bot can show as is (platform names are the exception: an unknown name returns
None so the caller can simply ask again). Chinese numerals go through cn2an.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import cn2an
import yaml

PLATFORMS_FILE = Path(__file__).with_name("platforms.yaml")
MAX_AMOUNT = Decimal("1000000")


class NormalizationError(ValueError):
    """Input that cannot be normalised; `message` is user-facing Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点"


def _cn_int(token: str) -> int:
    token = token.strip()
    if token.isdigit():
        return int(token)
    try:
        value = cn2an.cn2an(token, "smart")
    except (ValueError, KeyError, TypeError) as exc:
        raise NormalizationError(f"没看懂“{token}”这个数字，请用阿拉伯数字再说一次。") from exc
    if value != int(value):
        raise NormalizationError(f"“{token}”不是整数。")
    return int(value)


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateResult:
    value: date
    text: str
    inferred_year: bool = False  # the year was not given and was inferred from today

    def isoformat(self) -> str:
        return self.value.isoformat()


_NUM = rf"[0-9{_CN_DIGITS}]+"
# Hours and minutes: digits only, never 点 (which separates them): with 点 in both the number and
# the separator, 「点点点…x」 backtracked for seconds. At most two digits each, anchored once.
_CLOCK_NUM = r"[0-9零〇一二两三四五六七八九十]{1,3}"
_TIME_OF_DAY = re.compile(
    r"(?:上午|下午|晚上|早上|早晨|中午|凌晨|傍晚|夜里|夜间|半夜|白天)?"
    rf"(?:{_CLOCK_NUM}[点:：时](?:{_CLOCK_NUM}分?|半|钟)?)?(?:左右|前后|的时候)?$"
)
MAX_FIELD_TEXT = 64  # a date, amount, order number or phone is short; callers search longer text for one
MAX_TEXT = 2000  # the longest text any normaliser reads (a whole chat message, for platform names)
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "大前天": -3, "明天": 1, "后天": 2}


def _strip_time_of_day(text: str) -> str:
    stripped = _TIME_OF_DAY.sub("", text).strip()
    return stripped or text


def _build(year: int, month: int, day: int, raw: str) -> date:
    if not 1 <= month <= 12:
        raise NormalizationError(f"“{raw}”里的月份不对：没有{month}月。")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise NormalizationError(f"“{raw}”这个日期不存在：{year}年{month}月只有{last}天。")
    return date(year, month, day)


def _shift_month(d: date, months: int) -> tuple[int, int]:
    index = d.year * 12 + d.month - 1 + months
    return index // 12, index % 12 + 1


def normalize_date(text: str, today: date, *, allow_future: bool = False) -> DateResult:
    """Parse 「3月2号」「上周五」「前天」「2026.11.20」「昨天下午」「3.2」 relative to `today`.

    A month-day without a year is taken as the most recent such date (this year, or last year if
    it would be in the future). Explicit future dates are rejected unless `allow_future`.
    """
    raw = (text or "").strip()
    if not raw:
        raise NormalizationError("请告诉我具体日期，例如“3月2日”或“昨天”。")
    if len(raw) > MAX_FIELD_TEXT:
        raise NormalizationError("请只告诉我日期，例如“3月2日”或“昨天”。")
    s = re.sub(r"\s+", "", raw)
    s = s.replace("号", "日").replace("．", ".").replace("／", "/").replace("－", "-")
    s = _strip_time_of_day(s)
    result, inferred = _parse_date(s, raw, today, allow_future)
    if result > today and not allow_future:
        raise NormalizationError(f"“{raw}”是将来的日期（今天是{today.month}月{today.day}日），请确认后再说一次。")
    return DateResult(result, raw, inferred)


def _parse_date(s: str, raw: str, today: date, allow_future: bool) -> tuple[date, bool]:
    if s in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[s]), False
    m = re.fullmatch(rf"({_NUM})天(前|以前|之前)", s)
    if m:
        return today - timedelta(days=_cn_int(m.group(1))), False
    m = re.fullmatch(r"(上上|上|这|本|下)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天末])", s)
    if m:
        return _weekday(m.group(1), _WEEKDAYS[m.group(2)], today), False
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if m:
        return _build(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw), False
    m = re.fullmatch(rf"(\d{{4}}|[{_CN_DIGITS}]{{4}})[年./-]({_NUM})[月./-]({_NUM})日?", s)
    if m:
        year = _cn_year(m.group(1))
        return _build(year, _cn_int(m.group(2)), _cn_int(m.group(3)), raw), False
    m = re.fullmatch(rf"(上个?月|这个?月|本月)?({_NUM})日", s)
    if m:
        offset = -1 if (m.group(1) or "").startswith("上") else 0
        year, month = _shift_month(today, offset)
        d = _build(year, month, _cn_int(m.group(2)), raw)
        if m.group(1) is None and d > today and not allow_future:
            year, month = _shift_month(today, -1)
            d = _build(year, month, _cn_int(m.group(2)), raw)
        return d, True
    m = re.fullmatch(rf"(去年|今年|前年)?({_NUM})月({_NUM})日?", s) or re.fullmatch(
        r"(去年|今年|前年)?(\d{1,2})[./](\d{1,2})", s
    )
    if m:
        year = today.year - {"去年": 1, "前年": 2}.get(m.group(1) or "", 0)
        month, day = _cn_int(m.group(2)), _cn_int(m.group(3))
        d = _build(year, month, day, raw)
        if m.group(1) is None and d > today and not allow_future:
            d = _build(year - 1, month, day, raw)
        return d, m.group(1) is None
    raise NormalizationError(f"没看懂日期“{raw}”，请按“3月2日”或“2026年3月2日”的格式再说一次。")


def _cn_year(token: str) -> int:
    if token.isdigit():
        return int(token)
    digits = "".join(str(_cn_int(ch)) if ch not in "零〇" else "0" for ch in token)
    return int(digits)


def _weekday(prefix: str | None, weekday: int, today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    if prefix in ("这", "本"):
        return monday + timedelta(days=weekday)
    if prefix == "上":
        return monday - timedelta(days=7) + timedelta(days=weekday)
    if prefix == "上上":
        return monday - timedelta(days=14) + timedelta(days=weekday)
    if prefix == "下":
        return monday + timedelta(days=7 + weekday)
    # A bare 「周五」 in a complaint means the most recent Friday (today included).
    back = (today.weekday() - weekday) % 7
    return today - timedelta(days=back)


# --------------------------------------------------------------------------------------------
# amounts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AmountResult:
    value: Decimal
    text: str

    @property
    def yuan(self) -> float:
        return float(self.value)


def normalize_amount(text: str, *, maximum: Decimal = MAX_AMOUNT) -> AmountResult:
    """Parse 「三百五」「¥1,299.00」「两千块」「1.2万」「99元」「五十块钱」「3块5」 into yuan."""
    raw = (text or "").strip()
    if not raw:
        raise NormalizationError("请告诉我金额，例如“199元”。")
    if len(raw) > MAX_FIELD_TEXT:
        raise NormalizationError("请只告诉我金额，例如“199元”。")
    s = re.sub(r"\s+", "", raw)
    if s.startswith(("-", "－", "负")):
        raise NormalizationError(f"金额不能是负数：“{raw}”。")
    s = re.sub(r"^(人民币|RMB|CNY|¥|￥)", "", s, flags=re.I)
    s = re.sub(r"(人民币|RMB|CNY)$", "", s, flags=re.I)
    s = s.replace(",", "").replace("，", "")
    s = re.sub(r"(块钱|元钱|块|元)(左右|多)?$", "", s)
    m = re.fullmatch(rf"({_NUM})(?:块|元)({_NUM})(?:毛|角)?(?:({_NUM})分?)?", s)
    if m:
        value = _to_decimal(m.group(1), raw) + _to_decimal(m.group(2), raw) / 10
        if m.group(3):
            value += _to_decimal(m.group(3), raw) / 100
    else:
        s = re.sub(r"(左右|多)$", "", s)
        value = _to_decimal(s, raw)
    if not value.is_finite() or value.adjusted() > 12:
        raise NormalizationError(f"金额“{raw[:20]}”不像是一笔网购金额，请核对后再说。")
    value = value.quantize(Decimal("0.01"))
    if value <= 0:
        raise NormalizationError(f"金额必须大于0：“{raw}”。")
    if value > maximum:
        raise NormalizationError(f"金额“{raw}”超过{maximum:,.0f}元，不像是一笔网购金额，请核对后再说。")
    return AmountResult(value, raw)


def _to_decimal(token: str, raw: str) -> Decimal:
    try:
        return Decimal(token)
    except InvalidOperation:
        pass
    try:
        value = cn2an.cn2an(token, "smart")
    except (ValueError, KeyError, TypeError) as exc:
        raise NormalizationError(f"没看懂金额“{raw}”，请用数字再说一次，例如“199元”。") from exc
    return Decimal(str(value))


# --------------------------------------------------------------------------------------------
# order numbers and phones
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderNumberResult:
    value: str
    text: str


_ORDER_NUMBER_HINT = "订单号应为6到32位的数字或字母，请在订单详情页复制后再发给我。"
_PHONE_HINT = "手机号格式不对：应为11位、以1开头的中国大陆手机号，请再发一次。"


def normalize_order_number(text: str) -> OrderNumberResult:
    """Digits/letters, 6–32 characters, after removing spaces, dashes and a 「订单号：」 prefix."""
    raw = (text or "").strip()
    if len(raw) > MAX_FIELD_TEXT:
        raise NormalizationError(_ORDER_NUMBER_HINT)
    s = re.sub(r"^(订单(编)?号|单号|order(\s*(no|number|id))?)[:：#\s]*", "", raw, flags=re.I)
    s = re.sub(r"[\s\-－—_]", "", s)
    if not re.fullmatch(r"[A-Za-z0-9]{6,32}", s):
        raise NormalizationError(_ORDER_NUMBER_HINT)
    return OrderNumberResult(s, raw)


@dataclass(frozen=True)
class PhoneResult:
    value: str
    text: str

    @property
    def masked(self) -> str:
        return mask_phone(self.value)


def normalize_phone(text: str) -> PhoneResult:
    """Mainland mobile numbers: +86 / 0086 prefixes, spaces, dashes and brackets are removed."""
    raw = (text or "").strip()
    if len(raw) > MAX_FIELD_TEXT:
        raise NormalizationError(_PHONE_HINT)
    s = re.sub(r"[\s\-－—()（）.]", "", raw)
    s = re.sub(r"^(\+86|0086|86)(?=1\d{10}$)", "", s)
    if not re.fullmatch(r"1[3-9]\d{9}", s):
        raise NormalizationError(_PHONE_HINT)
    return PhoneResult(s, raw)


def mask_phone(phone: str) -> str:
    """138****1234: keep the first three and last four digits."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


# --------------------------------------------------------------------------------------------
# platforms
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlatformResult:
    name: str
    channel: str
    matched: str
    self_operated: bool = False


@lru_cache(maxsize=1)
def _aliases() -> list[tuple[str, str, str]]:
    data = yaml.safe_load(PLATFORMS_FILE.read_text(encoding="utf-8"))["platforms"]
    out = []
    for name, spec in data.items():
        for alias in {str(name), *map(str, spec.get("aliases", []))}:
            out.append((alias, str(name), spec.get("channel", "marketplace")))
    return sorted(out, key=lambda t: -len(t[0]))


def normalize_platform(text: str) -> PlatformResult | None:
    """Map 「狗东」「PDD」「某宝」「抖店」… to the canonical platform; None when unknown. Reads at
    most MAX_TEXT characters (a whole message)."""
    s = re.sub(r"\s+", "", (text or "")[:MAX_TEXT])
    if not s:
        return None
    lowered = s.lower()
    for alias, name, channel in _aliases():
        a = alias.lower()
        if re.fullmatch(r"[a-z0-9.]+", a):
            hit = re.search(rf"(?<![a-z0-9]){re.escape(a)}(?![a-z0-9])", lowered)
        else:
            hit = a in lowered
        if hit:
            return PlatformResult(name=name, channel=channel, matched=alias, self_operated="自营" in s)
    return None
