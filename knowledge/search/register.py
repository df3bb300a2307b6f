"""Register of a question: does it read like the statute text or like a shopper's lay question?

The hybrid fusion is tuned for shoppers: dense matching against curated lay questions carries
most weight and priors prefer the articles shoppers usually need. A question phrased in statute
language (「销售者对售出的产品应当承担哪些责任？」) is matched best lexically against the article
text it paraphrases, and those lay-question signals then push that article down. The register is
measured per question from the index itself: the IDF-weighted share of the question's own tokens
that the best single article text contains, against the share the best single lay question
contains. Fusion moves its weights towards the lexical side by how much the first exceeds the
second (knowledge/search/hybrid.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from knowledge.search.textproc import get_tokenizer, normalize


@dataclass(frozen=True)
class Coverage:
    """Share of a question's information found in the best article text and best lay question."""

    statute: float
    lay: float

    @property
    def margin(self) -> float:
        return self.statute - self.lay


def _incidence(rows: list[list[int]], n_terms: int) -> sparse.csr_matrix:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    return sparse.csr_matrix((np.ones(len(c), dtype=np.float32), (r, c)), shape=(len(rows), n_terms))


class RegisterIndex:
    """Token-incidence matrices of article texts and of single lay questions, with shared IDF."""

    def __init__(self, statute: sparse.csr_matrix, lay: sparse.csr_matrix, vocab: dict[str, int],
                 idf: np.ndarray, unseen_idf: float) -> None:
        self.statute = statute.tocsc()
        self.lay = lay.tocsc()
        self.vocab = vocab
        self.idf = idf
        self.unseen_idf = unseen_idf

    @classmethod
    def fit(cls, statute_docs: list[list[str]], lay_docs: list[list[str]], lay_owner: list[int]) -> RegisterIndex:
        """Build from tokenised article texts and lay questions (`lay_owner[i]`: article of question i).

        Document frequency counts articles (text plus its lay questions, as the BM25 documents),
        so a word is rare when few articles use it in either register.
        """
        vocab: dict[str, int] = {}

        def ids(tokens: list[str]) -> list[int]:
            return sorted({vocab.setdefault(t, len(vocab)) for t in tokens})

        statute_rows = [ids(d) for d in statute_docs]
        lay_rows = [ids(d) for d in lay_docs]
        per_article = [set(row) for row in statute_rows]
        for owner, row in zip(lay_owner, lay_rows, strict=True):
            per_article[owner].update(row)
        n = len(statute_rows)
        df = np.zeros(len(vocab), dtype=np.float32)
        for terms in per_article:
            df[list(terms)] += 1
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        unseen = float(np.log1p((n + 0.5) / 0.5))
        return cls(_incidence(statute_rows, len(vocab)), _incidence(lay_rows, len(vocab)), vocab, idf, unseen)

    def coverage(self, query: str) -> Coverage:
        """IDF-weighted share of the question's own tokens (no vocabulary expansion) covered by the
        best article text and by the best lay question; words the index never saw count as missed."""
        tokens = list(dict.fromkeys(get_tokenizer().tokens(normalize(query))))
        if not tokens:
            return Coverage(0.0, 0.0)
        known = [self.vocab[t] for t in tokens if t in self.vocab]
        total = float(self.idf[known].sum()) + self.unseen_idf * (len(tokens) - len(known))
        if not known or total <= 0:
            return Coverage(0.0, 0.0)
        idx = np.array(known)
        w = self.idf[idx]
        statute = float((self.statute[:, idx] @ w).max()) / total
        lay = float((self.lay[:, idx] @ w).max()) / total if self.lay.shape[0] else 0.0
        return Coverage(statute, lay)

    def statute_share(self, query: str, low: float, high: float) -> float:
        """0 for a lay-register question, 1 for one in statute language, linear in between:
        how far the statute-text coverage exceeds the lay-question coverage, from `low` to `high`."""
        margin = self.coverage(query).margin
        if high <= low:
            return float(margin > low)
        return float(np.clip((margin - low) / (high - low), 0.0, 1.0))

    def save(self, directory: Path) -> None:
        sparse.save_npz(directory / "register_statute.npz", self.statute.tocsr())
        sparse.save_npz(directory / "register_lay.npz", self.lay.tocsr())
        np.save(directory / "register_idf.npy", self.idf)
        meta = {"vocab": self.vocab, "unseen_idf": self.unseen_idf}
        (directory / "register.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RegisterIndex | None:
        """The saved register index, or None for an index folder written without one."""
        if not (directory / "register.json").exists():
            return None
        meta = json.loads((directory / "register.json").read_text(encoding="utf-8"))
        return cls(sparse.load_npz(directory / "register_statute.npz"), sparse.load_npz(directory / "register_lay.npz"),
                   meta["vocab"], np.load(directory / "register_idf.npy"), float(meta["unseen_idf"]))
