"""Read the consumer's own words for the facts of their dispute.

A story (「我11月29号签收的一件毛衣，吊牌没拆，今天跟商家申请七天无理由」) becomes facts in the
rules engine's keys (signed_date, return_request_date, price_yuan, product, condition,
…), each with the words it came from. Answers to the intake's questions are read with the parser
of that question and, like any message, also for whatever else they say. The normalisers of
knowledge.normalize are the one home for dates, amounts, order numbers, phones and platform
names; the patterns are data (reader.yaml); nothing here decides anything legal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import cn2an
import yaml

from knowledge.normalize import (
    NormalizationError,
    normalize_amount,
    normalize_date,
    normalize_order_number,
    normalize_phone,
    normalize_platform,
)

SPEC_FILE = Path(__file__).with_name("reader.yaml")
MAX_TEXT = 2000  # the longest message any reader looks at (the chat accepts no more)
_SEP = "，,。；;！!？?\n \u3000"
_CLAUSE_END = re.compile(f"[{_SEP}]")
_QUOTE = re.compile(r"[“\"「『](.{2,60}?)[”\"」』]")
_DATE_RE = re.compile(
    r"(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号]?"
    r"|\d{4}[-./]\d{1,2}[-./]\d{1,2}"
    r"|(?<![\d月])(?:上个?月)?\d{1,2}[号日](?![\d])"
    r"|大前天|大前日|前天|前日|昨天|昨晚|琴日|寻日|尋日|噚日|今天|今日|今早|今晚"
    r"|(?:\d+|[一二两三四五六七八九十]+)天(?:前|以前|之前)"
    r"|(?:上上|上|这|本)?个?(?:周|星期|礼拜)[一二三四五六日天]"
)
_QUOTED_SPANS = re.compile(r"[“\"「『][^”\"」』]{1,60}[”\"」』]")
_REQUEST_MENTIONED = re.compile(
    r"(申请|要求|提出)[^，。；]{0,8}(退|换)|(找|跟|和|联系了?)[^，。；]{0,4}(商家|客服|店家|卖家|店里|店主)[^，。；]{0,8}(退|换)"
    r"|(商家|客服|店家|卖家)[^，。；]{0,4}(说|不给|拒绝|不同意|不让|不支持)"
)
# The goods never reached the consumer (in a story, or as the answer to 「哪天签收」).
_NOT_DELIVERED = re.compile(
    r"(还没|没有?|未)(发货|发出)|(还没|一直没|没有?|未)(签收|收到|收|到)(货|商品|东西|快递|包裹)?(?![^，。；]{0,3}(退款|钱|款|回复))"
    r"|快递(丢了|丢件|弄丢)|丢件|丢了"
)
_RELATIVE_ALIASES = {"昨晚": "昨天", "今早": "今天", "今晚": "今天", "前日": "前天", "大前日": "大前天",
                     "琴日": "昨天", "寻日": "昨天", "尋日": "昨天", "今日": "今天", "噚日": "昨天"}
_NUMBER = re.compile(
    r"[¥￥]?\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[kKwW](?![A-Za-z])|万(?:\d千)?\d*)?"
    r"|[零一二两三四五六七八九十百千万]{2,}|[一二两三四五六七八九十])"
    r"\s*(块钱|块|元|rmb|RMB)?"
)
_NOT_MONEY_AFTER = re.compile(
    r"^\s*(号|日|月|年|天|节|次|袋|瓶|个|件|小时|点|米|公里|km|%|％|倍|级|岁|斤|本|张|盒|分钟|周|楼|层|寸|G|g|人|位|支|台|部|双|套)"
)


class AnswerError(ValueError):
    """An answer that cannot be read for the question asked; `message` is Chinese for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Reading:
    """Facts found in one message, with the words each came from."""

    facts: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    question: bool = False  # the message asks something
    own_case: bool = False  # it is about the consumer's own dispute
    correction: bool = False  # it corrects something said before
    problems: list[str] = field(default_factory=list)  # Chinese notes on what could not be taken
    guessed: set[str] = field(default_factory=set)  # facts found without a purchase to tie them to

    def put(self, key: str, value: Any, words: str) -> None:
        self.facts[key] = value
        self.sources[key] = words.strip()[:80]

    def merge(self, other: Reading) -> None:
        for key, value in other.facts.items():
            if key not in self.facts:
                self.put(key, value, other.sources.get(key, ""))
        self.problems += [p for p in other.problems if p not in self.problems]
        self.question |= other.question
        self.own_case |= other.own_case
        self.correction |= other.correction

    @property
    def case_facts(self) -> list[str]:
        """Keys that describe a dispute (not bookkeeping such as the remedy wanted)."""
        return [k for k in self.facts if k not in ("desired_remedy", "shop", "seller_said")]


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, Any]:
    s = spec()

    def comp(items: list[str]) -> list[re.Pattern]:
        return [re.compile(p) for p in items]

    return {
        "roles": {role: comp(p) for role, p in s["date_roles"].items()},
        "condition": [(name, comp(p)) for name, p in s["condition"].items()],
        "flags": {k: comp(v) for k, v in s["flags"].items()},
        "false_flags": {k: comp(v) for k, v in s["false_flags"].items()},
        "true_second": {k: comp(v) for k, v in s["true_flags_second"].items()},
        "seller_info": {k: comp(v) for k, v in s["platform_provided_seller_info"].items()},
        "individual": comp(s["individual_seller"]),
        "question": comp(s["question_cues"]),
        "unknown": re.compile(s["unknown_words"]),
        "product": re.compile(
            "(?:" + "|".join(sorted(map(re.escape, s["product"]["verbs"]), key=len, reverse=True)) + ")"
            + r"\s*" + s["product"]["measure"] + r"\s*(?:的)?"
        ),
        "platform_at": re.compile(
            r"(?<![现正还实存好自所])在(?P<name>[\u4e00-\u9fa5A-Za-z0-9·\-]{2,16}?)(?:上|里|的)?"
            r"(?=一家|一个|看|买|下单|下的单|订|点|办|报|购买|给|直播间|从|搜|拍|提|充|借|租)"
        ),
        "platform_use": re.compile(r"用(?P<name>[\u4e00-\u9fa5A-Za-z0-9]{2,10}(?:App|APP|app|小程序))"),
    }


