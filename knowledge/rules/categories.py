"""Map free-text categories to the goods groups that 七日办法第六、九条 and 消法第二十三条 name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

_FILE = Path(__file__).with_name("categories.yaml")


@lru_cache(maxsize=1)
def _groups() -> dict[str, dict]:
    return yaml.safe_load(_FILE.read_text(encoding="utf-8"))["groups"]


@dataclass(frozen=True)
class CategoryProfile:
    groups: frozenset[str]

    def __contains__(self, group: str) -> bool:
        return group in self.groups

    def label(self, group: str) -> str:
        return _groups()[group]["label"]


def classify(category: str, product: str = "", *, food: bool = False) -> CategoryProfile:
    """Return the groups a product belongs to; food facts always count as sealed goods."""
    text = f"{category} {product}"
    found = {name for name, spec in _groups().items() if any(k in text for k in spec["keywords"])}
    if food:
        found.add("sealed")
    return CategoryProfile(frozenset(found))
