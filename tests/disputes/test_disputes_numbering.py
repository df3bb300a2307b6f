"""Case numbers ODR-YYYYMMDD-NNNN: per-day sequence in Shanghai time, unique under concurrency,
and concurrent schema upgrades from several processes."""

from __future__ import annotations

import multiprocessing
import re
import threading
import time

import pytest
from sqlalchemy import select

from disputes import db as dbmod
from disputes import service
from disputes.clock import FrozenClock
from disputes.models import Case
from tests.helpers import make_facts


def submit(factory, clock, sender: str = "web-1") -> str:
    with factory() as s:
        return service.submit_complaint(
            s, channel="web", sender_id=sender, facts=make_facts(), decision=None, clock=clock
        ).case_no


def test_format_and_daily_sequence(factory) -> None:
    clock = FrozenClock("2026-05-01T23:58:00+08:00")
    first = submit(factory, clock)
    assert re.fullmatch(r"ODR-\d{8}-\d{4}", first)
    assert first == "ODR-20260501-0001"
    assert submit(factory, clock) == "ODR-20260501-0002"
    # 00:00 Beijing time is 16:00 UTC of the previous day: the day is taken in Asia/Shanghai
    clock.set("2026-05-01T16:00:00+00:00")
    assert submit(factory, clock) == "ODR-20260502-0001"
    clock.set("2026-05-01T23:59:59+08:00")  # a late writer with an old clock continues its own day
    assert submit(factory, clock) == "ODR-20260501-0003"


def test_failed_submission_does_not_consume_a_number(factory, clock) -> None:
    assert submit(factory, clock) == "ODR-20260501-0001"
    with factory() as s, pytest.raises(service.ConsentRequired):
        service.submit_complaint(s, channel="web", sender_id="web-1", facts=make_facts(consent=False),
                                 decision=None, clock=clock)
    with factory() as s, pytest.raises(service.ValidationError):
        service.submit_complaint(s, channel="web", sender_id="web-1", facts=make_facts(price_yuan="abc"),
                                 decision=None, clock=clock)
    assert submit(factory, clock) == "ODR-20260501-0002"


@pytest.mark.parametrize("threads,per_thread", [(16, 5)])
def test_concurrent_submissions_get_unique_contiguous_numbers(factory, clock, threads, per_thread) -> None:
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                no = submit(factory, clock, sender=f"web-{i}")
                with lock:
                    results.append(no)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    elapsed = time.perf_counter() - started
    assert not errors, errors
    total = threads * per_thread
    assert len(results) == total and len(set(results)) == total
    assert sorted(results) == [f"ODR-20260501-{n:04d}" for n in range(1, total + 1)]
    with factory() as s:
        assert s.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == total
    print(f"\n{factory.kw['bind'].dialect.name}: {total} submissions from {threads} threads in {elapsed:.2f}s")


def _proc_start(url: str, n: int, queue) -> None:
    """What a process does at start-up: migrate, then serve submissions."""
    try:
        from disputes import dispatch

        dispatch.set_dispatcher(lambda job, kwargs: None)
        dbmod.upgrade(url)
        factory = dbmod.session_factory(url)
        clock = FrozenClock("2026-05-01T10:00:00+08:00")
        queue.put([submit(factory, clock, sender=f"web-p{n}") for _ in range(5)])
    except BaseException as exc:  # pragma: no cover - reported by the parent
        queue.put(repr(exc))


def test_concurrent_upgrade_and_submission_from_processes(db_url) -> None:
    """Several processes start at once on an empty database: all migrate, then all submit."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_proc_start, args=(db_url, i, q)) for i in range(3)]
    for p in procs:
        p.start()
    outcomes = [q.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert dbmod.current_revision(db_url) == dbmod.head_revision() is not None
    numbers = [n for o in outcomes for n in o]
    assert sorted(numbers) == [f"ODR-20260501-{n:04d}" for n in range(1, 16)]
    dbmod.dispose(db_url)
