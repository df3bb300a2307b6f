"""Typed view of a facts dict: tolerant of missing keys, explicit about unknowns.

A conversation often knows only a few facts, so every accessor distinguishes "missing" (never
asked) from an explicit null (asked; the answer is "no such date" / "unknown"). Rules must treat
unknowns cautiously rather than guess in the consumer's favour or against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .categories import CategoryProfile, classify

_MISSING = object()

DATE_KEYS = (
    "order_date",
    "signed_date",
    "logistics_marked_signed_date",
    "return_request_date",
    "seller_received_return_date",
    "complaint_date",
)


def parse_date(value: Any) -> date | None:
    """Accept a date, a datetime or an ISO string; anything else is treated as unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _money(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


@dataclass
class Facts:
    """The facts of one dispute, with defaults that keep the engine from crashing on partial input."""

    raw: dict[str, Any]
    today: date
    category: CategoryProfile = field(init=False)

    def __post_init__(self) -> None:
        self.category = classify(self.text("category"), self.text("product"), food=self.flag("food"))

    # -- generic accessors -------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key, _MISSING)
        return default if value is _MISSING else value

    def flag(self, key: str) -> bool:
        """True only when the fact is positively known to hold."""
        return self.raw.get(key) is True

    def flag_false(self, key: str) -> bool:
        """True only when the fact is positively known not to hold."""
        return self.raw.get(key) is False

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        return str(value).strip() if value not in (None, "") else ""

    def date(self, key: str) -> date | None:
        return parse_date(self.raw.get(key))

    def money(self, key: str) -> float | None:
        return _money(self.raw.get(key))

    def number(self, key: str) -> int | None:
        value = self.raw.get(key)
        if isinstance(value, bool) or value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    # -- domain shortcuts --------------------------------------------------------------------
    @property
    def channel(self) -> str:
        return self.text("channel") or "marketplace"

    @property
    def seller_type(self) -> str:
        return self.text("seller_type") or "business"

    @property
    def price(self) -> float | None:
        return self.money("price_yuan")

    @property
    def condition(self) -> str | None:
        value = self.text("condition")
        return value or None

    @property
    def signed_known(self) -> bool:
        """Whether the conversation has established the signing facts at all."""
        return self.has("signed_date") or self.has("logistics_marked_signed_date")

    @property
    def notice_date(self) -> date:
        """The date a return notice counts as sent: the request, else the complaint, else today."""
        return self.date("return_request_date") or self.date("complaint_date") or self.today

    @property
    def return_requested(self) -> bool:
        return self.date("return_request_date") is not None

    @property
    def return_received(self) -> bool:
        return self.date("seller_received_return_date") is not None

    @property
    def is_platform_channel(self) -> bool:
        """A third-party platform sits between consumer and seller (so platform rules can apply)."""
        return self.channel in {"marketplace", "live_stream", "secondhand_marketplace", "food_delivery"}

    @property
    def self_operated(self) -> bool:
        return self.flag("platform_self_operated") or self.channel == "platform_self_operated"