# ------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------
def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = max((text.rfind(c, 0, start) for c in _SEP), default=-1) + 1
    m = _CLAUSE_END.search(text, end)
    return left, (m.start() if m else len(text))


def _negated(text: str, pos: int) -> bool:
    """A negation shortly before, with nothing that ends its reach in between (「没开机激活」 is
    negated, 「没拆封就激活了」 is not)."""
    for word, reach in spec()["negations"].items():
        before = text[max(0, pos - int(reach)):pos]
        i = before.rfind(word)
        if i != -1 and not re.search(r"[就了后但却才再，。；,]", before[i + len(word):]):
            return True
    return False


def _find(patterns: list[re.Pattern], text: str, *, allow_negated: bool = False) -> re.Match | None:
    for p in patterns:
        for m in p.finditer(text):
            if allow_negated or not _negated(text, m.start()):
                return m
    return None


def _clause_of(text: str, m: re.Match) -> str:
    left, right = _clause_bounds(text, m.start(), m.end())
    return text[left:right]


def _contains_any(text: str, words: list[str]) -> bool:
    return any(w in text for w in words)


def _clean_name(name: str) -> str:
    name = re.sub(r"[“”\"「」『』'‘’（）()]", "", name).strip(" ，,。的了")
    return name[:30]


# ------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------
def _parse_date(token: str, today: date) -> date | None:
    token = _RELATIVE_ALIASES.get(token, token)
    try:
        return normalize_date(token, today).value
    except NormalizationError:
        return None


def _earliest_role(pats: dict[str, list[re.Pattern]], text: str) -> str | None:
    """The role whose cue comes first in `text` (ties: the order of reader.yaml)."""
    best: tuple[int, int, str] | None = None
    for rank, (role, patterns) in enumerate(pats.items()):
        if role == "seller_received_return":
            continue
        for p in patterns:
            m = p.search(text)
            if m and (best is None or (m.start(), rank) < best[:2]):
                best = (m.start(), rank, role)
    return best[2] if best else None


def _role_of_date(text: str, start: int, end: int, next_start: int) -> str | None:
    pats = _patterns()["roles"]
    left, right = _clause_bounds(text, start, end)
    clause = text[left:right]
    if any(p.search(clause) for p in pats["seller_received_return"]):
        return "seller_received_return_date"
    found = _earliest_role(pats, text[end:min(right, next_start)])
    if found:
        return found
    alone = len(_DATE_RE.sub("", text[left:right]).strip(" 是就在")) <= 1
    if alone and right < min(len(text), next_start):
        # 「11月29号，我收到了毛衣」: the date stands alone, its verb opens the next clause
        nxt = _CLAUSE_END.split(text[right + 1:min(next_start, right + 13)], 1)[0]
        found = _earliest_role(pats, nxt)
        if found:
            return found
    before = text[left:start]
    last: tuple[int, str] | None = None
    for role, patterns in pats.items():
        if role == "seller_received_return":
            continue
        for p in patterns:
            for m in p.finditer(before):
                if last is None or m.end() > last[0]:
                    last = (m.end(), role)
    return last[1] if last else None


