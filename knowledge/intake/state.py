"""The intake of one complaint: facts so far with their source words, what was asked and answered.

Kept as a plain dict in the conversation (a Rasa slot) so that any action server can continue
it; everything that interprets it lives here and in policy.py, free of Rasa.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from knowledge.rules import decide
from knowledge.rules.decision import Decision

from . import policy
from .reader import Reading

MAX_STORY = 4000  # characters of the consumer's own account kept for the case


@dataclass
class Intake:
    facts: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    story: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    asking: str | None = None
    failures: dict[str, Any] = field(default_factory=dict)  # per question; contradicted:<fact> → value
    status: str = "open"  # open | confirmed | declined

    @classmethod
    def from_slot(cls, value: Any) -> Intake:
        if not isinstance(value, dict):
            return cls()
        known = {k: value[k] for k in cls.__dataclass_fields__ if k in value}
        return cls(**known)

    def to_slot(self) -> dict[str, Any]:
        return asdict(self)

    # -- facts --------------------------------------------------------------------------------
    def add_story(self, text: str) -> None:
        text = (text or "").strip()
        if text and text not in self.story and sum(map(len, self.story)) + len(text) <= MAX_STORY:
            self.story.append(text)

    def apply(self, reading: Reading, *, override: set[str] | bool = False) -> list[str]:
        """Merge what a message said; keys in `override` (or all, for a correction) replace
        earlier values. Returns the keys that changed."""
        changed = []
        for key, value in reading.facts.items():
            replace = override is True or (isinstance(override, set) and key in override)
            if key in self.facts and not replace:
                continue
            if self.facts.get(key, object()) != value:
                changed.append(key)
            self.facts[key] = value
            if key in reading.sources:
                self.sources[key] = reading.sources[key]
        return changed

    def forget(self, key: str) -> None:
        self.facts.pop(key, None)
        self.sources.pop(key, None)
        if key in self.answered:
            self.answered.remove(key)

    def mark_answered(self, question: str) -> None:
        if question not in self.answered:
            self.answered.append(question)
        self.failures.pop(question, None)  # (contradiction marks stay: they hold the value said)

    @property
    def have_story(self) -> bool:
        return bool(self.story) or "story" in self.answered

    def rule_facts(self, today: date) -> dict[str, Any]:
        """Facts in the rules engine's keys: the consumer's request date only if they told the
        seller (else the rules count from the complaint date, today), the story as narrative."""
        facts = dict(self.facts)
        facts.setdefault("complaint_date", today.isoformat())
        facts.setdefault("quantity", 1)
        if self.story:
            facts["narrative"] = "\n".join(self.story)
        return facts

    def decision(self, today: date) -> Decision:
        return decide(self.rule_facts(today), today=today)

    def next_question(self, today: date) -> str | None:
        if self.status != "open":
            return None
        return policy.next_question(
            self.rule_facts(today), set(self.answered), today, have_story=self.have_story
        )
