"""Read the consumer's own words for the facts of their dispute.

A story (「我11月29号签收的一件毛衣，吊牌没拆，今天跟商家申请七天无理由」) becomes facts in the
rules engine's keys (signed_date, return_request_date, price_yuan, product, condition,
…), each with the words it came from. Answers to the intake's questions are read with the parser
of that question and, like any message, also for whatever else they say. The normalisers of
knowledge.normalize are the one home for dates, amounts, order numbers, phones and platform
names; the patterns are data (reader.yaml); nothing here decides anything legal.

Besides the seven-day, quality, fraud and food facts, the reader finds the v2 facts of the eval
README (prepaid services, deposits, unauthorised payments, renewals, late delivery and 催告,
warranty and car 三包, endorsers, imported food, reports without a purchase); a few helper keys
(`*_mentioned`) tell the question policy that a regime is at stake when its figures are missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
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
MAX_DATES = 30  # no story tells more; a message of hundreds of dates is not read date by date
_SEP = "，,。；;！!？?\n \u3000"
_CLAUSE_END = re.compile(f"[{_SEP}]")
_QUOTE = re.compile(r"[“\"「『](.{2,60}?)[”\"」』]")
# Every numeric branch starts with a look-behind so that a long run of digits is not retried at
# each of its positions (a 2,000-digit message must still read in milliseconds).
_DATE_RE = re.compile(
    r"(?<!\d)(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号]?"
    r"|(?<!\d)\d{4}[-./]\d{1,2}[-./]\d{1,2}"
    r"|(?<![\d月])(?:上个?月)?\d{1,2}[号日](?![\d])"
    r"|大前天|大前日|前天|前日|昨天|昨晚|琴日|寻日|尋日|噚日|今天|今日|今早|今晚"
    r"|(?:(?<!\d)\d{1,4}|(?<![一二两三四五六七八九十])[一二两三四五六七八九十]{1,4})天(?:前|以前|之前)"
    r"|(?:上上|上|这|本)?个?(?:周|星期|礼拜)[一二三四五六日天]"
)
_QUOTED_SPANS = re.compile(r"[“\"「『][^”\"」』]{1,60}[”\"」』]")
_REQUEST_MENTIONED = re.compile(
    r"(申请|要求|提出)[^，。；]{0,8}(退|换)|(找|跟|和|联系了?)[^，。；]{0,4}(商家|客服|店家|卖家|店里|店主)[^，。；]{0,8}(退|换)"
    r"|(商家|客服|店家|卖家)[^，。；]{0,4}(说|不给|拒绝|不同意|不让|不支持)"
)
# The goods never reached the consumer (in a story, or as the answer to 「哪天签收」).
_NOT_DELIVERED = re.compile(
    r"(还没|没有?|未)(发货|发出)|(还没|一直没|没有?|未)(签收|收到|收|到)(货|商品|东西|快递|包裹)?(?![^，。；]{0,3}(退款|钱|款|回复|提醒|通知|短信|消息|验证码))"
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
        "gates": {k: re.compile(v) for k, v in s["flag_gates"].items()},
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
    matches = list(_DATE_RE.finditer(text))[:MAX_DATES]
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
    deposit_story = _contains_any(text, roles["deposit_yuan"])
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
        if before.rstrip().endswith(tuple(roles["bonus"])) or _contains_any(before[-5:], roles["consumed"]):
            continue  # bonus credit of a stored-value card, credit used or left: not what was paid
        if _contains_any(before[-4:], roles["list_price"]):
            continue  # a pre-discount price (read by read_prepaid)
        if deposit_story and _contains_any(before[-6:], roles["deduction"]):
            continue  # a deduction from a deposit (read by read_deposit)
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
    name = _DATE_RE.split(name, 1)[0]  # 「健身卡6月6号就去退了」
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
    if name.startswith(("还", "没", "就", "也", "都", "又", "已", "才", "不", "了", "是", "在", "我", "你", "他", "她", "多",
                        "过", "子")):
        return None
    if name.endswith(tuple(s["reject_endings"])) or re.match(r"\d+\s*(天|个月|小时|次|节)", name):
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
    m = re.match(r"\s*(?P<name>[\u4e00-\u9fa5A-Za-z0-9]{2,10}?)\s*(?:" + _DATE_RE.pattern + r")\s*(?:就|才|刚)?"
                 + spec()["product"]["arrived_after"], text)
    if m and (name := _product_name(m.group("name"))):  # 「电热毯前天到的」: the goods named first
        reading.put("product", name, _clause_of(text, m))
        return
    m = _PRODUCT_FALLBACK.search(text)
    name = _tidy_product(next((g for g in m.groups() if g), "")) if m else ""
    if m and len(name) >= 2 and name not in spec()["product"]["reject"]:
        reading.put("product", name, _clause_of(text, m))
        return
    for m in _lexicon().finditer(text):
        if _inside_other_word(text, m):
            continue  # 「结果冻结」 holds no 果冻
        # a goods name alone: 「零食过期了能要十倍吗」 may be a question about the law
        reading.put("product", m.group(0), _clause_of(text, m))
        reading.guessed |= {"product"}
        return


def _inside_other_word(text: str, m: re.Match) -> bool:
    """The match overlaps a common word that is no goods name (reader.yaml `not_goods_words`)."""
    for word in spec()["not_goods_words"]:
        for w in re.finditer(re.escape(word), text[max(0, m.start() - len(word)):m.end() + len(word)]):
            a = max(0, m.start() - len(word)) + w.start()
            b = a + len(word)
            if a < m.end() and m.start() < b and not (a >= m.start() and b <= m.end()):
                return True
    return False


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
        elif channel == "marketplace" and re.search(s["live_purchase"].replace("{platform}", re.escape(found.matched)), text):
            channel = "live_stream"  # the platform's live stream (「看某宝直播买的」)
        reading.put("channel", channel, found.matched)
        return
    pats = _patterns()
    m = re.search(s["platform_quoted"], text)
    if m and m.group("name") not in s["platform_not_names"]:
        reading.put("platform", _clean_name(m.group("name")), m.group(0))
        if m.group("own") and not re.search(s["platform_shop_on_it"], text[m.end():m.end() + 30]):
            reading.put("channel", "seller_own_site", m.group(0))
        return
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
        if _contains_any(name, s["offline_venues"]):
            return "offline_store"
    for channel, words in s["channels"].items():
        if channel in ("seller_own_site",):
            continue
        if channel == "platform_self_operated" and re.search(r"以为是?[^，。；]{0,4}(平台)?(自营|自己卖)", text):
            continue
        if _contains_any(text, [w for w in words if len(w) > 1]):
            return channel
    if _offline_purchase().search(text):
        return "offline_store"
    return None


@lru_cache(maxsize=1)
def _offline_purchase() -> re.Pattern:
    s = spec()
    venues = "|".join(sorted(map(re.escape, s["offline_venues"]), key=len, reverse=True))
    return re.compile(s["offline_purchase"].replace("{venue}", venues))


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
    for key, gate in pats["gates"].items():
        if key in reading.facts and not gate.search(text):
            reading.facts.pop(key)
            reading.sources.pop(key, None)
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
                if re.search(s["shipping_only_promise"], words) and not _contains_any(words, s["return_promise_terms"]):
                    break  # who pays the return postage is no promise to take the goods back (read as a flag)
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


_QUANTITY = re.compile(r"(?:一次|一共|总共)?(?:买|拍|下单|囤)了?\s*([0-9一二两三四五六七八九十]+)\s*(袋|瓶|盒|箱|件|个|罐|包|桶|支|斤)(?!月)")
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


# ------------------------------------------------------------------------------------------
# v2 facts: prepaid services, deposits, payments, renewals, late delivery, warranty, cars,
# endorsers, imports and reports (patterns: reader.yaml `v2`)
# ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _v2() -> dict[str, Any]:
    """The `v2` patterns compiled; lists of patterns stay lists, word lists stay words."""
    out: dict[str, Any] = {}
    for key, value in spec()["v2"].items():
        if isinstance(value, str) and not key.endswith("_label"):
            out[key] = re.compile(value)
        elif isinstance(value, list) and not key.endswith("_words"):
            out[key] = [re.compile(p) for p in value]
        else:
            out[key] = value
    return out


@dataclass
class _Dated:
    start: int
    end: int
    value: date


def _dated(text: str, today: date) -> list[_Dated]:
    """Every date of the message that the normaliser understands, in order."""
    out = []
    for m in _DATE_RE.finditer(text):
        value = _parse_date(re.sub(r"\s+", "", m.group(0)), today)
        if value is not None:
            out.append(_Dated(m.start(), m.end(), value))
    return out


def _date_before(dates: list[_Dated], text: str, pos: int, reach: int = 40) -> _Dated | None:
    """The last date before `pos` in the same sentence and within `reach` characters."""
    for d in reversed(dates):
        if d.end <= pos and pos - d.end <= reach and not re.search(r"[。！？!?\n]", text[d.end:pos]):
            return d
    return None


def _number(token: str) -> float | None:
    if token == "半":
        return 0.5
    try:
        return float(token) if re.fullmatch(r"\d+(?:\.\d+)?", token) else float(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _yuan(token: str) -> float:
    """An amount of money matched by a v2 pattern, through the money normaliser."""
    value = _amount_value(token)
    return float(token) if value is None else value


def _first(patterns: re.Pattern | list[re.Pattern], text: str) -> re.Match | None:
    for p in patterns if isinstance(patterns, list) else [patterns]:
        m = p.search(text)
        if m:
            return m
    return None


def money_back_story(text: str, reading: Reading) -> bool:
    """Money to get back from a business (a prepayment, a deposit, a charge) rather than goods to
    send back: a request then dates `refund_request_date`, not `return_request_date`."""
    keys = ("deposit_yuan", "auto_renewal", "unauthorized_payment", "prepaid_paid_date", "prepaid_units_total")
    v = _v2()
    return (any(reading.facts.get(k) not in (None, False) for k in keys)
            or bool(v["money_back_context"].search(text) or v["prepaid_context"].search(text)))


def read_prepaid(text: str, today: date, reading: Reading) -> None:
    """A prepayment for a service (预付式消费): when it was paid, how much of it was used, at which
    list price, and whose side the refund is due to."""
    v = _v2()
    if not v["prepaid_context"].search(text) or reading.facts.get("auto_renewal"):
        return
    reading.put("prepaid_mentioned", True, v["prepaid_context"].search(text).group(0))
    if reading.facts.get("order_date"):
        reading.put("prepaid_paid_date", reading.facts["order_date"], reading.sources.get("order_date", ""))
    credit = v["stored_value"].search(text)
    if credit:
        paid, bonus = _yuan(credit.group("paid")), _yuan(credit.group("bonus"))
        reading.put("price_yuan", paid, credit.group(0))
        reading.put("prepaid_units_total", int(paid + bonus), credit.group(0))
        reading.put("prepaid_list_unit_price_yuan", 1, credit.group(0))
    elif (m := v["credit_total"].search(text)) and "充" in text:
        reading.put("prepaid_units_total", int(_yuan(m.group("n"))), m.group(0))
        reading.put("prepaid_list_unit_price_yuan", 1, m.group(0))
    elif m := v["stored_plain"].search(text):  # stored value without bonus: yuan of credit at 1 each
        reading.put("prepaid_units_total", int(_yuan(m.group("paid"))), m.group(0))
        reading.put("prepaid_list_unit_price_yuan", 1, m.group(0))
    if reading.facts.get("prepaid_list_unit_price_yuan") == 1 and "product" not in reading.facts:
        reading.put("product", v["stored_product_label"], (credit or m).group(0) if (credit or m) else text[:20])
        reading.guessed |= {"product"}
    if reading.facts.get("prepaid_list_unit_price_yuan") == 1:  # stored value: units are yuan of credit
        used = v["credit_used"].search(text)
        left = v["credit_left"].search(text)
        total = reading.facts.get("prepaid_units_total")
        if used:
            reading.put("prepaid_units_used", int(_yuan(used.group("n"))), used.group(0))
        elif left and total:
            reading.put("prepaid_units_used", int(total - _yuan(left.group("n"))), left.group(0))
    else:
        _prepaid_sessions(text, today, reading)
    if "prepaid_units_used" not in reading.facts and (m := v["none_used"].search(text)):
        reading.put("prepaid_units_used", 0, m.group(0))
    for p in v["list_price"]:
        m = p.search(text)
        if m and "prepaid_list_unit_price_yuan" not in reading.facts:
            reading.put("prepaid_list_unit_price_yuan", _yuan(m.group("n")), m.group(0))
    if reading.facts.get("business_stopped_service") or _first(v["cause_business"], text):
        m = _first(v["cause_business"], text)
        reading.put("prepaid_refund_cause", "business", m.group(0) if m else reading.sources.get("business_stopped_service", ""))
    elif m := _first(v["cause_consumer"], text):
        reading.put("prepaid_refund_cause", "consumer", m.group(0))


def _prepaid_sessions(text: str, today: date, reading: Reading) -> None:
    """Sessions bought and used, or for an unlimited card the days of its term and the days it
    served before the service stopped."""
    v = _v2()
    term = v["term_days"].search(text)
    card = next((name for name in v["card_term_days"] if name in text and not re.search("半" + name, text)), None)
    unlimited = bool(term or (card and v["unlimited"].search(text)))
    if unlimited:
        days = _count(term.group("n")) if term else int(v["card_term_days"][card])
        reading.put("prepaid_units_total", days, term.group(0) if term else card)
        paid = reading.facts.get("prepaid_paid_date")
        stop = v["stop_cues"].search(text)
        if paid and stop:
            when = _date_before(_dated(text, today), text, stop.start(), 60)
            if when and when.value > date.fromisoformat(paid):
                served = (when.value - date.fromisoformat(paid)).days
                reading.put("prepaid_units_used", min(served, days), text[when.start:stop.end()])
        return
    used = v["sessions_used"].search(text)
    left = v["sessions_left"].search(text)
    taken = {m.span("n") for p in (v["sessions_used"], v["sessions_left"]) for m in p.finditer(text)}
    totals = [(n, m) for m in v["sessions_total"].finditer(text)
              if m.span("n") not in taken and (n := _count(m.group("n"))) and n > 1]
    if totals:  # the largest number of sessions that is not the number used or left
        n, m = max(totals, key=lambda t: t[0])
        reading.put("prepaid_units_total", n, m.group(0))
    if used and (k := _count(used.group("n"))) is not None:
        reading.put("prepaid_units_used", k, used.group(0))
    elif left and (k := _count(left.group("n"))) is not None and reading.facts.get("prepaid_units_total"):
        reading.put("prepaid_units_used", int(reading.facts["prepaid_units_total"]) - k, left.group(0))


def read_deposit(text: str, reading: Reading) -> None:
    """A deduction from a deposit counts only where the deposit agreement provides for it."""
    v = _v2()
    if "deposit_yuan" not in reading.facts:
        if m := v["deposit_mentioned"].search(text):
            reading.put("deposit_mentioned", True, m.group(0))
        return
    if (m := v["rental"].search(text)) and "service_not_goods" not in reading.facts:
        reading.put("service_not_goods", True, m.group(0))  # the deposit secures a rental: a service
    for sentence in re.split(r"[。！？!?\n]", text):
        m = v["deduction"].search(sentence)
        if not m:
            continue
        if v["agreement_denied"].search(sentence):
            continue
        if v["agreement"].search(sentence):
            reading.put("deposit_deduction_yuan", _yuan(m.group("n")), sentence)
            return
        reading.facts.setdefault("deposit_deduction_mentioned", True)
        reading.sources.setdefault("deposit_deduction_mentioned", sentence)


def read_payment(text: str, reading: Reading) -> None:
    """An unauthorised payment: what was taken, what was taken after the user's notice, and the
    payment tool (the `platform` of such a dispute, on its own site)."""
    v = _v2()
    if not reading.facts.get("unauthorized_payment"):
        return
    taken = [(m.start(), _yuan(m.group("n")), m.group(0)) for m in v["taken"].finditer(text)]
    taken += [(m.start(), _yuan(m.group("n")), m.group(0)) for m in v["taken_again"].finditer(text)
              if not any(abs(m.start() - t[0]) < 4 for t in taken)]
    if taken:
        reading.put("loss_yuan", sum(t[1] for t in taken), "；".join(t[2] for t in taken))
    notice = v["notice"].search(text)
    if notice:
        after = [t for t in taken if t[0] > notice.end()
                 and re.search(r"(又|还|仍|再|继续|接着)", text[max(notice.end(), t[0] - 8):t[0] + 3])]
        if after:
            reading.put("loss_after_notice_yuan", sum(t[1] for t in after), "；".join(t[2] for t in after))
        elif m := v["nothing_after"].search(text, notice.start()):
            reading.put("loss_after_notice_yuan", 0.0, m.group(0))
    if "platform" not in reading.facts and (m := v["wallet_name"].search(text)):
        name = m.group("name") or m.group("bare")
        reading.put("platform", name, m.group(0))
        reading.put("channel", "seller_own_site", m.group(0))
    elif reading.facts.get("platform") and reading.facts.get("channel") == "marketplace" \
            and _contains_any(str(reading.facts["platform"]), ["钱包", "支付", "宝", "银行", "Pay", "pay"]):
        reading.put("channel", "seller_own_site", reading.sources.get("platform", ""))
    if reading.facts.get("price_yuan") in [t[1] for t in taken] or "price_yuan" not in reading.facts:
        reading.put("price_yuan", 0.0, "（未购买商品）")
    reading.put("service_not_goods", True, reading.sources.get("unauthorized_payment", ""))  # a payment service
    for key in ("fraud", "defect", "condition", "signed_date", "product"):  # a fraudster's lie is no seller's fraud; nothing was bought
        reading.facts.pop(key, None)
        reading.sources.pop(key, None)


def read_delivery(text: str, today: date, reading: Reading) -> None:
    """Goods not yet delivered: the date promised, and the consumer's 催告 with its period."""
    v = _v2()
    if reading.facts.get("signed_date") or not v["not_shipped"].search(text):
        return
    if "signed_date" not in reading.facts and (m := v["never_shipped"].search(text)):
        reading.put("signed_date", None, m.group(0))
    dates = _dated(text, today)
    order = reading.facts.get("order_date")
    m = v["ship_within"].search(text)
    if m and order and "promised_delivery_date" not in reading.facts and (n := _count(m.group("n"))):
        start = date.fromisoformat(order)
        if "工作日" in m.group("unit"):
            from knowledge.rules import add_working_days

            promised = add_working_days(start, n)
        else:
            promised = start + timedelta(days=-(-n // 24) if "时" in m.group("unit") else n)
        reading.put("promised_delivery_date", promised.isoformat(), m.group(0))
    period = v["reminder_period"].search(text)
    if period and (n := _count(period.group("n"))):
        when = _date_before(dates, text, period.start(), 60)
        if when:
            _reminder(reading, when.value, text[when.start:period.end()])
        reading.put("reminder_period_days", n, period.group(0))
        return
    for d in dates:  # 「16号前还不发货就取消」: the period ends on that day
        if v["reminder_until"].match(text, d.end):
            when = _date_before([x for x in dates if x.end <= d.start], text, d.start, 80)
            if when and when.value < d.value:
                _reminder(reading, when.value, text[when.start:d.end + 6])
                if reading.facts.get("promised_delivery_date") == d.value.isoformat():
                    reading.facts.pop("promised_delivery_date")  # the reminder's deadline, not the seller's promise
                reading.put("reminder_period_days", (d.value - when.value).days, text[d.start:d.end + 6])
                return
    for m in v["reminder_cues"].finditer(text):
        if _negated(text, m.start()):
            continue  # 「还没去催过」
        when = _date_before(dates, text, m.start(), 20)
        if when:
            _reminder(reading, when.value, text[when.start:m.end()])
            return


def _reminder(reading: Reading, day: date, words: str) -> None:
    """A 催告 on `day`; the same day read as a return request is no return (nothing arrived)."""
    reading.put("delivery_reminder_date", day.isoformat(), words)
    if reading.facts.get("return_request_date") == day.isoformat():
        reading.facts.pop("return_request_date")
        reading.sources.pop("return_request_date", None)
    reading.facts.pop("return_request_mentioned", None)


def read_warranty(text: str, reading: Reading) -> None:
    """A warranty or 三包 period: its length and start, exchanges and repairs; for cars the
    mileage, the kind of fault and the usage coefficient."""
    v = _v2()
    vehicle = bool(v["vehicle_context"].search(text))
    if not (vehicle or v["warranty_context"].search(text)):
        return
    reading.put("warranty_mentioned", True, (v["vehicle_context"].search(text) or v["warranty_context"].search(text)).group(0))
    for p in v["warranty_months"]:
        m = p.search(text)
        if m and (n := _number(m.group("n"))):
            reading.put("warranty_months", int(n * 12) if m.group("unit") == "年" else int(n), m.group(0))
            break
    start = reading.facts.get("signed_date") or (reading.facts.get("order_date") if vehicle else None)
    if start and "warranty_start_date" not in reading.facts:  # a car's: the invoice (or delivery) date
        key = "signed_date" if reading.facts.get("signed_date") else "order_date"
        reading.put("warranty_start_date", start, reading.sources.get(key, ""))
    m = v["repair_days"].search(text)
    if m and (n := _count(m.group("n"))):
        reading.put("warranty_repair_days", n, m.group(0))
    m = _first(v["repair_count"], text)
    if m and (n := _count(m.group("n"))):
        reading.put("warranty_repair_count", n, m.group(0))
    if v["repair_cues"].search(text):
        reading.put("repair_mentioned", True, v["repair_cues"].search(text).group(0))
    if not vehicle:
        return
    if "product" not in reading.facts or reading.facts["product"] in ("车", "车子"):
        reading.put("product", v["vehicle_product_label"], v["vehicle_context"].search(text).group(0))
    m = v["km"].search(text)
    if m:
        km = float(m.group("n")) * (10000 if m.group("wan") else 1)
        reading.put("vehicle_km", int(km), m.group(0))
    for fault, pattern in v["vehicle_faults"].items():
        m = _find([re.compile(pattern)], text)
        if m:
            reading.put("vehicle_fault", fault, m.group(0))
            break
    m = v["coefficient"].search(text)
    if m:
        if m.group("permille"):
            n = (_count(m.group("permille")) or 0) / 1000
        else:
            n = float(m.group("n")) / (100 if m.group("unit") in ("%", "％") else 1000 if m.group("unit") == "‰" else 1)
        reading.put("vehicle_usage_coefficient", n, m.group(0))


def read_v2(text: str, today: date, reading: Reading) -> None:
    """The facts of the v2 regimes; flags (renewal, payment, endorser, import, report) are read
    with the other flags, these need numbers and dates."""
    v = _v2()
    read_prepaid(text, today, reading)
    read_deposit(text, reading)
    read_payment(text, reading)
    read_delivery(text, today, reading)
    read_warranty(text, reading)
    if reading.facts.get("endorser_involved"):
        product = str(reading.facts.get("product") or "")
        health = reading.facts.get("food") is True or _contains_any(product + text, v["life_health_words"])
        if health:
            reading.put("life_health_goods", True, product or reading.sources.get("endorser_involved", ""))
    if reading.facts.get("cross_border") is False and v["false_cross_border"].search(text):
        reading.facts.setdefault("fraud", True)  # a falsified origin (处罚办法第五条第（三）项)
        reading.sources.setdefault("fraud", reading.sources.get("cross_border", ""))
    if reading.facts.get("auto_renewal") and reading.facts.get("channel") == "marketplace" \
            and reading.facts.get("platform") and normalize_platform(str(reading.facts["platform"])) is None:
        reading.put("channel", "seller_own_site", reading.sources.get("platform", ""))  # a service's own subscription
        reading.facts.setdefault("service_not_goods", True)
    if reading.facts.get("reporter_only"):
        for key in ("signed_date", "condition", "return_request_mentioned", "desired_remedy"):
            reading.facts.pop(key, None)
        if "price_yuan" not in reading.facts:
            reading.put("price_yuan", 0.0, reading.sources.get("reporter_only", ""))
    if money_back_story(text, reading) and not reading.facts.get("signed_date"):
        request = reading.facts.pop("return_request_date", None)
        source = reading.sources.pop("return_request_date", "")
        reading.facts.pop("return_request_mentioned", None)
        if request and "refund_request_date" not in reading.facts:
            reading.put("refund_request_date", request, source)
    m = v["same_day_request"].search(text)
    if m:
        key = "refund_request_date" if money_back_story(text, reading) and not reading.facts.get("signed_date") \
            else "return_request_date"
        when = next((d for d in reversed(_dated(text, today)) if d.end <= m.start() and m.start() - d.end <= 80), None)
        if when and key not in reading.facts:
            reading.put(key, when.value.isoformat(), text[when.start:m.end()])
            reading.facts.pop("return_request_mentioned", None)


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
    _relative_request(text, reading)
    read_v2(text, today, reading)
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


def _relative_request(text: str, reading: Reading) -> None:
    """A return request dated by the days after signing (「签收后第二天就申请了退货」)."""
    signed = reading.facts.get("signed_date")
    m = re.search(spec()["relative_request"], text)
    if not (m and signed) or "return_request_date" in reading.facts:
        return
    when = m.group("when")
    if when in ("当天", "当晚"):
        days = 0
    elif when in ("隔天", "次日", "第二天"):
        days = 1
    elif m.group("n"):
        days = _count(m.group("n")) or 0
    else:
        days = (_count(when[1:-1]) or 1) - 1  # 第三天: two days after
    reading.put("return_request_date", (date.fromisoformat(signed) + timedelta(days=days)).isoformat(), m.group(0))
    reading.facts.pop("return_request_mentioned", None)


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
        channel = reading.facts.get("channel") or channel_of(name, text)
        own_service = known.get("auto_renewal") is True or known.get("unauthorized_payment") is True
        if own_service and channel in (None, "marketplace"):
            channel = "seller_own_site"  # a subscription or a wallet is the provider's own service
        answer.put("channel", channel or "marketplace", text)
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
    else:
        try:
            _typed_answer(question, text, today, known, reading, answer)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, AnswerError):
                raise
            raise AnswerError("这个数字太大了，看不懂。请直接回复一个正常的数字，例如「20」。") from None
    answer.merge(reading)
    answer.question, answer.own_case, answer.correction = reading.question, reading.own_case, reading.correction
    return answer


def _typed_answer(question: str, text: str, today: date, known: dict[str, Any], reading: Reading,
                  answer: Reading) -> None:
    """An answer read by the parser its question names in questions.yaml (dates, amounts, counts,
    yes/no, a choice, months, kilometres, a percentage); the story reading of the same message
    (`reading`) is used when it already holds the fact."""
    from .policy import catalogue

    q = catalogue().get(question) or {}
    key, parser = q.get("fact", question), q.get("parser")
    buttons = q.get("buttons") or []
    none_words = q.get("none_words") or []
    if key in reading.facts and parser not in ("yes_no", "no_yes", "choice"):
        answer.put(key, reading.facts[key], text)
        return
    if parser in ("date", "date_or_none"):
        if parser == "date_or_none" and (_NOT_YET.search(text) or _contains_any(text, none_words)):
            answer.put(key, None, text)
        elif key == "promised_delivery_date" and (m := _v2()["ship_within"].search(text)) and known.get("order_date"):
            found = Reading(facts={"order_date": known["order_date"], "signed_date": None})
            read_delivery(m.group(0) + "，还没发货", today, found)
            if "promised_delivery_date" not in found.facts:
                raise AnswerError("请说一个日期，例如「6月3号」，或「下单后48小时内发货」。")
            answer.put(key, found.facts["promised_delivery_date"], text)
        else:
            answer.put(key, _one_date(text, today).isoformat(), text)
    elif parser in ("amount", "amount_or_zero", "amount_or_none"):
        if parser == "amount_or_none" and _contains_any(text, none_words):
            answer.put(key, None, text)
        elif parser == "amount_or_zero" and re.search(r"(没有|没|无|不扣|不用)", text) and not re.search(r"\d", text):
            answer.put(key, 0.0, text)
        else:
            answer.put(key, _one_amount(text, allow_zero=parser != "amount"), text)
    elif parser in ("count", "km"):
        if re.search(r"(没用|没修|一次都没|一节都没|没有|没上)", text) and not re.search(r"\d", text):
            answer.put(key, 0, text)
            return
        if parser == "km" and (m := _v2()["km"].search(text)):
            answer.put(key, int(float(m.group("n")) * (10000 if m.group("wan") else 1)), text)
            return
        m = re.search(r"(\d+(?:\.\d+)?)\s*(万)?|([零一二两三四五六七八九十百千]+)", text)
        value = (float(m.group(1)) * (10000 if m.group(2) else 1) if m.group(1) else _count(m.group(3))) if m else None
        if value is None:
            raise AnswerError("请回复一个数字，例如「20」。")
        answer.put(key, int(value), text)
    elif parser == "months":
        m = re.search(r"([0-9一二两三四五六七八九十]+|半)\s*(年|个月|月)", text) or re.search(r"^\s*(\d+)\s*$", text)
        n = _number(m.group(1)) if m else None
        if not n:
            raise AnswerError("请说保修期的长度，例如「一年」「24个月」。")
        answer.put(key, int(n * 12) if m.lastindex and m.lastindex >= 2 and m.group(2) == "年" else int(n), text)
    elif parser == "percent":
        found = Reading()
        read_warranty("三包凭证，补偿系数" + text, found)
        if "vehicle_usage_coefficient" not in found.facts:
            m = re.search(r"\d+(?:\.\d+)?", text)
            if not m:
                raise AnswerError("请说凭证上的数字，例如「0.5%」。")
            n = float(m.group(0))
            found.put("vehicle_usage_coefficient", n / 100 if n > 0.05 else n, text)
        answer.put(key, found.facts["vehicle_usage_coefficient"], text)
    elif parser in ("yes_no", "no_yes"):
        said = _button(text, buttons[:2])
        if said is None:
            said = False if _NO.search(text) else (True if _YES.search(text) or _contains_any(text, ["知道", "关了"]) else None)
        if said is None:
            raise AnswerError(f"请回答「{buttons[0]}」或「{buttons[1]}」。" if len(buttons) >= 2 else "请回答「是」或「否」。")
        answer.put(key, said if parser == "yes_no" else not said, text)
    elif parser == "choice":
        for choice in q.get("choices") or []:
            if text.strip() == choice["label"] or _contains_any(text, choice.get("words") or []):
                answer.put(key, choice["value"], text)
                return
        raise AnswerError("请选择：" + "／".join(c["label"] for c in q.get("choices") or []) + "。")


def _button(text: str, buttons: list[str]) -> bool | None:
    """True for the first quick reply, False for the second (typed or tapped), else None."""
    t = text.strip(" 。！!")
    for value, title in zip((True, False), buttons, strict=False):
        if t == title:
            return value
    return None


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
