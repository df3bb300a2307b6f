"""Hybrid search: lexical + dense scores fused, then shaped by law priors and topic boosts.

Fusion is a weighted sum of per-query normalised component scores (each component's best
article scores 1). Priors prefer the consumer-dispute texts over general contract law and the
articles shoppers need (those with curated lay questions); topic keyword rules from
knowledge/topics.yaml boost the texts a detected topic needs. Two re-ranking steps use the
structure of the statutes: an article inherits part of the score of its best-scoring parallel
provision (knowledge/relations.yaml: the same rule in the law, its regulation and the judicial
interpretation), and the third and later articles from one text are damped so the top of the
list covers the several texts a question usually needs.

The weights adapt to the register of the question (knowledge/search/register.py). Lay-question
matching and the priors serve colloquial questions; a question phrased in statute language is
answered best by the article whose text it paraphrases, which lexical matching finds and the
lay-question side does not (most articles have no lay question worded like the statute). The
more the question's words are covered by one article's text rather than by any lay question, the
more the weights move to `statute_weights` and the more the priors are relaxed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from knowledge.corpus import Article
from knowledge.search.base import ArticleSearcher, top_k
from knowledge.search.bm25 import BM25Searcher
from knowledge.search.data import TopicConfig, load_expansions, load_relations, load_topics
from knowledge.search.dense import DenseIndex, Encoder
from knowledge.search.register import RegisterIndex
from knowledge.search.textproc import normalize
from knowledge.search.tfidf import TfidfSearcher


@dataclass
class FusionConfig:
    mode: str = "score"  # "score" (weighted normalised scores) or "rrf" (reciprocal rank)
    weights: dict[str, float] = field(
        default_factory=lambda: {"bm25": 1.0, "tfidf": 1.0, "dense_passage": 0.25, "dense_question": 1.5}
    )
    norm_depth: int = 100  # scores are rescaled between the 100th best and the best article
    rrf_k: int = 60
    use_priors: bool = True
    use_topics: bool = True
    relation_weight: float = 0.1  # share of a parallel provision's score an article inherits
    relation_depth: int = 30  # only the best few articles pass scores on
    law_diversity: float = 0.8  # factor per further article beyond the second from the same text
    rerank_depth: int = 50
    # Weights for a question in statute language: lexical evidence and the statute-text vectors,
    # no lay-question similarity. Components missing here keep their colloquial weight.
    statute_weights: dict[str, float] = field(
        default_factory=lambda: {"bm25": 1.0, "tfidf": 1.0, "dense_passage": 0.25, "dense_question": 0.0}
    )
    # Statute-text coverage minus lay-question coverage (shares of the question's information) at
    # which the shift towards statute_weights starts and is complete: a tenth more of the question
    # explained by one article's text than by any lay question is still ordinary overlap.
    register_margin: tuple[float, float] = (0.1, 0.4)
    statute_prior_relief: float = 1.0  # priors enter as prior ** (1 - relief * statute share)


def detect_topics(query: str, config: TopicConfig | None = None) -> list[str]:
    """Topic names whose keywords occur in the question, most keyword hits first."""
    config = config or load_topics()
    text = normalize(query)
    scored = []
    for topic in config.topics:
        hits = sum(1 for k in topic.keywords if k in text)
        if hits:
            scored.append((hits, topic.name))
    return [name for _, name in sorted(scored, key=lambda x: (-x[0], x[1]))]


def article_priors(articles: tuple[Article, ...], config: TopicConfig | None = None) -> np.ndarray:
    config = config or load_topics()
    expanded = load_expansions()
    return np.array(
        [
            config.law_priors.get(a.law, config.default_prior) * (config.expanded_prior if a.key in expanded else 1.0)
            for a in articles
        ],
        dtype=np.float32,
    )


def _normalise(scores: np.ndarray, depth: int) -> np.ndarray:
    """Rescale so the best article scores 1 and the depth-th best 0 (and below clip to 0).

    Anchoring on the head of the ranking rather than the minimum keeps compressed score ranges
    (cosine similarities all near 0.8) comparable with long-tailed ones (BM25).
    """
    depth = min(depth, len(scores))
    lo = float(np.partition(scores, len(scores) - depth)[len(scores) - depth])
    hi = float(scores.max())
    if hi <= lo:
        return np.zeros_like(scores)
    return np.clip((scores - lo) / (hi - lo), 0.0, 1.0)


def _rrf(scores: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(1, len(scores) + 1)
    return 1.0 / (k + ranks)


class HybridSearcher(ArticleSearcher):
    name = "hybrid"

    def __init__(self, articles: tuple[Article, ...], bm25: BM25Searcher, tfidf: TfidfSearcher | None,
                 dense: DenseIndex | None, encoder: Encoder | None, scope=None,
                 config: FusionConfig | None = None, register: RegisterIndex | None = None) -> None:
        super().__init__(articles, scope)
        self.register = register
        self.bm25 = bm25
        self.tfidf = tfidf
        self.dense = dense
        self.encoder = encoder
        self.config = config or FusionConfig()
        self.topics = load_topics()
        self.priors = article_priors(articles, self.topics)
        self._law_index: dict[str, np.ndarray] = {}
        laws = np.array([a.law for a in articles])
        for law in set(laws):
            self._law_index[law] = np.flatnonzero(laws == law)
        self._law_of = laws
        position = {a.key: i for i, a in enumerate(articles)}
        self._partners: dict[int, set[int]] = {}
        for members in load_relations().values():
            idx = [position[k] for k in members if k in position]
            for i in idx:
                self._partners.setdefault(i, set()).update(j for j in idx if j != i)

    def components(self, query: str) -> dict[str, np.ndarray]:
        """Raw per-article scores of every available component."""
        out = {"bm25": self.bm25.scores(query)}
        if self.tfidf is not None and self.config.weights.get("tfidf", 0) > 0:
            out["tfidf"] = self.tfidf.scores(query)
        if self.dense is not None and self.encoder is not None:
            passage, question = self.dense.scores(self.encoder.query(query))
            out["dense_passage"], out["dense_question"] = passage, question
        return out

    def statute_share(self, query: str) -> float:
        """How far the question reads like statute text (0: lay register, 1: statute language)."""
        if self.register is None:
            return 0.0
        low, high = self.config.register_margin
        return self.register.statute_share(query, low, high)

    def weights(self, share: float) -> dict[str, float]:
        """Component weights for a question with the given statute share."""
        cfg = self.config
        return {name: (1.0 - share) * w + share * cfg.statute_weights.get(name, w) for name, w in cfg.weights.items()}

    def topic_boost(self, query: str) -> np.ndarray:
        boost = np.ones(len(self.articles), dtype=np.float32)
        by_name = {t.name: t for t in self.topics.topics}
        law_boost: dict[str, float] = {}
        for name in detect_topics(query, self.topics):
            for law, b in by_name[name].boost.items():
                law_boost[law] = max(law_boost.get(law, 1.0), b)
        for law, b in law_boost.items():
            idx = self._law_index.get(law)
            if idx is not None:
                boost[idx] = b
        return boost

    def scores(self, query: str) -> np.ndarray:
        return self._fuse(query)[0]

    def rank(self, query: str, k: int) -> list[tuple[int, float]]:
        return self._rerank(self._fuse(query)[0])[:k]

    def search_with_signals(self, query: str, k: int = 5) -> tuple[list, dict[str, float]]:
        """Hits plus the raw evidence behind them, for deciding how sure an answer may sound.

        agreement: the best article's fused score before priors, as a share of the maximum
        (1.0 = every component ranks it first); question_similarity: best cosine between the
        question and a curated lay question; lexical: best raw BM25 score; statute_share: how far
        the question reads like statute text (see `statute_share`).
        """
        final, base, total, raw, share = self._fuse(query, keep_raw=True)
        ranked = self._rerank(final)[:k]
        signals = {
            "agreement": float(base[ranked[0][0]] / total) if ranked and total > 0 else 0.0,
            "question_similarity": float(raw["dense_question"].max()) if "dense_question" in raw else 0.0,
            "lexical": float(raw["bm25"].max()),
            "statute_share": share,
        }
        return [self.hit(i, s) for i, s in ranked], signals

    def _rerank(self, fused: np.ndarray) -> list[tuple[int, float]]:
        """Parallel-provision propagation, then per-text diversity, over the best candidates."""
        cfg = self.config
        scores = fused
        if cfg.relation_weight > 0 and self._partners:
            bonus = np.zeros_like(fused)
            for j, s in top_k(fused, cfg.relation_depth):
                for i in self._partners.get(j, ()):
                    bonus[i] = max(bonus[i], s)
            scores = fused + cfg.relation_weight * bonus
        ranked = top_k(scores, cfg.rerank_depth)
        if cfg.law_diversity >= 1.0:
            return ranked
        seen: dict[str, int] = {}
        adjusted = []
        for i, s in ranked:
            n = seen.get(self._law_of[i], 0)
            seen[self._law_of[i]] = n + 1
            adjusted.append((i, s * cfg.law_diversity ** max(0, n - 1)))
        return sorted(adjusted, key=lambda x: -x[1])

    def _fuse(self, query: str, keep_raw: bool = False):
        cfg = self.config
        fused = np.zeros(len(self.articles), dtype=np.float32)
        total = 0.0
        components = self.components(query)
        share = self.statute_share(query)
        weights = self.weights(share)
        for name, raw in components.items():
            w = weights.get(name, 0.0)
            if w <= 0:
                continue
            total += w
            if cfg.mode == "rrf":
                fused += w * _rrf(raw, cfg.rrf_k) * (cfg.rrf_k + 1)
            else:
                fused += w * _normalise(raw, cfg.norm_depth)
        base = fused.copy()
        if cfg.use_priors:
            relief = min(1.0, cfg.statute_prior_relief * share)
            fused *= self.priors if relief <= 0 else self.priors ** (1.0 - relief)
        if cfg.use_topics:
            fused *= self.topic_boost(query)
        if keep_raw:
            return fused, base, total, components, share
        return fused, base, total

    def is_in_scope(self, query: str) -> tuple[bool, float]:
        if self.scope is None:
            return True, 0.5
        qvec = self.encoder.query(query) if (self.encoder is not None and self.scope.dense_model is not None) else None
        return self.scope.decide(query, qvec)
