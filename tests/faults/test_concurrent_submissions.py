"""100 consumers submitting at the same moment: each gets exactly one case, numbers are unique
and gap-free for the day; and 100 consumers uploading evidence through the web tier at once.
(tests/disputes covers 16 threads × 5 submissions from one sender; this is one submission per
distinct consumer, at a larger fan-out, plus the web tier.)"""

from __future__ import annotations

import io
import threading
from collections import Counter

from sqlalchemy import func, select

from disputes import db as dbmod
from disputes import service
from disputes.models import Case, Consumer, EvidenceFile
from tests.helpers import SEVEN_DAY_DECISION, make_facts
from tests.web.conftest import PNG  # a real image: uploads are decoded and re-encoded

CONSUMERS = 100


def run_at_once(n: int, work) -> tuple[dict[int, object], list[BaseException]]:
    """Start n threads behind a barrier so they hit the store together; collect results/errors."""
    barrier = threading.Barrier(n)
    results: dict[int, object] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(60)
            out = work(i)
            with lock:
                results[i] = out
        except BaseException as exc:  # reported by the caller
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a submitter hung"
    return results, errors


def submit_all(db_url: str, clock) -> dict[int, str]:
    dbmod.upgrade(db_url)
    factory = dbmod.session_factory(db_url)

    def submit(i: int) -> str:
        with factory() as s:
            return service.submit_complaint(
                s, channel="web", sender_id=f"web-consumer-{i:03d}",
                facts=make_facts(platform="沙盒商城", shop=f"店铺{i}", order_id=f"{9000000000 + i}"),
                decision=SEVEN_DAY_DECISION, clock=clock).case_no

    results, errors = run_at_once(CONSUMERS, submit)
    assert not errors, errors[:3]
    return results  # type: ignore[return-value]


def test_100_consumers_submit_then_upload_evidence_at_once(db_url, clock, jobs, tmp_path) -> None:
    """One test per backend (the 100 submissions are the set-up of the 100 uploads)."""
    numbers = submit_all(db_url, clock)
    assert len(numbers) == CONSUMERS
    assert sorted(numbers.values()) == [f"ODR-20260504-{n:04d}" for n in range(1, CONSUMERS + 1)]
    factory = dbmod.session_factory(db_url)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == CONSUMERS
        assert s.scalar(select(func.count()).select_from(Consumer)) == CONSUMERS
        for i, case_no in numbers.items():
            mine = service.list_cases(s, f"web-consumer-{i:03d}", "web")
            assert [c["case_no"] for c in mine] == [case_no]
    # one "open the case" job per case, no more
    opened = Counter(kw.get("case_no") for job, kw in jobs if "open" in job)
    assert all(v == 1 for v in opened.values()), opened
    uploads_at_once(db_url, clock, tmp_path, numbers)


def uploads_at_once(db_url: str, clock, tmp_path, numbers: dict[int, str]) -> None:
    """Every consumer uploads from the chat (`/api/chat/evidence`, latest case) at the same moment."""
    from web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "faults", "DATABASE_URL": db_url,
                      "RASA_URL": "http://127.0.0.1:9", "UPLOAD_DIR": str(tmp_path / "uploads"),
                      "MAX_CONTENT_LENGTH": 1024 * 1024, "WTF_CSRF_ENABLED": False, "CLOCK": clock})

    def upload(i: int):
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["sender_id"] = f"web-consumer-{i:03d}"
        resp = client.post("/api/chat/evidence", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(PNG + bytes([i])), f"照片{i}.png")},
                           environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})  # 100 consumers, 100 addresses
        return resp.status_code, resp.get_json()

    results, errors = run_at_once(CONSUMERS, upload)
    assert not errors, errors[:3]
    assert sorted(code for code, _ in results.values()) == [201] * CONSUMERS, \
        [body for code, body in results.values() if code != 201][:3]
    for i, (_, body) in results.items():
        assert body["case_no"] == numbers[i]  # each upload went to the uploader's own case
    with dbmod.session_factory(db_url)() as s:
        per_case = dict(s.execute(select(Case.case_no, func.count(EvidenceFile.id))
                                  .join(EvidenceFile, EvidenceFile.case_id == Case.id).group_by(Case.case_no)).all())
    assert per_case == {no: 1 for no in numbers.values()}