def read_dates(text: str, today: date, reading: Reading) -> list[tuple[int, int]]:
    """Dates with their role; returns the spans taken so that amounts skip them."""
    spans = []
    matches = list(_DATE_RE.finditer(text))
    for i, m in enumerate(matches):
        spans.append(m.span())
        token = re.sub(r"\s+", "", m.group(0))
        value = _parse_date(token, today)
        if value is None:
            if re.search(r"\d", token):
                try:
                    normalize_date(token, today)
                except NormalizationError as exc:
                    reading.problems.append(exc.message)
            continue
        next_start = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        role = _role_of_date(text, m.start(), m.end(), next_start)
        if role is None:
            continue
        key = role if role.endswith("_date") else f"{role}_date"
        if key not in reading.facts:
            reading.put(key, value.isoformat(), _clause_of(text, m))
    return spans


# ------------------------------------------------------------------------------------------
# amounts
# ------------------------------------------------------------------------------------------
def _amount_value(token: str) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKwW])", token)
    if m:
        return float(m.group(1)) * (1000 if m.group(2) in "kK" else 10000)
    m = re.fullmatch(r"(\d+)万(?:(\d)千)?(\d*)", token)
    if m:
        value = int(m.group(1)) * 10000
        if m.group(2):
            value += int(m.group(2)) * 1000
            if m.group(3):
                value += int(m.group(3)[0]) * 100
        elif m.group(3):
            value += int(m.group(3)[0]) * 1000 if len(m.group(3)) == 1 else int(m.group(3))
        return float(value)
    try:
        return normalize_amount(token).yuan
    except NormalizationError:
        return None


def read_amounts(text: str, reading: Reading, skip: list[tuple[int, int]]) -> None:
    s = spec()
    roles = s["amount_roles"]
    paid: list[tuple[float, str]] = []
    total: list[tuple[float, str]] = []
    other: list[tuple[float, str]] = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in skip):
            continue
        token, unit = m.group(1), m.group(2)
        if len(token) == 1 and not token.isdigit() and not unit:
            continue  # 「一共」「三包」: a lone Chinese numeral is money only with 块/元
        left, right = _clause_bounds(text, m.start(), m.end())
        before = text[max(left, m.start() - 14):m.start()]
        after = text[m.end():right]
        clause = text[left:right].strip()
        if not unit:
            if _NOT_MONEY_AFTER.match(after) or before.endswith(("第", "月", "前", "前后")):
                continue
            money_words = s["price_paid_cues"] + s["price_total_cues"] + ["花", "价格", "售价"]
            money_words += roles["loss_yuan"] + roles["deposit_yuan"] + roles["card_fee_yuan"]
            cue = _contains_any(before[-6:], money_words)
            alone = re.fullmatch(r"[¥￥]?\s*" + re.escape(token) + r"[呢啊吧嘛呀哦]*", clause) is not None
            sized = bool(re.search(r"[kKwW百千万]", token))  # 1.2k, 两千四: amounts, not counts
            stuck = (bool(re.search(r"[\u4e00-\u9fa5]$", text[:m.start()])) and len(token) >= 2 and token.isdigit()
                     and (not after or re.match(r"[\s用买到收的，。,]", after) is not None))  # 「腊肠260」「电瓶899用了」
            if not (cue or alone or sized or stuck or m.group(0).lstrip().startswith(("¥", "￥")) or after.startswith("买")):
                continue
            if not re.search(r"\d", token) and not (cue or alone or sized or after.startswith("买")):
                continue
        value = _amount_value(token)
        if value is None:
            continue
        words = text[left:right]
        near = before + after[:6]
        if _contains_any(text[left:m.start()], roles["loss_yuan"]):
            reading.facts.setdefault("loss_yuan", value)
            reading.sources.setdefault("loss_yuan", words)
            continue
        if _contains_any(near, roles["card_fee_yuan"]):
            reading.facts.setdefault("card_fee_yuan", value)
            reading.sources.setdefault("card_fee_yuan", words)
            continue
        if _contains_any(near, roles["deposit_yuan"]):
            reading.facts.setdefault("deposit_yuan", value)
            reading.sources.setdefault("deposit_yuan", words)
            continue
        if _contains_any(near, roles["coupon"] + roles["shipping"]) or _contains_any(before[-5:], roles["offer"]):
            continue
        if _contains_any(after[:3], roles["unit_price"]):
            continue
        if _contains_any(before[-5:], s["price_paid_cues"]):
            paid.append((value, words))
        elif _contains_any(before[-5:], s["price_total_cues"]):
            total.append((value, words))
        else:
            other.append((value, words))
    for group in (paid, total, other):
        if group and "price_yuan" not in reading.facts:
            reading.put("price_yuan", group[0][0], group[0][1])


