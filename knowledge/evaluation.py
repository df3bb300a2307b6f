"""Retrieval evaluation, kept apart from search (BEIR style: queries + qrels in, metrics out).

Input: JSONL rows `{"id", "question", "gold": [{"law", "article"}], "primary", "topic"}`, as in
shared/eval. Out-of-scope rows have empty gold; they measure the scope decision.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from knowledge.search.base import Searcher

Key = tuple[str, int]


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    gold: tuple[Key, ...]
    primary: Key | None
    topic: str

    @property
    def in_scope(self) -> bool:
        return bool(self.gold)


def load_queries(path: str | Path) -> list[Query]:
    """Read a retrieval JSONL file into queries with their relevance labels."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        gold = tuple((g["law"], int(g["article"])) for g in row.get("gold") or ())
        p = row.get("primary")
        out.append(
            Query(
                id=str(row.get("id", len(out))),
                text=row["question"],
                gold=gold,
                primary=(p["law"], int(p["article"])) if p else None,
                topic=str(row.get("topic", "")),
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def evaluate(searcher: Searcher, queries: list[Query], warmup: int = 3, details: bool = False) -> dict:
    """Recall@1/5/10, coverage@1/5/10, MRR@10 (first gold), primary@5, scope accuracy, latency.

    recall@k: share of in-scope questions with at least one gold article in the top k (a hit
    is any gold article, the definition the retrieval issue set). coverage@k: the stricter
    mean share of each question's gold articles found in the top k (a question citing a law
    and its regulation needs both).

    Latency covers what the bot does per question: `search(k=10)` plus `is_in_scope`.
    """
    for q in queries[:warmup]:
        searcher.search(q.text, k=10)
        searcher.is_in_scope(q.text)
    recall = {1: [], 5: [], 10: []}
    coverage = {1: [], 5: [], 10: []}
    mrr, mrr_primary, primary5, oos_ok, rejected, times = [], [], [], [], [], []
    rows = []
    for q in queries:
        t0 = time.perf_counter()
        hits = searcher.search(q.text, k=10)
        in_scope, confidence = searcher.is_in_scope(q.text)
        times.append((time.perf_counter() - t0) * 1000)
        keys = [(h.law, h.article) for h in hits]
        if q.in_scope:
            gold = set(q.gold)
            for k in recall:
                found = len(gold & set(keys[:k]))
                recall[k].append(1.0 if found else 0.0)
                coverage[k].append(found / len(gold))
            first = next((r for r, key in enumerate(keys, 1) if key in gold), None)
            mrr.append(1 / first if first else 0.0)
            prank = next((r for r, key in enumerate(keys, 1) if key == q.primary), None)
            mrr_primary.append(1 / prank if prank else 0.0)
            primary5.append(1.0 if prank and prank <= 5 else 0.0)
            rejected.append(0.0 if in_scope else 1.0)
        else:
            oos_ok.append(0.0 if in_scope else 1.0)
        if details:
            rows.append({"id": q.id, "topic": q.topic, "gold": q.gold, "hits": keys,
                         "in_scope": in_scope, "confidence": confidence})

    def mean(xs: list[float]) -> float:
        return round(statistics.fmean(xs), 4) if xs else 0.0

    result = {
        "recall@1": mean(recall[1]),
        "recall@5": mean(recall[5]),
        "recall@10": mean(recall[10]),
        "coverage@1": mean(coverage[1]),
        "coverage@5": mean(coverage[5]),
        "coverage@10": mean(coverage[10]),
        "mrr@10": mean(mrr),
        "mrr_primary@10": mean(mrr_primary),
        "primary@5": mean(primary5),
        "oos_accuracy": mean(oos_ok),
        "in_scope_rejected": mean(rejected),
        "p50_ms": round(_percentile(times, 0.5), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "n": len(queries),
    }
    if details:
        result["details"] = rows
    return result
