"""Shared building blocks: citation blocks from basis.yaml and the Finding each topic returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

Ref = tuple[str, int]

_DIR = Path(__file__).parent


@lru_cache(maxsize=8)
def load_yaml(name: str) -> dict:
    return yaml.safe_load((_DIR / name).read_text(encoding="utf-8"))


def block(name: str) -> list[Ref]:
    """The articles of one named citation block (KeyError on a typo, caught by the tests)."""
    return [(str(law), int(article)) for law, article in load_yaml("basis.yaml")["blocks"][name]]


def blocks(*names: str) -> list[Ref]:
    out: list[Ref] = []
    for name in names:
        for ref in block(name):
            if ref not in out:
                out.append(ref)
    return out


def add_months(start: date, months: int) -> date:
    """Same day of the month `months` later, clamped to the real last day (leap years included)."""
    import calendar

    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def cn_date(d: date | None) -> str:
    """Render a date the way consumers write it: 2025年3月1日."""
    return f"{d.year}年{d.month}月{d.day}日" if d else "（日期不明）"


def yuan(amount: float | None) -> str:
    if amount is None:
        return "（金额不明）"
    return f"{amount:g}元" if amount != int(amount) else f"{int(amount)}元"


def money_value(amount: float | None) -> float | int | None:
    """Keep whole-yuan amounts as ints in the output (the eval data writes 504, not 504.0)."""
    if amount is None:
        return None
    rounded = round(amount, 2)
    return int(rounded) if rounded == int(rounded) else rounded


@dataclass
class Finding:
    """What one topic module concluded: reason codes, remedies, citation blocks and explanation lines."""

    codes: list[str] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)
    basis: list[Ref] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Administrative violations the facts show: names of blocks in basis.yaml under `violations`,
    # each the provision breached plus the one that punishes it (for a 举报, see report.py).
    violations: list[str] = field(default_factory=list)

    def code(self, *codes: str) -> None:
        for c in codes:
            if c not in self.codes:
                self.codes.append(c)

    def remedy(self, *names: str) -> None:
        for r in names:
            if r not in self.remedies:
                self.remedies.append(r)

    def cite(self, *block_names: str) -> None:
        for ref in blocks(*block_names):
            if ref not in self.basis:
                self.basis.append(ref)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def violation(self, name: str) -> None:
        if name not in self.violations:
            self.violations.append(name)
