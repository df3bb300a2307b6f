"""Index build and cache: every search structure for one corpus + data + model + code version.

The cache lives in `<repo>/.cache/index/<hash>/`. The hash covers the corpus fingerprint, the
curated data files (expansions, vocabulary, topics, scope examples), the embedding model folder
name and the source of this package, so any change rebuilds and nothing else does. A build is
written to a temporary folder and renamed into place, so readers never see half an index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from threading import Lock

from knowledge.corpus import Article, corpus_fingerprint, load_corpus
from knowledge.search.bm25 import BM25Searcher, SparseBM25
from knowledge.search.data import data_fingerprint, load_expansions, load_scope_examples, load_topics
from knowledge.search.dense import (
    DenseIndex,
    DenseSearcher,
    Encoder,
    build_dense,
    model_available,
    model_name,
)
from knowledge.search.hybrid import FusionConfig, HybridSearcher
from knowledge.search.register import RegisterIndex
from knowledge.search.scope import ScopeClassifier, train_scope
from knowledge.search.textproc import get_tokenizer, normalize, normalize_plain
from knowledge.search.tfidf import CharTfidf, TfidfSearcher

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ROOT = Path(os.environ.get("ODR_INDEX_CACHE", REPO_ROOT / ".cache" / "index"))
EMBED_CACHE = REPO_ROOT / ".cache" / "embeddings"
PACKAGE_DIR = Path(__file__).resolve().parent
METHODS = ("hybrid", "bm25", "tfidf-char", "dense")


def code_version() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def use_dense() -> bool:
    return os.environ.get("ODR_DISABLE_DENSE", "") != "1" and model_available()


def index_key(dense: bool | None = None) -> str:
    """Cache key of the index that the current corpus, data, model and code would produce."""
    dense = use_dense() if dense is None else dense
    parts = [corpus_fingerprint(), data_fingerprint(), model_name() if dense else "no-dense", code_version()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def lexical_document(article: Article, expansions: dict) -> tuple[str, str]:
    """Statute text (with law and chapter) and the article's lay questions, both normalised."""
    text = normalize_plain(f"{article.law} {article.chapter} {article.text}")
    extra = normalize(" ".join(expansions.get(article.key, ())))
    return text, extra


def register_index(articles: tuple[Article, ...], expansions: dict, texts: list[str]) -> RegisterIndex:
    """Register index over the normalised article texts and every lay question on its own."""
    tok = get_tokenizer()
    lay_docs, lay_owner = [], []
    for i, a in enumerate(articles):
        for phrase in expansions.get(a.key, ()):
            lay_docs.append(tok.tokens(normalize(phrase)))
            lay_owner.append(i)
    return RegisterIndex.fit([tok.tokens(t) for t in texts], lay_docs, lay_owner)


