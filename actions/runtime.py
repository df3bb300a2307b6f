"""Process-wide dependencies of the actions: database sessions, the clock, the complaint limit,
and the worker threads that keep blocking work off the action server's event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from disputes.clock import Clock, FrozenClock, SystemClock, local_date

_clock: Clock | None = None
_migrated: set[str] = set()
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()
DEFAULT_COMPLAINTS_PER_DAY = 5

T = TypeVar("T")


def clock() -> Clock:
    """The system clock, or a frozen one when ODR_CLOCK_AT is set (demos and end-to-end tests)."""
    global _clock
    if _clock is None:
        at = os.environ.get("ODR_CLOCK_AT")
        _clock = FrozenClock(at) if at else SystemClock()
    return _clock


def today() -> date:
    return local_date(clock().now())


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the case store; commits on success, rolls back on error."""
    from disputes.db import database_url, session_factory, upgrade

    url = database_url()
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    with session_factory(url)() as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def channel_of(sender_id: str) -> str:
    """Conversation ids carry their channel: web-… from the chat page, wx-… from WeChat."""
    return "wechat" if sender_id.startswith("wx-") else "web"


def complaints_per_day() -> int:
    """How many complaints one sender may file in 24 hours (env ODR_MAX_COMPLAINTS_PER_DAY; 0 = no
    limit): every complaint is sent to a platform and a human may have to answer it."""
    raw = os.environ.get("ODR_MAX_COMPLAINTS_PER_DAY", "").strip()
    return int(raw) if raw else DEFAULT_COMPLAINTS_PER_DAY


def _worker_pool() -> ThreadPoolExecutor:
    """The worker threads of this process (created lazily: the action server forks its workers)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            size = int(os.environ.get("ODR_ACTION_THREADS", "0") or 0) or min(32, (os.cpu_count() or 1) + 4)
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=size, thread_name_prefix="action-worker"))
        return _pool[1]


async def run_blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run blocking work (database, retrieval model, story parsing) in a worker thread. The action
    server runs every conversation's actions on one event loop: work done on the loop itself
    stalls all of them until it ends."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(_worker_pool(), call)


def off_event_loop(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for an action's `run`: the whole body runs in a worker thread (`run_blocking`).
    Takes a plain `def run`, or an `async def run` that awaits nothing of the server's loop (it is
    then driven to completion on a loop of its own inside the worker thread)."""
    if inspect.iscoroutinefunction(run):

        def in_thread(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(run(*args, **kwargs))
    else:
        in_thread = run

    @functools.wraps(run)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await run_blocking(in_thread, *args, **kwargs)

    return wrapper
