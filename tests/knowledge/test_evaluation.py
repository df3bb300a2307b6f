"""Evaluation metrics on a tiny hand-made query set with a stub searcher."""

from __future__ import annotations

import json

from knowledge.evaluation import evaluate, load_queries
from knowledge.search.base import Hit


class Stub:
    def search(self, query: str, k: int = 5) -> list[Hit]:
        ranked = {"q1": [("A", 1), ("B", 2)], "q2": [("C", 3), ("A", 1)], "oos": [("A", 1)]}[query]
        return [Hit(law, art, 1.0, f"{law}{art}", "") for law, art in ranked][:k]

    def is_in_scope(self, query: str) -> tuple[bool, float]:
        return (query != "oos", 0.9)


def test_metrics(tmp_path) -> None:
    rows = [
        {"id": "1", "question": "q1", "gold": [{"law": "B", "article": 2}], "primary": {"law": "B", "article": 2}},
        {"id": "2", "question": "q2", "gold": [{"law": "A", "article": 1}, {"law": "X", "article": 9}],
         "primary": {"law": "A", "article": 1}},
        {"id": "3", "question": "oos", "gold": [], "primary": None, "topic": "out_of_scope"},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = evaluate(Stub(), load_queries(path), warmup=0)
    assert result["recall@1"] == 0.0
    assert result["recall@5"] == 1.0  # q2 has one of its two gold articles: a hit
    assert result["coverage@5"] == 0.75  # ... but only half its gold set
    assert result["coverage@1"] == 0.0
    assert result["mrr@10"] == 0.5
    assert result["primary@5"] == 1.0
    assert result["oos_accuracy"] == 1.0
    assert result["in_scope_rejected"] == 0.0
    assert result["n"] == 3
