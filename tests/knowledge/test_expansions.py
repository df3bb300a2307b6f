"""Curated lay questions: keyed to real articles and never copied from the evaluation data."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.corpus import resolve
from knowledge.search.data import load_expansions, load_scope_examples, load_topics

EVAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "eval"


def test_every_expansion_names_a_corpus_article() -> None:
    expansions = load_expansions()
    assert len(expansions) >= 300
    for law, article in expansions:
        assert resolve(law, article).law == law


def test_consumer_core_texts_are_broadly_covered() -> None:
    expansions = load_expansions()
    per_law: dict[str, int] = {}
    for law, _ in expansions:
        per_law[law] = per_law.get(law, 0) + 1
    assert per_law["网络购买商品七日无理由退货暂行办法"] >= 25
    assert per_law["消费者权益保护法"] >= 40
    assert per_law["市场监督管理投诉举报处理办法"] >= 25


def test_topic_rules_and_scope_examples_load() -> None:
    topics = load_topics()
    assert {t.name for t in topics.topics} >= {"seven_day_return", "food_safety", "complaint_procedure"}
    assert topics.law_priors["民法典"] < 1.0
    examples = load_scope_examples()
    assert len(examples["out_of_scope"]) >= 100


def test_no_evaluation_question_is_copied_into_the_data() -> None:
    """Guards the rule that evaluation questions measure and never train (24-char prefixes)."""
    if not EVAL_DIR.exists():
        return
    prefixes = []
    for path in EVAL_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = row.get("question") or row.get("narrative") or ""
            if len(text) >= 12:
                prefixes.append(text[:24])
    data = " ".join(q for phrases in load_expansions().values() for q in phrases)
    data += " ".join(load_scope_examples()["in_scope"] + load_scope_examples()["out_of_scope"])
    assert not [p for p in prefixes if p in data]
