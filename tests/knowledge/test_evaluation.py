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


def test_fresh_set_labels_resolve_and_stay_out_of_the_index_data() -> None:
    """The project's own test set cites real articles and shares no question with the lay
    questions or scope examples the index is built from (it measures generalisation)."""
    from pathlib import Path

    from knowledge.corpus import load_corpus
    from knowledge.search.data import load_expansions, load_scope_examples
    from knowledge.search.textproc import normalize

    path = Path(__file__).resolve().parents[2] / "knowledge" / "eval" / "retrieval_fresh.jsonl"
    queries = load_queries(path)
    corpus = load_corpus()
    for q in queries:
        for law, number in q.gold:
            assert corpus.get(law, number).law == law, (q.id, law, number)
    indexed = {normalize(t) for phrases in load_expansions().values() for t in phrases}
    examples = load_scope_examples()
    indexed |= {normalize(t) for t in [*examples["in_scope"], *examples["out_of_scope"]]}
    assert not [q.id for q in queries if normalize(q.text) in indexed]
    assert sum(q.in_scope for q in queries) >= 70 and sum(not q.in_scope for q in queries) >= 5
