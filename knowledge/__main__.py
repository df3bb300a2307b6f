"""Command line: search the statutes, evaluate retrieval, build the index.

    python -m knowledge search "问题" [--k 5] [--json]
    python -m knowledge eval FILE [--method hybrid|dense|bm25|tfidf-char] [--json]
    python -m knowledge build-index [--force]
    python -m knowledge answer "问题" [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _cmd_search(args: argparse.Namespace) -> int:
    from knowledge.search import get_searcher

    searcher = get_searcher(args.method)
    hits = searcher.search(args.query, k=args.k)
    in_scope, confidence = searcher.is_in_scope(args.query)
    if args.json:
        print(json.dumps({"query": args.query, "in_scope": in_scope, "confidence": confidence,
                          "hits": [h.to_dict() for h in hits]}, ensure_ascii=False, indent=1))
        return 0
    print(f"in_scope={in_scope} confidence={confidence:.2f}")
    for rank, h in enumerate(hits, 1):
        text = h.text.replace("\n", " ")
        print(f"{rank}. {h.citation}  score={h.score:.4f}\n   {text[:120]}{'…' if len(text) > 120 else ''}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.evaluation import evaluate, load_queries
    from knowledge.search import get_searcher

    result = evaluate(get_searcher(args.method), load_queries(args.file))
    result = {"method": args.method, **result}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:>18}: {value}")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from knowledge.search import build_index

    report = build_index(force=args.force)
    state = "built" if report.built else "up to date (skipped)"
    print(f"index {state}: {report.path}")
    print(f"  time {report.seconds:.1f}s, size {report.size_bytes / 1e6:.1f} MB, "
          f"{report.meta.get('expanded_articles')} expanded articles, "
          f"{report.meta.get('lay_questions')} lay questions, dense model: {report.meta.get('model')}")
    return 0


def _cmd_answer(args: argparse.Namespace) -> int:
    from knowledge.answer import compose_answer

    answer = compose_answer(args.query, topic=args.topic)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(answer.text)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m knowledge", description="维权助手 statute knowledge tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("search", help="search the statutes for a question")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--method", default="hybrid", choices=["hybrid", "bm25", "tfidf-char", "dense"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("eval", help="evaluate retrieval on a JSONL file of labelled questions")
    p.add_argument("file")
    p.add_argument("--method", default="hybrid", choices=["hybrid", "bm25", "tfidf-char", "dense"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("build-index", help="build the search index, or confirm the cached one")
    p.add_argument("--force", action="store_true", help="rebuild even if an identical index is cached")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("answer", help="compose the chat answer for a question")
    p.add_argument("query")
    p.add_argument("--topic", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_answer)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
