"""`python -m disputes.worker [--workers N]`: migrate the database, then run the Huey consumer
(task workers + the per-minute scheduler)."""

from __future__ import annotations

import argparse
import logging

from disputes.db import database_url, upgrade
from disputes.demo import DemoSecretsRefused, enforce, platform_problems
from disputes.privacy import install_log_masking


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ODR case-service worker (deadlines, webhooks, reminders)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll", type=float, default=1.0,
                        help="longest idle wait between queue polls, seconds (SQLite queue)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_masking()
    try:  # the worker signs webhook deliveries: no public demo secret outside demo mode
        enforce("worker", platform_problems())
    except DemoSecretsRefused as exc:
        raise SystemExit(str(exc)) from None
    upgrade(database_url())
    import web.wechat_push  # noqa: F401  (registers the WeChat push task with the same queue)
    from disputes.tasks import huey

    consumer = huey.create_consumer(workers=args.workers, worker_type="thread", periodic=True,
                                    check_worker_health=True, max_delay=args.poll)
    consumer.run()


if __name__ == "__main__":
    main()
