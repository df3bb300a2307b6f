"""Dense retrieval: e5-small embeddings in a FAISS inner-product index (vectors are normalised).

Each article is indexed as several vectors: its own text ("passage: " prompt) and each of its
curated lay questions ("query: " prompt, i.e. symmetric question-to-question matching). An
article's score is the best of its passage similarity and its question similarity (weighted).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from threading import Lock

import numpy as np

from knowledge.corpus import Article
from knowledge.search.base import ArticleSearcher
from knowledge.search.textproc import normalize

KIND_PASSAGE, KIND_QUESTION = 0, 1
SEARCH_DEPTH = 600  # vectors fetched from FAISS per query before aggregating per article
PASSAGE_MAX_TOKENS = 128  # statute texts are embedded from their opening; see build_dense


def model_name() -> str:
    """Identity of the embedding model (part of the index cache key); 'none' if unavailable."""
    try:
        from knowledge.embedding.model import search_model_name
    except ImportError:
        return "none"
    return search_model_name()


def _set_threads(n: int | None = None) -> None:
    """Torch intra-op threads: `n`, else ODR_TORCH_THREADS, else 1.

    Measured here: a one-question batch gains little from a second thread, and when the two
    cores are shared with other processes (Rasa, web workers) two threads made a query 5–10×
    slower than one; one thread per process also lets several workers run side by side. Index
    builds use ODR_BUILD_THREADS (default 1: a cold build took 147 s with one thread and 188 s
    with two on this shared 2-core machine; set 2 on an idle one).
    """
    import torch

    if n is None:
        n = int(os.environ.get("ODR_TORCH_THREADS", "1"))
    torch.set_num_threads(max(1, n))


def build_threads() -> int:
    return int(os.environ.get("ODR_BUILD_THREADS", "1"))


def model_available() -> bool:
    try:
        import knowledge.embedding.model  # noqa: F401
    except ImportError:
        return False
    return True


class Encoder:
    """Thin wrapper over the sentence-transformers model with a small query-embedding cache.

    Bulk encoding goes through an on-disk cache keyed by (model, prompt, text), so rebuilding
    the index after a data edit only embeds the new or changed texts.
    """

    def __init__(self, model=None, cache_dir: Path | None = None) -> None:
        if model is None:
            from knowledge.embedding.model import load_search_model

            _set_threads()
            model = load_search_model()
        self.model = model
        self.cache_dir = cache_dir
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()
        self._direct = _mean_pooled_parts(model)

    def _encode_one_query(self, text: str) -> np.ndarray | None:
        """One question straight through tokenizer + transformer + mean pooling + L2 norm.

        The same computation as `model.encode([text], prompt_name="query")` for this model's
        layout (checked at start: Transformer, mean Pooling including the prompt, Normalize;
        tests compare the two), without the general batching machinery, which costs about 15%
        of a single short query's time. None when the layout differs (the caller falls back).
        """
        if self._direct is None:
            return None
        import torch

        tokenizer, transformer, prompt = self._direct
        batch = tokenizer([prompt + text], truncation=True, max_length=self.model.max_seq_length,
                          return_tensors="pt")
        with torch.inference_mode():
            hidden = transformer(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vec = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return vec[0].numpy().astype(np.float32)

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        saved = self.model.max_seq_length
        if kind == "passage":
            self.model.max_seq_length = min(saved, PASSAGE_MAX_TOKENS)
        try:
            vecs = self.model.encode(
                texts, prompt_name=kind, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        finally:
            self.model.max_seq_length = saved
        return np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(texts), -1)

    def encode(self, texts: list[str], kind: str, batch_size: int = 32) -> np.ndarray:
        """Embeddings of many texts, reusing the on-disk cache when one is configured."""
        if self.cache_dir is None or not texts:
            return self._encode(texts, kind, batch_size)
        store = self.cache_dir / f"{kind}-{PASSAGE_MAX_TOKENS if kind == 'passage' else 'full'}.npz"
        known: dict[str, np.ndarray] = {}
        if store.exists():
            with np.load(store) as data:
                known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items(), key=lambda kv: -len(kv[1]))
        if missing:
            fresh = self._encode([t for _, t in missing], kind, batch_size)
            known.update({k: v for (k, _), v in zip(missing, fresh, strict=True)})
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = store.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
            os.replace(tmp, store)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def clear_cache(self) -> None:
        """Forget memoised query embeddings (benchmarks must not time cache hits)."""
        with self._lock:
            self._cache.clear()

    def query(self, text: str) -> np.ndarray:
        """Embedding of one user question (normalised text), memoised for search + scope reuse."""
        key = normalize(text)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        vec = self._encode_one_query(key) if self.cache_dir is None else None
        if vec is None:
            vec = self.encode([key], "query")[0]
        with self._lock:
            self._cache[key] = vec
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return vec


def _mean_pooled_parts(model) -> tuple | None:
    """(tokenizer, transformer, query prompt) when the model is Transformer → mean Pooling
    (prompt included) → Normalize, the layout `Encoder._encode_one_query` reproduces."""
    try:
        modules = list(model)
        pooling = modules[1].get_config_dict()
        if (len(modules) != 3 or type(modules[2]).__name__ != "Normalize"
                or pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True)):
            return None
        return model.tokenizer, modules[0].auto_model, (model.prompts or {}).get("query", "")
    except (AttributeError, IndexError, TypeError):
        return None


class DenseIndex:
    """FAISS IndexFlatIP over all vectors plus the owner article and kind of each vector."""

    def __init__(self, index, owners: np.ndarray, kinds: np.ndarray, n_articles: int) -> None:
        self.index = index
        self.owners = owners
        self.kinds = kinds
        self.n_articles = n_articles

    @classmethod
    def build(cls, vectors: np.ndarray, owners: np.ndarray, kinds: np.ndarray, n_articles: int) -> DenseIndex:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index, owners.astype(np.int32), kinds.astype(np.int8), n_articles)

    def scores(self, qvec: np.ndarray, question_weight: float = 1.0, depth: int = SEARCH_DEPTH) -> tuple[np.ndarray, np.ndarray]:
        """Per-article best passage similarity and best question similarity (floor elsewhere)."""
        k = min(depth, self.index.ntotal)
        sims, ids = self.index.search(qvec.reshape(1, -1), k)
        sims, ids = sims[0], ids[0]
        floor = float(sims[-1]) if k else 0.0
        passage = np.full(self.n_articles, floor, dtype=np.float32)
        question = np.full(self.n_articles, floor, dtype=np.float32)
        own = self.owners[ids]
        is_q = self.kinds[ids] == KIND_QUESTION
        np.maximum.at(passage, own[~is_q], sims[~is_q])
        np.maximum.at(question, own[is_q], sims[is_q])
        if question_weight != 1.0:
            question = floor + (question - floor) * question_weight
        return passage, question

    def save(self, directory: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(directory / "dense.faiss"))
        np.save(directory / "dense_owners.npy", self.owners)
        np.save(directory / "dense_kinds.npy", self.kinds)

    @classmethod
    def load(cls, directory: Path, n_articles: int) -> DenseIndex:
        import faiss

        index = faiss.read_index(str(directory / "dense.faiss"))
        return cls(index, np.load(directory / "dense_owners.npy"), np.load(directory / "dense_kinds.npy"), n_articles)


def passage_text(article: Article) -> str:
    return f"{article.law} {article.chapter} {article.text}".strip()


def build_dense(articles: tuple[Article, ...], expansions: dict, encoder: Encoder,
                passage_ids: list[int] | None = None) -> DenseIndex:
    """Embed the article texts (all, or those in `passage_ids`) and every curated lay question.

    Statute-text vectors are the expensive part of a build and matter least in the fusion
    (lay questions carry most of the dense signal), so callers may limit them to core texts,
    and each text is embedded from its first PASSAGE_MAX_TOKENS tokens (an article's subject
    comes first; the lexical back-ends still see the whole text).
    """
    passage_ids = list(range(len(articles))) if passage_ids is None else list(passage_ids)
    _set_threads(build_threads())
    passages = [passage_text(articles[i]) for i in passage_ids]
    questions, q_owner = [], []
    for i, a in enumerate(articles):
        for phrase in expansions.get(a.key, ()):
            questions.append(normalize(phrase))
            q_owner.append(i)
    p_vecs = encoder.encode(passages, "passage", batch_size=16)
    q_vecs = encoder.encode(questions, "query", batch_size=64) if questions else np.zeros((0, p_vecs.shape[1]), np.float32)
    _set_threads()
    vectors = np.vstack([p_vecs, q_vecs]).astype(np.float32)
    owners = np.concatenate([np.array(passage_ids, dtype=np.int64), np.array(q_owner, dtype=np.int64)])
    kinds = np.concatenate([np.full(len(passages), KIND_PASSAGE), np.full(len(questions), KIND_QUESTION)])
    return DenseIndex.build(vectors, owners, kinds, len(articles))


class DenseSearcher(ArticleSearcher):
    """Dense-only retrieval: max of passage and lay-question similarity per article."""

    name = "dense"

    def __init__(self, articles: tuple[Article, ...], index: DenseIndex, encoder: Encoder, scope=None,
                 question_weight: float = 1.0) -> None:
        super().__init__(articles, scope)
        self.index = index
        self.encoder = encoder
        self.question_weight = question_weight

    def scores(self, query: str) -> np.ndarray:
        passage, question = self.index.scores(self.encoder.query(query), self.question_weight)
        return np.maximum(passage, question)
