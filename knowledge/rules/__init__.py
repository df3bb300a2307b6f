"""Deterministic legal rules engine: facts in, decision + reason codes + citations out.

Public API:
    decide(facts, today=None) -> Decision            the whole analysis of one dispute
    complaint_clocks(received, accepted=None, ...)  12315 complaint deadlines (投诉办法)
    complaint_jurisdiction(...)                      which regulator handles an online complaint
    enrich(facts, narrative)                         extra facts read from the consumer's words
"""

from .complaint import (
    ComplaintClocks,
    add_working_days,
    complaint_clocks,
    complaint_jurisdiction,
    is_working_day,
)
from .decision import EXPECTED_KEYS, Decision, decide
from .narrative import enrich

__all__ = [
    "EXPECTED_KEYS",
    "ComplaintClocks",
    "Decision",
    "add_working_days",
    "complaint_clocks",
    "complaint_jurisdiction",
    "decide",
    "enrich",
    "is_working_day",
]
