"""Shared types of the search back-ends: the hit record and the article-level searcher base.

Every back-end scores all articles of the corpus for a query (`scores`); ranking, top-k and
Hit construction live here once, so fusion can combine raw score vectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from knowledge.corpus import Article


@dataclass(frozen=True)
class Hit:
    law: str
    article: int
    score: float
    citation: str
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices and scores of the k best entries, best first (stable for ties)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top]


class Searcher(Protocol):
    name: str

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def is_in_scope(self, query: str) -> tuple[bool, float]: ...


class ArticleSearcher:
    """Base class: subclasses implement `scores(query)` over `self.articles`."""

    name = "base"

    def __init__(self, articles: tuple[Article, ...], scope=None) -> None:
        self.articles = articles
        self.scope = scope

    def scores(self, query: str) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def rank(self, query: str, k: int) -> list[tuple[int, float]]:
        return top_k(self.scores(query), k)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Top-k articles for a query, best first."""
        return [self.hit(i, score) for i, score in self.rank(query, k)]

    def hit(self, i: int, score: float) -> Hit:
        a = self.articles[i]
        return Hit(law=a.law, article=a.article, score=round(score, 6), citation=a.citation, text=a.text)

    def is_in_scope(self, query: str) -> tuple[bool, float]:
        """Whether the question is a consumer-dispute question, with a confidence in [0, 1]."""
        if self.scope is None:
            return True, 0.5
        return self.scope.decide(query)
