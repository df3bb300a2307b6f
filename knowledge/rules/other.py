"""Other consumer-rights topics that a dispute may raise alongside (or instead of) a return.

Auto-renewal without notice (条例第十条第二款), personal information (消法第二十九、五十条),
unsolicited marketing (条例第二十四条), broken price promises (条例第十二条, 明码标价规定第十九条) and
differential pricing (条例第九条第二款, 个人信息保护法第二十四条).
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import Finding, load_yaml
from .facts import Facts


@dataclass
class Other(Finding):
    active: bool = False


def assess(f: Facts) -> Other:
    o = Other()
    for flag, spec in load_yaml("topics.yaml")["topics"].items():
        if not f.flag(flag):
            continue
        o.active = True
        o.code(spec["code"])
        o.cite(spec["block"])
        o.remedy(*spec["remedies"])
        o.note(spec["note"])
        if spec.get("violation"):
            o.violation(spec["violation"])
    return o
