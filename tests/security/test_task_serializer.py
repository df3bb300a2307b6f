"""The task queue stores JSON, never pickle; the scaled profile's passwords come from the environment.

Reproduced before the fix: Huey pickled every message into Redis, so anyone who could write to
that Redis (no AUTH in the scaled profile) made the worker run code of their choosing: a planted
pickle ran at dequeue. Now messages and results are JSON (`disputes.queue_serializer`), a payload
that is not is refused, and Redis AUTH / PostgreSQL passwords are read from ODR_REDIS_PASSWORD /
PGPASSWORD (documented in scaled.env), never written into a file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import re
import uuid

import pytest
import yaml

from tests.helpers import ROOT
from tests.services import require_redis


class Planted:
    """What an attacker writes into the queue: unpickling it runs a command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def queue(url: str):
    from disputes.tasks import make_huey

    huey = make_huey(url, name=f"odr-test-{uuid.uuid4().hex[:8]}")

    @huey.task()
    def add(a: int, b: int, *, note: str = "") -> int:
        return a + b

    return huey, add


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        monkeypatch.setenv("ODR_QUEUE_FILE", str(tmp_path / "queue.sqlite3"))
        return ""
    return require_redis()  # skips (or fails with ODR_REQUIRE_SERVICES=1) without Redis


def test_messages_and_results_are_json(queue_url) -> None:
    from disputes.queue_serializer import JsonSerializer

    huey, add = queue(queue_url)
    try:
        assert isinstance(huey.serializer, JsonSerializer)
        add(2, 3, note="中文")
        later = add.schedule(args=(1, 1), eta=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        raw = huey.storage.dequeue()
        assert not raw.startswith(b"\x80")  # no pickle
        assert json.loads(raw)["__huey__"] == "message"
        task = huey.deserialize_task(raw)
        assert task.args == (2, 3) and task.kwargs == {"note": "中文"}
        assert huey.execute(task) == 5
        delayed = huey.dequeue()
        assert delayed.eta == later.task.eta == dt.datetime(2030, 1, 2, 3, 4, 5) and delayed.args == (1, 1)
        huey.add_schedule(delayed)  # what the consumer does with a task that is not due yet
        [scheduled] = huey.scheduled()
        assert scheduled.eta == delayed.eta and scheduled.id == delayed.id
        huey.put("k", {"ok": [1, "二"], "__huey__": "not a tag", 3: (4, 5)})
        assert json.loads(huey.get_raw("k", peek=True))
        assert huey.get("k") == {"ok": [1, "二"], "__huey__": "not a tag", 3: (4, 5)}
    finally:
        huey.flush()


def test_a_planted_pickle_is_refused_not_run(queue_url, tmp_path) -> None:
    huey, _add = queue(queue_url)
    marker = tmp_path / "pwned"
    try:
        huey.storage.enqueue(pickle.dumps(Planted(str(marker))), 0)
        with pytest.raises(ValueError, match="not JSON"):
            huey.dequeue()
        assert not marker.exists()
    finally:
        huey.flush()


def test_redis_auth_comes_from_the_environment(monkeypatch) -> None:
    from disputes.db import with_redis_auth
    from disputes.tasks import make_huey

    monkeypatch.setenv("ODR_REDIS_PASSWORD", "s3cr/t@x")
    assert with_redis_auth("redis://127.0.0.1:6379/0") == "redis://:s3cr%2Ft%40x@127.0.0.1:6379/0"
    assert with_redis_auth("redis://:own@127.0.0.1:6379/0") == "redis://:own@127.0.0.1:6379/0"
    assert with_redis_auth("memory://") == "memory://"
    huey = make_huey("redis://127.0.0.1:6379/15", name="odr-auth-check")  # no connection is made
    assert huey.storage.pool.connection_kwargs["password"] == "s3cr/t@x"
    monkeypatch.delenv("ODR_REDIS_PASSWORD")
    assert with_redis_auth("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_the_scaled_profile_documents_its_passwords() -> None:
    env_file = (ROOT / "scaled.env").read_text(encoding="utf-8")
    for variable in ("PGPASSWORD", "ODR_REDIS_PASSWORD", "WECHAT_TOKEN", "ODR_SANDBOX_SECRET"):
        assert re.search(rf"^#\s+{variable}\s", env_file, re.M), variable
    assert not re.search(r"://[^/\s]*:[^/\s]*@", env_file)  # no password in a URL
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.scaled.yml").read_text(encoding="utf-8"))
    assert endpoints["lock_store"]["password"] == "${ODR_REDIS_PASSWORD}"
    assert "password" not in endpoints["tracker_store"]  # libpq reads PGPASSWORD itself
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "ODR_REDIS_PASSWORD" in makefile.split("run-scaled: setup", 1)[1].split("\n\n", 1)[0]
