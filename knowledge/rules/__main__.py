"""Command line: `python -m knowledge.rules eval FILE [--json]` and `decide FILE_OR_JSON`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from .decision import decide
from .evaluate import diff, evaluate, load_cases


def _table(report: dict) -> str:
    lines = [f"cases: {report['n']}  (narrative facts: {'on' if report['narrative_facts'] else 'off'})", ""]
    width = max(len(k) for k in report["accuracy"])
    for name, acc in report["accuracy"].items():
        ids = report["failed"][name]
        shown = ", ".join(ids[:8]) + (" …" if len(ids) > 8 else "")
        lines.append(f"{name.ljust(width)}  {acc * 100:6.1f}%  {shown}")
    return "\n".join(lines)


def _load_facts(arg: str) -> dict:
    path = Path(arg)
    try:
        is_file = len(arg) < 1024 and path.is_file()
    except OSError:
        is_file = False
    text = path.read_text(encoding="utf-8") if is_file else arg
    text = text.strip()
    obj = json.loads(text.splitlines()[0] if path.suffix == ".jsonl" else text)
    if "facts" in obj:
        facts = dict(obj["facts"])
        if obj.get("narrative"):
            facts["narrative"] = obj["narrative"]
        return facts
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.rules", description="维权助手 legal rules engine")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="score a cases*.jsonl file")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--no-narrative", action="store_true", help="use the structured facts only")
    ev.add_argument("--diff", action="store_true", help="print expected vs got for failing fields")
    de = sub.add_parser("decide", help="decide one facts object (file, case line or inline JSON)")
    de.add_argument("facts")
    de.add_argument("--today", help="ISO date used for relative reasoning")
    de.add_argument("--quotes", action="store_true", help="quote the cited articles verbatim")
    args = parser.parse_args(argv)

    if args.command == "eval":
        cases = load_cases(args.file)
        report = evaluate(cases, use_narrative=not args.no_narrative)
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print(_table(report))
            if args.diff:
                for case in cases:
                    for name, (want, got) in diff(case, not args.no_narrative).items():
                        print(f"{case['id']} {name}: expected={sorted(want) if isinstance(want, frozenset) else want}"
                              f" got={sorted(got) if isinstance(got, frozenset) else got}")
        return 0
    facts = _load_facts(args.facts)
    today = date.fromisoformat(args.today) if args.today else None
    print(json.dumps(decide(facts, today=today).to_dict(quotes=args.quotes), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
