"""Parse and normalise complaint-form answers with the knowledge normalisers.

Every failure raises `SlotError` with a Chinese hint that says what a valid answer looks like.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from actions.facts import problem_names, remedy_names
from knowledge.normalize import (
    NormalizationError,
    normalize_amount,
    normalize_date,
    normalize_order_number,
    normalize_phone,
    normalize_platform,
)

# Slots the consumer may not know; after repeated failures they are filled with this marker.
OPTIONAL_SLOTS = {"shop": "不清楚", "order_date": "不记得", "order_id": "未提供"}
UNKNOWN_WORDS = re.compile(r"^(不清楚|不知道|不记得|忘了|记不清|没有|无|不详|跳过)[了啊呀吧。！!]*$")
NOT_SIGNED = re.compile(r"(未签收|没签收|没收到|还没到|没到货|未收到|没有收到|丢了|丢件)")
CORRECTION_CUE = re.compile(r"(不对|错了|说错|搞错|写错|更正|改成|改为|改一下|应该是|其实是)")
SLOT_KEYWORDS = (
    ("signed_date", re.compile(r"(签收|收到货|到货|收货)")),
    ("order_date", re.compile(r"(下单|下的单|买的时间|购买时间|付款时间)")),
    ("order_id", re.compile(r"(订单号|单号)")),
    ("phone", re.compile(r"(手机|电话|号码)")),
    ("amount", re.compile(r"(金额|实付|付了|花了|价格|多少钱|\d+\s*(元|块))")),
    ("platform", re.compile(r"(平台)")),
    ("shop", re.compile(r"(店铺|商家|店名)")),
)
_DATE_CANDIDATE = re.compile(
    r"(\d{4}\s*[年./-]\s*)?\d{1,2}\s*[月./-]\s*\d{1,2}\s*[日号]?"
    r"|[零〇一二三四五六七八九十]{1,3}月[零〇一二三四五六七八九十]{1,3}[日号]"
    r"|大前天|前天|昨天|今天|\d+天前|[一二三四五六七八九十]+天前"
    r"|(上上|上|这|本)?(个)?(周|星期|礼拜)[一二三四五六日天末]"
)
MAX_DESCRIPTION = 1000
CONSENT_NO = re.compile(r"(不同意|不行|不可以|不愿意|拒绝|不要|不授权|不允许)")
CONSENT_YES = re.compile(r"(同意|可以|好的|好|行|没问题|授权|允许|愿意|确认|嗯|是的|OK|ok)")


class SlotError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def find_date(text: str, today: date) -> date:
    """The date the consumer means, also inside a sentence (「是3月2号签收的」)."""
    try:
        return normalize_date(text, today).value
    except NormalizationError as exc:
        error = exc
    for match in _DATE_CANDIDATE.finditer(text or ""):
        try:
            return normalize_date(match.group(0), today).value
        except NormalizationError as exc:
            error = exc
    raise SlotError(error.message)


def _search(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(0) if m else None


def parse_slot(slot: str, value: Any, today: date) -> Any:
    """Normalised slot value, or SlotError with a hint."""
    text = str(value or "").strip()
    if slot == "consent":
        if isinstance(value, bool):
            return value
        said = str(value or "").strip()
        if CONSENT_NO.search(said):
            return False
        if CONSENT_YES.search(said):
            return True
        raise SlotError("请回复「同意」或「不同意」。")
    if not text:
        raise SlotError("这一项还没有填写，请再说一次。")
    if slot in OPTIONAL_SLOTS and UNKNOWN_WORDS.match(text):
        return OPTIONAL_SLOTS[slot]
    try:
        if slot == "platform":
            found = normalize_platform(text)
            if found is None:
                raise SlotError(
                    f"暂不支持“{text[:20]}”这个平台。请告诉我购物平台的名称，例如淘宝、天猫、京东、拼多多、抖音、快手、沙盒商城。"
                )
            return found.name
        if slot == "order_id":
            candidate = _search(r"[A-Za-z0-9][A-Za-z0-9\s-]{4,40}[A-Za-z0-9]", text) or text
            return normalize_order_number(candidate).value
        if slot == "amount":
            candidate = _search(r"[¥￥]?\s*[0-9零〇一二两三四五六七八九十百千万点.,，]+\s*(万|块钱|块|元|毛|角)?[0-9一二三四五六七八九]?", text) or text
            amount = normalize_amount(candidate).value
            return f"{amount.normalize():f}" if amount == amount.to_integral() else f"{amount:.2f}"
        if slot == "phone":
            candidate = _search(r"(\+?86[\s-]?)?1[\d\s-]{10,14}\d", text) or text
            return normalize_phone(candidate).value
        if slot == "order_date":
            return find_date(text, today).isoformat()
        if slot == "signed_date":
            if NOT_SIGNED.search(text):
                return "未签收"
            return find_date(text, today).isoformat()
        if slot == "problem":
            return _choose(text, problem_names(), "问题类型")
        if slot == "desired_remedy":
            return _choose(text, remedy_names(), "诉求")
        if slot == "description":
            if len(text) < 4:
                raise SlotError("请多说几句：发生了什么、商家怎么答复的。")
            return text[:MAX_DESCRIPTION]
        if slot in ("shop", "product"):
            if len(text) > 100:
                raise SlotError("名称太长了，请只说店铺或商品的名称。")
            return text
    except NormalizationError as exc:
        raise SlotError(exc.message) from None
    return text


def _choose(text: str, options: list[str], label: str) -> str:
    for option in options:
        if option in text:
            return option
    aliases = {
        "质量问题": ("坏", "质量", "故障", "漏", "破", "瑕疵", "不能用", "没声音", "开不了机"),
        "与描述不符": ("不符", "不一样", "货不对板", "色差", "描述"),
        "假货": ("假", "山寨", "高仿", "仿冒"),
        "拒绝七天无理由": ("七天", "7天", "无理由", "不给退"),
        "发货延迟": ("不发货", "没发货", "发货慢", "延迟", "迟迟"),
        "丢件": ("丢", "没收到", "快递丢"),
        "个人信息泄露": ("泄露", "信息", "骚扰电话"),
        "退货退款": ("退货", "退款", "退钱", "退"),
        "换货": ("换",),
        "维修": ("修",),
        "赔偿": ("赔",),
        "补偿": ("补",),
    }
    for option in options:
        if any(word in text for word in aliases.get(option, ())):
            return option
    raise SlotError(f"请从这些{label}中选一个：" + "、".join(options))


def detect_correction(text: str, requested: str | None, filled: set[str]) -> tuple[str, str] | None:
    """(slot, text) when the message corrects an answer given earlier (「不对，是3月2号签收的」)."""
    if not text or not CORRECTION_CUE.search(text):
        return None
    for slot, pattern in SLOT_KEYWORDS:
        if pattern.search(text) and (slot in filled or slot != requested):
            return slot, text
    return None
