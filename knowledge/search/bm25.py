"""Okapi BM25 over jieba tokens, as a sparse matrix so a query costs one sparse column sum.

Documents are the article text (with law name and chapter) plus the article's curated lay
questions; queries are normalised and expanded with legal vocabulary at a lower weight.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse

from knowledge.corpus import Article
from knowledge.search.base import ArticleSearcher
from knowledge.search.textproc import expand_query, get_tokenizer

EXPANSION_WEIGHT = 0.4  # weight of vocabulary terms relative to the user's own words


class SparseBM25:
    """BM25 weights precomputed per (document, term); scoring is a sum over query columns."""

    def __init__(self, matrix: sparse.csc_matrix, vocab: dict[str, int]) -> None:
        self.matrix = matrix.tocsc()
        self.vocab = vocab

    @classmethod
    def fit(cls, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> SparseBM25:
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for d, tokens in enumerate(docs):
            lengths[d] = len(tokens)
            for term, tf in Counter(tokens).items():
                rows.append(d)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        rows_a, cols_a = np.array(rows), np.array(cols)
        tf_a = np.array(tfs, dtype=np.float32)
        df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((len(docs) - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if len(docs) else 1.0
        norm = k1 * (1 - b + b * lengths[rows_a] / avg)
        weights = idf[cols_a] * tf_a * (k1 + 1) / (tf_a + norm)
        m = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(len(docs), len(vocab)), dtype=np.float32)
        return cls(m, vocab)

    def score(self, weighted_terms: dict[str, float]) -> np.ndarray:
        cols = [(self.vocab[t], w) for t, w in weighted_terms.items() if t in self.vocab]
        if not cols:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        idx = np.array([c for c, _ in cols])
        w = np.array([w for _, w in cols], dtype=np.float32)
        return np.asarray(self.matrix[:, idx] @ w).ravel()

    def save(self, directory: Path, name: str) -> None:
        sparse.save_npz(directory / f"{name}.npz", self.matrix)
        (directory / f"{name}.vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, name: str) -> SparseBM25:
        m = sparse.load_npz(directory / f"{name}.npz")
        vocab = json.loads((directory / f"{name}.vocab.json").read_text(encoding="utf-8"))
        return cls(m, vocab)


def query_terms(query: str, expansion_weight: float = EXPANSION_WEIGHT) -> dict[str, float]:
    """Token weights of a query: its own tokens at 1, vocabulary-expansion tokens lower."""
    tok = get_tokenizer()
    exp = expand_query(query)
    weights: dict[str, float] = {}
    for t in tok.tokens(exp.text):
        weights[t] = weights.get(t, 0.0) + 1.0
    if expansion_weight > 0:
        for t in tok.tokens(" ".join(exp.terms)):
            weights[t] = weights.get(t, 0.0) + expansion_weight
    return weights


class BM25Searcher(ArticleSearcher):
    """BM25 over article text + lay-question expansions (jieba tokens)."""

    name = "bm25"

    def __init__(self, articles: tuple[Article, ...], index: SparseBM25, scope=None,
                 expansion_weight: float = EXPANSION_WEIGHT) -> None:
        super().__init__(articles, scope)
        self.index = index
        self.expansion_weight = expansion_weight

    def scores(self, query: str) -> np.ndarray:
        return self.index.score(query_terms(query, self.expansion_weight))