@dataclass
class BuildReport:
    path: Path
    built: bool
    seconds: float
    size_bytes: int
    meta: dict


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_index(force: bool = False, cache_root: Path | None = None) -> BuildReport:
    """Build the index unless an identical one is cached; returns where it is and what it cost."""
    cache_root = cache_root or CACHE_ROOT
    dense = use_dense()
    key = index_key(dense)
    target = cache_root / key
    if (target / "meta.json").exists() and not force:
        meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        return BuildReport(target, False, 0.0, _dir_size(target), meta)

    t0 = time.perf_counter()
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=cache_root))
    try:
        corpus = load_corpus()
        articles = corpus.articles
        expansions = load_expansions()
        tok = get_tokenizer()
        docs = [lexical_document(a, expansions) for a in articles]
        SparseBM25.fit([tok.tokens(t) + tok.tokens(e) for t, e in docs]).save(tmp, "bm25")
        CharTfidf.fit([f"{t} {e}" for t, e in docs]).save(tmp, "tfidf")
        register_index(articles, expansions, [t for t, _ in docs]).save(tmp)
        encoder = Encoder(cache_dir=EMBED_CACHE / model_name()) if dense else None
        if encoder is not None:
            topics = load_topics()
            core = [i for i, a in enumerate(articles) if topics.law_priors.get(a.law, topics.default_prior) >= 1.0]
            build_dense(articles, expansions, encoder, passage_ids=core).save(tmp)
        examples = load_scope_examples()
        in_scope = [q for phrases in expansions.values() for q in phrases] + list(examples["in_scope"])
        scope = train_scope(in_scope, list(examples["out_of_scope"]), examples["domain_terms"], encoder)
        scope.save(tmp / "scope.pkl")
        meta = {
            "key": key,
            "corpus": corpus_fingerprint(),
            "data": data_fingerprint(),
            "model": model_name() if dense else None,
            "code": code_version(),
            "articles": [[a.law, a.article] for a in articles],
            "expanded_articles": len(expansions),
            "lay_questions": sum(len(v) for v in expansions.values()),
            "scope": scope.stats,
            "build_seconds": None,
        }
        meta["build_seconds"] = round(time.perf_counter() - t0, 2)
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "meta.json").exists():  # a concurrent build won the race otherwise
                shutil.rmtree(target, ignore_errors=True)
                os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(cache_root, keep=key)
    seconds = time.perf_counter() - t0
    return BuildReport(target, True, seconds, _dir_size(target), meta)


def _prune(cache_root: Path, keep: str, max_kept: int = 3) -> None:
    """Drop old index folders beyond the newest few (the current one is always kept)."""
    dirs = sorted((p for p in cache_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for p in [d for d in dirs if d.name != keep][max_kept - 1:]:
        shutil.rmtree(p, ignore_errors=True)


@dataclass
class LoadedIndex:
    path: Path
    articles: tuple[Article, ...]
    bm25: SparseBM25
    tfidf: CharTfidf
    dense: DenseIndex | None
    encoder: Encoder | None
    scope: ScopeClassifier
    meta: dict
    register: RegisterIndex | None = None


_load_lock = Lock()


@lru_cache(maxsize=1)
def load_index() -> LoadedIndex:
    """Build (or find) the cached index and load it into memory, once per process."""
    with _load_lock:
        report = build_index()
        path, meta = report.path, report.meta
        corpus = load_corpus()
        articles = tuple(corpus.get(law, number) for law, number in meta["articles"])
        encoder = None
        dense = None
        if meta.get("model") and (path / "dense.faiss").exists():
            encoder = Encoder()
            dense = DenseIndex.load(path, len(articles))
        scope = ScopeClassifier.load(path / "scope.pkl", encoder)
        return LoadedIndex(path, articles, SparseBM25.load(path, "bm25"), CharTfidf.load(path, "tfidf"),
                           dense, encoder, scope, meta, RegisterIndex.load(path))


_searchers: dict[str, object] = {}


def get_searcher(method: str = "hybrid"):
    """Cached searcher singleton for a method: hybrid (default), bm25, tfidf-char or dense."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    with _load_lock:
        cached = _searchers.get(method)
    if cached is not None:
        return cached
    idx = load_index()
    bm25 = BM25Searcher(idx.articles, idx.bm25, idx.scope)
    tfidf = TfidfSearcher(idx.articles, idx.tfidf, idx.scope)
    if method == "bm25":
        searcher = bm25
    elif method == "tfidf-char":
        searcher = tfidf
    elif method == "dense":
        if idx.dense is None:
            raise RuntimeError("dense index unavailable (embedding model missing)")
        searcher = DenseSearcher(idx.articles, idx.dense, idx.encoder, idx.scope)
    else:
        searcher = HybridSearcher(idx.articles, bm25, tfidf, idx.dense, idx.encoder, idx.scope, FusionConfig(),
                                  register=idx.register)
    with _load_lock:
        return _searchers.setdefault(method, searcher)
