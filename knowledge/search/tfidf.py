"""TF-IDF over character 1–2-grams: tokeniser-free, so robust to typos and unseen slang."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge.corpus import Article
from knowledge.search.base import ArticleSearcher
from knowledge.search.textproc import char_ngrams, expand_query


def _analyzer(text: str) -> list[str]:
    return char_ngrams(text, 2)


class CharTfidf:
    def __init__(self, vectorizer: TfidfVectorizer, matrix) -> None:
        self.vectorizer = vectorizer
        self.matrix_t = matrix.T.tocsr()

    @classmethod
    def fit(cls, docs: list[str]) -> CharTfidf:
        vec = TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True, norm="l2", dtype=np.float32)
        m = vec.fit_transform(docs)
        return cls(vec, m)

    def score(self, text: str) -> np.ndarray:
        q = self.vectorizer.transform([text])
        return np.asarray((q @ self.matrix_t).todense()).ravel()

    def save(self, directory: Path, name: str) -> None:
        with open(directory / f"{name}.pkl", "wb") as f:
            pickle.dump({"vectorizer": self.vectorizer, "matrix_t": self.matrix_t}, f)

    @classmethod
    def load(cls, directory: Path, name: str) -> CharTfidf:
        with open(directory / f"{name}.pkl", "rb") as f:
            data = pickle.load(f)
        obj = cls.__new__(cls)
        obj.vectorizer = data["vectorizer"]
        obj.matrix_t = data["matrix_t"]
        return obj


class TfidfSearcher(ArticleSearcher):
    name = "tfidf-char"

    def __init__(self, articles: tuple[Article, ...], index: CharTfidf, scope=None, expand: bool = True) -> None:
        super().__init__(articles, scope)
        self.index = index
        self.expand = expand

    def scores(self, query: str) -> np.ndarray:
        exp = expand_query(query)
        return self.index.score(exp.expanded_text if self.expand else exp.text)