# ------------------------------------------------------------------------------------------
# product, platform, channel
# ------------------------------------------------------------------------------------------
def _product_name(tail: str, measured: bool = False) -> str | None:
    """The name at the start of `tail`: up to the clause end, after the last 的 of a modifier
    (「印着我家狗照片的T恤」 → T恤), before the first stop word."""
    s = spec()["product"]
    m = _CLAUSE_END.search(tail)
    name = tail[:m.start()] if m else tail
    name = re.split(r"(?:的时候|时候|之后|以后)", name)[0]
    quoted = _QUOTE.match(name)
    if "的" in name.replace(quoted.group(0) if quoted else "", ""):
        head, _, last = name.rpartition("的")
        if len(_clean_name(last)) >= 2:
            name = last
    name = name.lstrip("“\"「")
    cut = len(name)
    for stop in s["stops"]:
        i = name.find(stop, 1 if len(stop) > 1 else 2)
        if i != -1 and i < cut:
            cut = i
    name = _tidy_product(name[:cut])
    if name.startswith(("还", "没", "就", "也", "都", "又", "已", "才", "不", "了", "是", "在", "我", "你", "他", "她", "多")):
        return None
    if name.endswith(tuple(s["reject_endings"])):
        return None
    if len(name) < (1 if measured else 2) or name in s["reject"] or re.fullmatch(r"[\d.]+", name):
        return None
    return name[:20]


def _tidy_product(name: str) -> str:
    """A product name without the amount or count stuck to it (咖啡机1099, 牛轧糖3袋, 螺蛳粉一箱128)."""
    name = _clean_name(name)
    for _ in range(3):
        cut = _cut_count(name)
        if cut == name:
            break
        name = cut
    return name


def _cut_count(name: str) -> str:
    m = re.search(
        r"(?<=.{2})(?:[¥￥]\s*\d|\d+(?:\.\d+)?\s*(?:块钱|块|元|[个件双套束本瓶罐桶台部支根张盒袋把份条只副箱斤包节片])"
        r"|(?<=[\u4e00-\u9fa5])\d+(?:\.\d+)?$|[一二两三四五六七八九十几百千万]+(?:块|元|[个件双套束本瓶罐桶台部支根张盒袋把份条只副箱斤包节片])$"
        r"|[一二两三四五六七八九十几]+[百千万][一二两三四五六七八九十百千万]*$)",
        name)
    if m:
        name = name[:m.start()]
    return name.strip()


_PRODUCT_FALLBACK = re.compile(
    r"([\u4e00-\u9fa5A-Za-z]{2,10}?)\s*[¥￥]?\d+(?:\.\d+)?\s*(?:块钱|块|元)?\s*买的"
    r"|[一两几]\s*[件个双套台部条只]\s*[0-9]+\s*(?:块|元)钱?的([\u4e00-\u9fa5A-Za-z]{1,8}?)(?=[，,。；]|$)"
    r"|(?:店|家|买|网上)的[“\"「]?([\u4e00-\u9fa5A-Za-z]{2,10}?)[”\"」]?(?:过期|坏|漏|有问题|不合格|质量|是假|发霉|变质)"
)


