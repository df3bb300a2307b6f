"""Out-of-scope detection: is this a consumer-dispute question at all?

A retrieval score alone separates poorly (every question finds *some* article), so the decision
is a small classifier trained on data: in-scope = the curated lay questions of the expansions
plus hand-written stories; out-of-scope = hand-written questions from other areas (family law,
traffic, labour, homework, chit-chat …). Two views are averaged, character n-grams (robust to
typos) and, when the embedding model is available, the e5 query embedding. A count of
consumer-domain words (buying, sellers, refunds, delivery …) can overrule a weak "out" vote,
which protects long in-scope stories that look unlike the short training questions.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from knowledge.search.textproc import char_ngrams, normalize

MIN_IN_SCOPE_RECALL = 0.97  # threshold is the strictest one keeping this recall out-of-fold
DOMAIN_OVERRIDE = 2  # this many distinct domain words make a question in scope


def _analyzer(text: str) -> list[str]:
    return char_ngrams(text, 3)


@dataclass
class ScopeClassifier:
    lex_vectorizer: TfidfVectorizer
    lex_model: LogisticRegression
    dense_model: LogisticRegression | None
    domain_terms: tuple[str, ...]
    threshold: float
    stats: dict = field(default_factory=dict)
    encoder: object = field(default=None, repr=False, compare=False)

    def probability(self, query: str, qvec: np.ndarray | None = None) -> float:
        """Averaged probability that the question is a consumer-dispute question."""
        text = normalize(query)
        probs = [float(self.lex_model.predict_proba(self.lex_vectorizer.transform([text]))[0, 1])]
        if self.dense_model is not None:
            if qvec is None and self.encoder is not None:
                qvec = self.encoder.query(query)
            if qvec is not None:
                probs.append(float(self.dense_model.predict_proba(qvec.reshape(1, -1))[0, 1]))
        return float(np.mean(probs))

    def domain_hits(self, query: str) -> int:
        text = normalize(query)
        return sum(1 for t in self.domain_terms if t in text)

    def decide(self, query: str, qvec: np.ndarray | None = None) -> tuple[bool, float]:
        """(in_scope, confidence of that decision in [0, 1])."""
        p = self.probability(query, qvec)
        in_scope = p >= self.threshold or self.domain_hits(query) >= DOMAIN_OVERRIDE
        return in_scope, round(p if in_scope else 1.0 - p, 4)

    def save(self, path: Path) -> None:
        encoder, self.encoder = self.encoder, None
        try:
            with open(path, "wb") as f:
                pickle.dump(self, f)
        finally:
            self.encoder = encoder

    @classmethod
    def load(cls, path: Path, encoder=None) -> ScopeClassifier:
        with open(path, "rb") as f:
            obj = pickle.load(f)
        obj.encoder = encoder
        return obj


def _fit_lr(x, y) -> LogisticRegression:
    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(x, y)


def train_scope(in_scope: list[str], out_of_scope: list[str], domain_terms: tuple[str, ...],
                encoder=None, seed: int = 0) -> ScopeClassifier:
    """Fit both views, pick the decision threshold out-of-fold, refit on everything."""
    texts = [normalize(t) for t in in_scope + out_of_scope]
    y = np.array([1] * len(in_scope) + [0] * len(out_of_scope))
    vectors = encoder.encode(texts, "query", batch_size=64) if encoder is not None else None

    oof = np.zeros(len(texts))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(texts, y):
        vec = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True)
        xtr = vec.fit_transform([texts[i] for i in train])
        p = _fit_lr(xtr, y[train]).predict_proba(vec.transform([texts[i] for i in test]))[:, 1]
        if vectors is not None:
            p = (p + _fit_lr(vectors[train], y[train]).predict_proba(vectors[test])[:, 1]) / 2
        oof[test] = p

    threshold = 0.5
    for t in np.linspace(0.95, 0.05, 91):
        if (oof[y == 1] >= t).mean() >= MIN_IN_SCOPE_RECALL:
            threshold = float(t)
            break
    stats = {
        "n_in": int((y == 1).sum()),
        "n_out": int((y == 0).sum()),
        "threshold": round(threshold, 3),
        "oof_in_recall": round(float((oof[y == 1] >= threshold).mean()), 4),
        "oof_out_rejected": round(float((oof[y == 0] < threshold).mean()), 4),
        "views": ["char"] + (["dense"] if vectors is not None else []),
    }
    vec = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True)
    lex = _fit_lr(vec.fit_transform(texts), y)
    dense = _fit_lr(vectors, y) if vectors is not None else None
    return ScopeClassifier(vec, lex, dense, tuple(normalize(t) for t in domain_terms), threshold, stats, encoder)
