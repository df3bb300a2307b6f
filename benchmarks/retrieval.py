"""Retrieval benchmark: one table, one run, every method.

    .venv/bin/python benchmarks/retrieval.py [--queries FILE] [--cold] [--no-variants]

Rows: the plain baselines (BM25 over jieba tokens and TF-IDF over character 1–2-grams of the
article text only), the project's lexical back-ends with curated expansions (bm25, tfidf-char),
dense (e5-small, passages + lay questions) and hybrid, the last two with the int8 weights the
bot uses and (in child processes, same run) with float32 weights (-fp32) and with int8 in the
feed-forward layers only (-int8-ffn). Columns: Recall@1/5/10 (a hit
is any gold article), coverage@5 (share of the gold set found), MRR@10, primary@5, out-of-scope
accuracy, in-scope rejected, p50/p95 latency (search + scope per query, after warm-up) and index
build time. JSON goes to .cache/benchmarks/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEFAULT_QUERIES = REPO.parent / "shared" / "eval" / "retrieval_dev.jsonl"
OUT = REPO / ".cache" / "benchmarks" / "retrieval.json"
COLUMNS = ["recall@1", "recall@5", "recall@10", "coverage@5", "mrr@10", "primary@5", "oos_accuracy", "in_scope_rejected",
           "p50_ms", "p95_ms"]


def plain_baselines(idx):
    """BM25 and char TF-IDF over the statute text alone: the starting point before this work."""
    from knowledge.search.bm25 import BM25Searcher, SparseBM25
    from knowledge.search.textproc import get_tokenizer, normalize_plain
    from knowledge.search.tfidf import CharTfidf, TfidfSearcher

    tok = get_tokenizer()
    texts = [normalize_plain(f"{a.law} {a.chapter} {a.text}") for a in idx.articles]
    t0 = time.perf_counter()
    bm25 = BM25Searcher(idx.articles, SparseBM25.fit([tok.tokens(t) for t in texts]), idx.scope, expansion_weight=0)
    t_bm25 = time.perf_counter() - t0
    t0 = time.perf_counter()
    tfidf = TfidfSearcher(idx.articles, CharTfidf.fit(texts), idx.scope, expand=False)
    t_tfidf = time.perf_counter() - t0
    return {"bm25-plain": (bm25, t_bm25), "tfidf-plain": (tfidf, t_tfidf)}


VARIANTS = {"fp32": "none", "int8-ffn": "int8-ffn"}  # row suffix -> ODR_EMBED_QUANT


def variant_rows(queries: Path, suffix: str) -> dict:
    """dense and hybrid with other embedding weights, in child processes (own index cache key)."""
    env = {**os.environ, "ODR_EMBED_QUANT": VARIANTS[suffix]}
    rows = {}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "knowledge", "build-index"], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True)
    built = round(time.perf_counter() - t0, 2) if "index built" in out.stdout else "cached"
    for method in ("dense", "hybrid"):
        out = subprocess.run([sys.executable, "-m", "knowledge", "eval", str(queries), "--method", method, "--json"],
                             cwd=REPO, env=env, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["build_s"] = built
        rows[f"{method}-{suffix}"] = row
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--cold", action="store_true", help="time a full build in a scratch cache folder")
    parser.add_argument("--no-variants", action="store_true",
                        help="skip the rows with float32 and feed-forward-only int8 weights")
    args = parser.parse_args()

    from knowledge.evaluation import evaluate, load_queries
    from knowledge.search import build_index, get_searcher, load_index

    queries = load_queries(args.queries)
    cold = None
    if args.cold:
        with tempfile.TemporaryDirectory() as scratch:
            from knowledge.search import index as index_mod

            saved = index_mod.EMBED_CACHE
            index_mod.EMBED_CACHE = Path(scratch) / "embeddings"  # no reuse of cached embeddings
            try:
                cold = build_index(force=True, cache_root=Path(scratch) / "index")
            finally:
                index_mod.EMBED_CACHE = saved
    report = build_index()
    idx = load_index()
    build_s = cold.seconds if cold else (report.meta.get("build_seconds") or report.seconds)

    def run(searcher) -> dict:
        if idx.encoder is not None:
            idx.encoder.clear_cache()  # every method pays for its own query embeddings
        return evaluate(searcher, queries)

    rows = {}
    for name, (searcher, seconds) in plain_baselines(idx).items():
        rows[name] = {**run(searcher), "build_s": round(seconds, 2)}
    for method in ("bm25", "tfidf-char", "dense", "hybrid"):
        try:
            searcher = get_searcher(method)
        except RuntimeError as exc:
            print(f"{method}: skipped ({exc})")
            continue
        rows[method] = {**run(searcher), "build_s": round(build_s, 2)}
    if not args.no_variants and "hybrid" in rows:
        for suffix in VARIANTS:
            rows.update(variant_rows(args.queries, suffix))

    header = f"{'method':<16}" + "".join(f"{c:>18}" for c in COLUMNS + ["build_s"])
    print(f"queries: {args.queries} (n={len(queries)})")
    print(header)
    for name, r in rows.items():
        print(f"{name:<16}" + "".join(f"{r[c]:>18}" for c in COLUMNS + ["build_s"]))
    base = rows.get("bm25-plain", {}).get("recall@5") or 0
    if base and "hybrid" in rows:
        print(f"hybrid Recall@5 / plain BM25 Recall@5 = {rows['hybrid']['recall@5'] / base:.2f}x")
    print(f"index: {report.path} ({report.size_bytes / 1e6:.1f} MB), "
          f"{'cold build' if cold else 'recorded build'} {build_s:.1f}s")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"queries": str(args.queries), "n": len(queries), "index": str(report.path),
                               "index_bytes": report.size_bytes, "build_seconds": round(build_s, 2),
                               "cold_build": bool(cold), "methods": rows}, ensure_ascii=False, indent=1),
                   encoding="utf-8")
    print(f"written {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