def read_product(text: str, reading: Reading) -> None:
    for m in _patterns()["product"].finditer(text):
        measured = bool(re.search(r"[个件双套束本瓶罐桶台部支根张盒袋把款份条只副箱辆顶对枚颗]\s*$", m.group(0)))
        name = _product_name(text[m.end():m.end() + 24], measured)
        if name and measured:  # 「买的台灯」: 台 was the start of the name, not a measure word
            whole = _lexicon().match(text, m.end() - 1)
            if whole and whole.group(0)[1:] == name[:len(whole.group(0)) - 1]:
                name = whole.group(0)
        if name:
            reading.put("product", name, _clause_of(text, m))
            return
    m = _PRODUCT_FALLBACK.search(text)
    name = _tidy_product(next((g for g in m.groups() if g), "")) if m else ""
    if m and len(name) >= 2 and name not in spec()["product"]["reject"]:
        reading.put("product", name, _clause_of(text, m))
        return
    m = _lexicon().search(text)
    if m:  # a goods name alone: 「零食过期了能要十倍吗」 may be a question about the law
        reading.put("product", m.group(0), _clause_of(text, m))
        reading.guessed |= {"product"}


@lru_cache(maxsize=1)
def _lexicon() -> re.Pattern:
    """Goods names consumers use without a verb before them, longest first."""
    from knowledge.rules.common import load_yaml

    s = spec()
    words = set(s["goods_words"]) | set(s["food_words"]) | set(s["perishable_words"])
    for group in load_yaml("categories.yaml")["groups"].values():
        words |= {w for w in group["keywords"] if len(w) >= 2}
    return re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)))


def read_platform(text: str, reading: Reading) -> None:
    s = spec()
    found = normalize_platform(re.sub(r"\d{3,}", " ", text))
    if found is not None:
        reading.put("platform", found.name, found.matched)
        channel = found.channel
        misled = re.search(r"以为是?[^，。；]{0,4}(平台)?(自营|自己卖)", text)
        if found.self_operated and not misled:
            channel = "platform_self_operated"
        reading.put("channel", channel, found.matched)
        return
    pats = _patterns()
    for p in (pats["platform_at"], pats["platform_use"]):
        for m in p.finditer(text):
            name = re.sub(r"^(一个|一家|这个|那个|个)", "", m.group("name"))
            name = _clean_name(name)
            if len(name) < 2 or name in s["platform_not_names"] or name.startswith(("我", "他", "她", "店", "家")):
                continue
            reading.put("platform", name, _clause_of(text, m))
            return


def channel_of(name: str | None, text: str = "") -> str | None:
    """The channel a platform name (or, failing that, the story) implies; None when neither says."""
    s = spec()
    if name:
        found = normalize_platform(name)
        if found is not None:
            return "platform_self_operated" if found.self_operated else found.channel
        for channel, words in s["channels"].items():
            if _contains_any(name, words):
                return channel
    for channel, words in s["channels"].items():
        if channel in ("seller_own_site",):
            continue
        if channel == "platform_self_operated" and re.search(r"以为是?[^，。；]{0,4}(平台)?(自营|自己卖)", text):
            continue
        if _contains_any(text, [w for w in words if len(w) > 1]):
            return channel
    return None


def _category_flags(product: str, reading: Reading) -> None:
    s = spec()
    service = product.endswith(tuple(s["service_endings"])) or _contains_any(product, s["service_words"])
    if service and not product.endswith(tuple(s["goods_suffixes"])):
        reading.put("service_not_goods", True, product)
    goods = product.endswith(tuple(s["goods_suffixes"])) or _contains_any(product, ["机", "器", "膜", "瓶"])
    food = _contains_any(product, s["food_words"]) or product.endswith(tuple(s["food_endings"]))
    if food and not goods:
        reading.put("food", True, product)
    if _contains_any(product, s["perishable_words"]) and not goods:
        reading.put("perishable", True, product)
    if _contains_any(product, s["periodical_words"]):
        reading.put("periodical", True, product)
    if _contains_any(product, s["merchant_exclusion_words"]):
        reading.put("merchant_exclusion_category", True, product)


# ------------------------------------------------------------------------------------------
# flags, condition, promises
# ------------------------------------------------------------------------------------------
def read_condition(text: str, reading: Reading) -> None:
    """The goods' condition in the consumer's words: quoted words are what someone else said or
    wrote (「激活后不退」), so they are left out."""
    text = _QUOTED_SPANS.sub(lambda m: "，" * len(m.group(0)), text)
    for name, patterns in _patterns()["condition"]:
        m = _find(patterns, text, allow_negated=(name == "intact"))
        if m:
            reading.put("condition", name, _clause_of(text, m))
            return


