"""Huey task queue of the case service.

Storage: SqliteHuey in `<repo>/var/huey.sqlite3` by default (env ODR_QUEUE_FILE to move it), or
RedisHuey when env `ODR_QUEUE_URL=redis://…` (Redis AUTH: env ODR_REDIS_PASSWORD). Messages and
results are JSON (`disputes.queue_serializer`), never pickle. Run the worker with
`python -m disputes.worker` (or `huey_consumer disputes.tasks.huey`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from disputes import jobs
from disputes.clock import clock_from_env
from disputes.db import VAR_DIR, session_factory, with_redis_auth
from disputes.queue_serializer import JsonSerializer

log = logging.getLogger(__name__)


def make_huey(queue_url: str | None = None, name: str = "odr") -> Huey:
    url = queue_url if queue_url is not None else os.environ.get("ODR_QUEUE_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=with_redis_auth(url), serializer=JsonSerializer())
    path = os.environ.get("ODR_QUEUE_FILE") or str(VAR_DIR / "huey.sqlite3")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return SqliteHuey(name, filename=path, serializer=JsonSerializer())


huey = make_huey()
_clock = clock_from_env()


@huey.task()
def open_case_task(case_no: str | None = None) -> list[str]:
    return jobs.open_case(session_factory(), _clock, case_no)


@huey.task()
def deliver_task(delivery_id: int) -> str:
    """One attempt; on failure the next one is scheduled after the exponential backoff."""
    result = jobs.deliver(session_factory(), _clock, delivery_id)
    if result.status == "retry" and result.retry_in is not None:
        deliver_task.schedule(args=(delivery_id,), delay=result.retry_in)
    return result.status


@huey.periodic_task(crontab(minute="*"))
def tick_task() -> dict[str, Any]:
    """Every minute: escalate overdue cases, re-deliver due webhooks, send reminders."""
    return jobs.tick(session_factory(), _clock)


@huey.periodic_task(crontab(minute="23"))
def purge_task() -> dict[str, int]:
    """Every hour: the retention purge (disputes/erasure.py, periods from env ODR_RETENTION_*)."""
    return jobs.purge(session_factory(), _clock)


ERASE_AGAIN_AFTER = 30  # seconds: a chat turn still running saves the conversation once more


@huey.task()
def erase_conversation_task(sender_id: str) -> dict[str, int]:
    return jobs.erase_conversation(session_factory(), sender_id)


@huey.on_startup()
def _sweep_on_startup() -> None:
    """Pick up work a previous (killed) worker left behind without waiting for the next minute."""
    try:
        jobs.tick(session_factory(), _clock)
    except Exception:
        log.exception("start-up sweep failed")


_JOBS = {
    "open_case": open_case_task,
    "deliver": deliver_task,
    "erase_conversation": lambda **kw: erase_conversation_task.schedule(kwargs=kw, delay=ERASE_AGAIN_AFTER),
}


def enqueue(job: str, kwargs: dict[str, Any]) -> None:
    """Entry point of `disputes.dispatch`: put a job on the queue."""
    _JOBS[job](**kwargs)
