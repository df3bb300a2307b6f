"""Operations CLI of the case service:

    python -m disputes upgrade                       # run migrations
    python -m disputes tick                          # one sweep of the worker's periodic job
    python -m disputes export ODR-20260501-0001 out  # 12315 package → out.json + out.pdf
    python -m disputes show ODR-20260501-0001 [--json]  # stored facts, decision, state, timeline
    python -m disputes desk-user NAME [--platform KEY] [--admin]   # password from ODR_DESK_PASSWORD or prompt
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from disputes.clock import SystemClock
from disputes.db import database_url, session_factory, upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m disputes", description="ODR case service")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("upgrade", help="apply database migrations")
    sub.add_parser("tick", help="run the periodic sweep once (deadlines, deliveries, reminders)")
    exp = sub.add_parser("export", help="write the 12315 package of a case as JSON and PDF")
    exp.add_argument("case_no")
    exp.add_argument("out", help="output path without extension")
    show = sub.add_parser("show", help="print a stored case: facts, decision, state, timeline")
    show.add_argument("case_no")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    du = sub.add_parser("desk-user", help="create a service-desk user")
    du.add_argument("username")
    du.add_argument("--platform", help="platform key from platforms.yaml (agents)")
    du.add_argument("--admin", action="store_true")
    args = parser.parse_args(argv)

    url = database_url()
    upgrade(url)
    factory = session_factory(url)
    if args.cmd == "upgrade":
        print(f"database at head: {url.split('@')[-1]}")
    elif args.cmd == "tick":
        from disputes.jobs import tick

        print(json.dumps(tick(factory, SystemClock()), ensure_ascii=False, default=str, indent=2))
    elif args.cmd == "export":
        from disputes.export12315 import build_package, render_pdf

        with factory() as s:
            pkg = build_package(s, args.case_no)
        out = Path(args.out)
        out.with_suffix(".json").write_text(json.dumps(pkg, ensure_ascii=False, indent=2), encoding="utf-8")
        out.with_suffix(".pdf").write_bytes(render_pdf(pkg))
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.pdf')}")
        if pkg["missing"]:
            print("待补充: " + "、".join(m["label"] for m in pkg["missing"]))
    elif args.cmd == "show":
        from disputes.service import case_record

        with factory() as s:
            record = case_record(s, args.case_no)
        if record is None:
            print(f"未找到案件 {args.case_no} (no such case)", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(record, ensure_ascii=False, indent=2, default=str))
        else:
            print(f"{record['case_no']}  {record['state_label']}  {record['platform']}")
            for key, value in record["facts"].items():
                print(f"  {key}: {value}")
            print((record["decision"] or {}).get("explanation") or "（无判断）")
            for entry in record["timeline"]:
                print(f"  {entry['at']}  {entry['text']}")
    elif args.cmd == "desk-user":
        from disputes.desk import create_desk_user

        password = os.environ.get("ODR_DESK_PASSWORD") or getpass.getpass("password: ")
        with factory() as s:
            user = create_desk_user(s, args.username, password, clock=SystemClock(),
                                    role="admin" if args.admin else "agent", platform_key=args.platform)
        print(f"created {user!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