def read_flags(text: str, reading: Reading) -> None:
    pats = _patterns()
    for key, patterns in pats["false_flags"].items():
        m = _find(patterns, text, allow_negated=True)
        if m and key not in reading.facts:
            reading.put(key, False, _clause_of(text, m))
    for key, patterns in pats["flags"].items():
        if key in reading.facts:
            continue
        m = _find(patterns, text)
        if m:
            reading.put(key, True, _clause_of(text, m))
    for key, patterns in pats["true_second"].items():
        m = _find(patterns, text, allow_negated=True)
        if m and key not in reading.facts:
            reading.put(key, True, _clause_of(text, m))
    for value, patterns in (("false", pats["seller_info"]["false"]), ("true", pats["seller_info"]["true"])):
        m = _find(patterns, text, allow_negated=True)
        if m and "platform_provided_seller_info" not in reading.facts:
            reading.put("platform_provided_seller_info", value == "true", _clause_of(text, m))
    m = _find(pats["individual"], text, allow_negated=True)
    if m:
        reading.put("seller_type", "individual_non_business", _clause_of(text, m))
    if reading.facts.get("merchant_exclusion_confirmed") is True:
        reading.facts.setdefault("merchant_exclusion_category", True)
        reading.sources.setdefault("merchant_exclusion_category", reading.sources["merchant_exclusion_confirmed"])
    if "transit_damage" not in reading.facts and re.search(
        r"(快递|物流|运输|路上|送到)[^。；]{0,10}(摔|压|碎|破损|损坏|坏了|裂)", text
    ):
        reading.facts.pop("defect", None)
        reading.sources.pop("defect", None)


def read_promises(text: str, reading: Reading) -> None:
    s = spec()
    m = re.search(s["unquoted_promise"] + r"([^。；！？“\"「]{4,40})", text)
    if m and "seller_promise" not in reading.facts:
        words = _CLAUSE_END.split(m.group(3), 1)[0] if len(m.group(3)) > 30 else m.group(3)
        if _contains_any(words, s["promise_terms"]) and not _contains_any(words, s["promise_must_not_contain"]):
            reading.put("seller_promise", words.strip(), m.group(0))
    for key, cue in s["promises"].items():
        for m in re.finditer(cue, text):
            q = _QUOTE.search(text, m.end())
            if not q or q.start() - m.end() > 4:
                continue
            words = q.group(1)
            if _contains_any(words, s["promise_must_contain"]) and not _contains_any(words, s["promise_must_not_contain"]):
                reading.put(key, words, _clause_of(text, m))
                break


_SELLER_SAID = re.compile(
    r"(商家|客服|店家|卖家|店主|店员|售后|平台)[^，。；“\"「]{0,6}(说|称|表示|回复|回我|答复)[了说：:，,]*"
    r"[“\"「]?([^”\"」。！？!?\n]{2,40})"
)


def read_seller_said(text: str, reading: Reading) -> None:
    """What the other side said (a refusal, a promise, an exclusion claim), kept in their words."""
    m = _SELLER_SAID.search(text)
    if m:
        reading.put("seller_said", m.group(3).strip("，, "), m.group(0))


_QUANTITY = re.compile(r"(?:一次|一共|总共)?(?:买|拍|下单|囤)了?\s*([0-9一二两三四五六七八九十]+)\s*(袋|瓶|盒|箱|件|个|罐|包|桶|支|斤)")
_REASONABLE = re.compile(
    r"(?:也就|只|就|顶多|最多|其实)[^，。；0-9一二两三四五六七八九十]{0,4}([0-9一二两三四五六七八九十]+)\s*(袋|瓶|盒|箱|件|个|罐|包|桶|支|斤)"
)


def read_injury_and_quantity(text: str, reading: Reading) -> None:
    """How badly the consumer was hurt, and for a knowing buyer how much they bought and needed."""
    for level in ("serious_or_death", "injury"):
        word = next((w for w in spec()["injury"][level] if w in text and not _negated(text, text.find(w))), None)
        if word:
            reading.put("injury", level, word)
            break
    m = _QUANTITY.search(text)
    if m and (n := _count(m.group(1))) and n > 1:
        reading.put("quantity", n, m.group(0))
        r = _REASONABLE.search(text, m.end())
        if r and (k := _count(r.group(1))) is not None and k < n and r.group(2) == m.group(2):
            reading.put("reasonable_quantity", k, r.group(0))


