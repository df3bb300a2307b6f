"""Configuration, clock, queue selection and the operations CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from disputes.clock import FrozenClock, add_business_days, clock_from_env, format_local, local_date
from disputes.config import Duration, load_platforms, parse_config


def test_business_days_skip_weekends() -> None:
    fri = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
    assert format_local(add_business_days(fri, 1)) == "2026-05-04 10:00"
    assert format_local(add_business_days(fri, 3)) == "2026-05-06 10:00"
    assert format_local(add_business_days(fri, 10)) == "2026-05-15 10:00"


def test_frozen_clock_and_shanghai_dates(monkeypatch) -> None:
    clock = FrozenClock("2026-05-01T23:30:00")  # naive means Beijing time
    assert clock.now() == datetime(2026, 5, 1, 15, 30, tzinfo=UTC)
    assert local_date(clock.now()).isoformat() == "2026-05-01"
    clock.advance(hours=1)
    assert local_date(clock.now()).isoformat() == "2026-05-02"
    monkeypatch.setenv("ODR_CLOCK_AT", "2026-06-01T08:00:00+08:00")
    assert format_local(clock_from_env().now()) == "2026-06-01 08:00"


def test_platforms_yaml() -> None:
    cfg = load_platforms()
    assert cfg.match("淘宝").key == "taobao" and cfg.match("我在拼多多买的").key == "pinduoduo"
    assert cfg.match("天猫").key == "tmall" and cfg.match("某不知名平台") is None
    sandbox = cfg.get("sandbox")
    assert sandbox.connector == "webhook" and sandbox.max_rounds == 3 and sandbox.secret
    assert sandbox.response_deadline == Duration(business_days=3)
    assert sandbox.desk_sla == Duration(business_days=10)
    assert cfg.get("jd").connector == "desk" and cfg.unlisted.connector == "desk"
    assert sandbox.webhook.backoff(1) == 5 and sandbox.webhook.backoff(4) == 40
    assert sandbox.webhook.backoff(30) == 3600


def test_platform_secret_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("ODR_SANDBOX_SECRET", "from-env")
    assert load_platforms().get("sandbox").secret == "from-env"


def test_bad_platform_config_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a url"):
        parse_config({"platforms": {"x": {"connector": "webhook"}}})
    with pytest.raises(ValueError, match="connector"):
        parse_config({"platforms": {"x": {"connector": "fax"}}})
    with pytest.raises(ValueError, match="duration"):
        Duration.parse({"weeks": 1})
    assert Duration.parse({"days": 2}).describe_zh() == "2天"


def test_queue_backend_selection(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ODR_QUEUE_FILE", str(tmp_path / "q.sqlite3"))  # before the import creates the queue
    from huey import RedisHuey, SqliteHuey

    from disputes.tasks import make_huey

    assert isinstance(make_huey(""), SqliteHuey)
    assert isinstance(make_huey("redis://127.0.0.1:6379/15"), RedisHuey)


def test_cli_export_writes_json_and_pdf(monkeypatch, tmp_path, sqlite_url, clock) -> None:
    from disputes import db as dbmod
    from disputes import service
    from disputes.__main__ import main
    from tests.helpers import make_facts

    monkeypatch.setenv("ODR_DATABASE_URL", sqlite_url)
    dbmod.upgrade(sqlite_url)
    with dbmod.session_factory(sqlite_url)() as s:
        no = service.submit_complaint(s, channel="web", sender_id="web-1", facts=make_facts(), decision=None,
                                      clock=clock).case_no
    assert main(["export", no, str(tmp_path / "pkg")]) == 0
    pkg = json.loads((tmp_path / "pkg.json").read_text(encoding="utf-8"))
    assert pkg["case_no"] == no and {m["label"] for m in pkg["missing"]} >= {"投诉人姓名", "投诉人通讯地址"}
    assert (tmp_path / "pkg.pdf").read_bytes().startswith(b"%PDF")
    dbmod.dispose(sqlite_url)