def _count(token: str) -> int | None:
    try:
        return int(token) if token.isdigit() else int(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def read_remedy(text: str, reading: Reading) -> None:
    for remedy, words in spec()["remedies"].items():
        for word in words:
            i = text.find(word)
            if i != -1 and not _negated(text, i):
                reading.put("desired_remedy", remedy, word)
                return


def read_shop(text: str, reading: Reading) -> None:
    m = re.search(r"(?:店铺|店|网店|商家)(?:名)?叫[“\"「]?([^”\"」，。；]{2,20})[”\"」]?", text) or re.search(
        r"[“\"「]?([\u4e00-\u9fa5A-Za-z0-9]{2,14}(?:旗舰店|专卖店|专营店|官方店|直营店|小店))[”\"」]?", text
    )
    if m:
        reading.put("shop", _clean_name(m.group(1).rpartition("由")[2]), m.group(0))


# ------------------------------------------------------------------------------------------
# entry points
# ------------------------------------------------------------------------------------------
def read_story(text: str, today: date, *, product: str | None = None) -> Reading:
    """Every fact a message states, whatever question (if any) it answers; `product` is the
    name of the goods when the message answers 「买的是什么」."""
    text = (text or "")[:MAX_TEXT]
    s = spec()
    reading = Reading()
    if not text.strip():
        return reading
    spans = read_dates(text, today, reading)
    read_amounts(text, reading, spans)
    if product:
        reading.put("product", product, text)
    else:
        read_product(text, reading)
    read_platform(text, reading)
    channel = channel_of(reading.facts.get("platform"), text)
    if channel is None and "platform" in reading.facts:
        channel = "marketplace"
    if channel and "channel" not in reading.facts:
        reading.put("channel", channel, reading.sources.get("platform") or text[:40])
    read_condition(text, reading)
    read_flags(text, reading)
    read_promises(text, reading)
    read_shop(text, reading)
    read_seller_said(text, reading)
    read_injury_and_quantity(text, reading)
    read_remedy(text, reading)
    if "signed_date" not in reading.facts and _NOT_DELIVERED.search(text):
        reading.put("signed_date", None, _NOT_DELIVERED.search(text).group(0))
    if "return_request_date" not in reading.facts and _REQUEST_MENTIONED.search(text):
        reading.put("return_request_mentioned", True, _REQUEST_MENTIONED.search(text).group(0))
    if "product" in reading.facts:
        before = set(reading.facts)
        _category_flags(str(reading.facts["product"]), reading)
        if "product" in reading.guessed:
            reading.guessed |= set(reading.facts) - before
        digital = _contains_any(str(reading.facts["product"]), s["digital_words"])
        if digital and (reading.facts.get("condition") in ("opened", "used")
                        or re.search(r"(拆了?塑封|拆封|激活|下载|兑换|绑定)", text)):
            reading.put("digital_opened", True, reading.sources.get("condition") or text[:40])
    if reading.facts.get("food_safety_violation") is True and reading.facts.get("food") is True:
        reading.facts.pop("defect", None)  # judged under the food-safety rules, not as a quality defect
    if reading.facts.get("food") is not True:
        reading.facts.pop("food_safety_violation", None)
        reading.facts.pop("seller_knew_food_violation", None)
    else:
        for key in ("fraud",):  # test reports on food are food-safety findings, not fraud
            if key in reading.facts and re.search(r"(检测|送检|检出)", reading.sources.get(key, "")):
                reading.facts.pop(key)
    reading.question = any(p.search(text) for p in _patterns()["question"])
    reading.correction = _contains_any(text, s["correction_cues"])
    reading.own_case = bool(reading.case_facts) or (
        reading.question and _contains_any(text, s["own_case_cues"])
    )
    return reading


def is_unknown(text: str) -> bool:
    return bool(_patterns()["unknown"].match((text or "").strip()))


_YES = re.compile(r"(点过|确认过|勾过|勾选过|提供了|给了|有的|有过|是的|是|对|有|嗯|确认|同意|可以|好的|好|行|没问题|ok|OK|提交)")
_NO = re.compile(r"(没有|没|否|不是|不对|不|无|未)")
_NOT_YET = re.compile(r"(还没|没有?提|未提|没申请|还没申请|没找|没联系)")


def read_answer(question: str, text: str, today: date, known: dict[str, Any] | None = None) -> Reading:
    """Read `text` as the answer to `question` (plus anything else it says). Raises AnswerError
    with a Chinese hint when the answer cannot be read; `is_unknown` answers are the caller's."""
    text = (text or "").strip()[:MAX_TEXT]
    known = known or {}
    product = None
    if question == "product":
        found = Reading()
        if _patterns()["product"].search(text) or len(text) > 30:  # a sentence, not just the name
            read_product(text, found)
        product = found.facts.get("product") or _tidy_product(re.sub(r"^(买的是|买了|是|就是)", "", text[:40]))
    reading = read_story(text, today, product=product)
    if question in ("story", "confirm"):
        return reading
    answer = Reading()
    if question == "platform":
        name = reading.facts.get("platform")
        if not name:
            found = normalize_platform(text)
            name = found.name if found else _clean_name(re.sub(r"^(在|是|就是|从)|(上|里)?(买的|下单的|买)$", "", text))
        if not name:
            raise AnswerError("请告诉我平台或渠道的名称，例如淘宝、京东、拼多多、某某App、实体店。")
        answer.put("platform", name, text)
        answer.put("channel", reading.facts.get("channel") or channel_of(name, text) or "marketplace", text)
    elif question == "product":
        name = reading.facts.get("product") or _clean_name(text[:40])
        if not name:
            raise AnswerError("请说一下买的是什么，例如「蓝牙耳机」「羽绒服」「健身年卡」。")
        answer.put("product", name, text)
        _category_flags(name, answer)
    elif question in ("signed_date", "return_request_date"):
        if question == "signed_date" and _NOT_DELIVERED.search(text):
            answer.put("signed_date", None, text)
        elif question == "return_request_date" and _NOT_YET.search(text):
            answer.put("return_request_date", None, text)
        else:
            answer.put(question, _one_date(text, today).isoformat(), text)
    elif question == "condition":
        cond = reading.facts.get("condition")
        if cond is None:
            raise AnswerError("请说一下商品的状态：没拆封／拆开看过没用过／已经用过／被我弄坏了。")
        answer.put("condition", cond, text)
    elif question in ("merchant_exclusion_confirmed", "platform_provided_seller_info"):
        if _NO.search(text):
            answer.put(question, False, text)
        elif _YES.search(text):
            answer.put(question, True, text)
        else:
            raise AnswerError("请回答「有」或「没有」。")
    elif question in ("price_yuan", "loss_yuan"):
        answer.put(question, _one_amount(text, allow_zero=True), text)
    elif question == "order_id":
        if re.search(r"(没有|不记得|找不到|忘了|不知道|没|无)", text) and not re.search(r"\d{6,}", text):
            answer.put("order_id", None, text)
        else:
            candidate = re.search(r"[A-Za-z0-9][A-Za-z0-9\s-]{4,40}[A-Za-z0-9]", text)
            try:
                answer.put("order_id", normalize_order_number(candidate.group(0) if candidate else text).value, text)
            except NormalizationError as exc:
                raise AnswerError(exc.message + "没有订单号可以回复「没有」。") from None
    elif question == "phone":
        candidate = re.search(r"(\+?86[\s-]?)?1[\d\s-]{10,14}\d", text)
        try:
            answer.put("phone", normalize_phone(candidate.group(0) if candidate else text).value, "（手机号）")
        except NormalizationError as exc:
            raise AnswerError(exc.message) from None
    elif question == "seller_type":
        if re.search(r"(个人|闲置|自己用|私人)", text):
            answer.put("seller_type", "individual_non_business", text)
        elif re.search(r"(商家|店铺|店|专业|公司|卖家很多|经营)", text):
            answer.put("seller_type", "business", text)
        else:
            raise AnswerError("请回答「个人卖闲置」或「商家/店铺」。")
    answer.merge(reading)
    answer.question, answer.own_case, answer.correction = reading.question, reading.own_case, reading.correction
    return answer


def _one_date(text: str, today: date) -> date:
    try:
        return normalize_date(_RELATIVE_ALIASES.get(text, text), today).value
    except NormalizationError as exc:
        error = exc
    for m in _DATE_RE.finditer(text):
        token = _RELATIVE_ALIASES.get(m.group(0), m.group(0))
        try:
            return normalize_date(token, today).value
        except NormalizationError as exc:
            error = exc
    raise AnswerError(error.message)


def _one_amount(text: str, *, allow_zero: bool) -> float:
    if allow_zero and re.search(r"(^0\s*(元|块)?$|(?<![\d.])0\s*元|零元|免费|没花钱|没有损失|没损失|白送|赠送的)", text):
        return 0.0
    reading = Reading()
    read_amounts(text, reading, [])
    if "price_yuan" in reading.facts:
        return float(reading.facts["price_yuan"])
    for key in ("loss_yuan", "deposit_yuan", "card_fee_yuan"):
        if key in reading.facts:
            return float(reading.facts[key])
    try:
        return normalize_amount(text).yuan
    except NormalizationError as exc:
        raise AnswerError(exc.message) from None
