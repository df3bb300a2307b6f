"""Log lines carry lengths and masked ids, never what the consumer wrote; a logged value cannot
start a new line; the web app, the worker and the action server all install the filter."""

from __future__ import annotations

import importlib
import io
import logging

import pytest

from disputes.privacy import MaskingFilter, install_log_masking, log_safe, mask_id
from tests.web.conftest import ALICE, APP_ID, OPENID, TOKEN, FakeRasa, as_consumer, post_plain, text_xml

SAID = "我叫王大锤，电话13712345678，住在杭州市西湖区文三路100号，耳机坏了"


def test_mask_id():
    assert mask_id("web-3f2a9c0e5b7d4e1f8a6b2c3d4e5f6a7b") == "web-3f2a…"
    assert mask_id("wx-oUser1234567890") == "wx-oUse…"
    assert mask_id("evt:oUser1234567890:1700000000:subscribe") == "evt:oUse…"
    assert mask_id("1234567890123456") == "1234…"
    assert mask_id("abc") == "abc" and mask_id(None) == ""
    assert "\n" not in mask_id("web-a\nb")


def test_log_safe_escapes_line_breaks_and_masks_numbers():
    assert log_safe("a\nb\r\nc\u2028d\x1b[31m") == "a\\nb\\r\\nc\\u2028d\\x1b[31m"
    assert log_safe("电话13712345678 身份证110101199003071234") == "电话137****5678 身份证110101********1234"
    assert log_safe("tab\tstays") == "tab\tstays"


def test_the_filter_keeps_one_record_on_one_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.security.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("platform said %s", "ok\n2026-12-06 09:00:00 web INFO desk login: admin")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed for %s", "x\ry")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "platform said ok\\n2026-12-06 09:00:00 web INFO desk login: admin"
    assert lines[1] == "failed for x\\ry" and lines[2].startswith("Traceback")  # tracebacks keep their lines


def test_chat_logs_the_length_and_a_masked_id(client, caplog):
    as_consumer(client, ALICE)
    with caplog.at_level(logging.INFO):
        assert client.post("/api/chat/messages", json={"text": SAID}).status_code == 503  # Rasa is down
    logged = caplog.text
    assert f"({len(SAID)} chars)" in logged and "web-alic…" in logged
    for secret in ("王大锤", "13712345678", "137****5678", "文三路", "耳机坏了", ALICE):
        assert secret not in logged, secret


@pytest.fixture
def wx(app, clock):
    """A plaintext Official Account (no EncodingAESKey) with a fake Rasa."""
    app.config.update(CLOCK=clock, WECHAT_PUSH_DELAY=0, WECHAT_TOKEN=TOKEN, WECHAT_APP_ID=APP_ID,
                      WECHAT_ENCODING_AES_KEY="", WECHAT_PASSIVE_TIMEOUT=2.0)
    app.extensions["rasa_client"] = FakeRasa()
    return app


def test_wechat_logs_the_length_and_a_masked_openid(wx, caplog):
    from web.wechat_client import LocalWeChatClient

    with caplog.at_level(logging.INFO):
        resp = post_plain(wx.test_client(), text_xml(SAID, msg_id=4242))
        assert resp.status_code == 200
        client = wx.extensions["wechat_client"]
        if isinstance(client, LocalWeChatClient):
            client.send_text(OPENID, "我理解的情况是：" + SAID)
    logged = caplog.text
    assert f"({len(SAID)} chars)" in logged and mask_id(OPENID) in logged
    for secret in ("王大锤", "13712345678", "137****5678", "文三路", OPENID):
        assert secret not in logged, secret


def test_refused_access_logs_a_masked_sender(caplog):
    from disputes.core import authorize
    from disputes.errors import AccessDenied
    from disputes.models import Case

    with caplog.at_level(logging.WARNING), pytest.raises(AccessDenied):
        authorize(Case(case_no="ODR-20260501-0001", sender_id=ALICE, channel="web"), "web-intruder-999999")
    assert "web-intr…" in caplog.text and "web-intruder-999999" not in caplog.text


@pytest.fixture
def bare_root():
    """The root logger without our filter, restored afterwards."""
    root = logging.getLogger()
    saved = [(h, list(h.filters)) for h in root.handlers] + [(root, list(root.filters))]
    for owner, filters in saved:
        for f in filters:
            if isinstance(f, MaskingFilter):
                owner.removeFilter(f)
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    yield root, handler
    root.removeHandler(handler)
    for owner, filters in saved:
        owner.filters[:] = filters


def _masked(owner) -> bool:
    return any(isinstance(f, MaskingFilter) for f in owner.filters)


def test_the_action_server_installs_the_filter(bare_root):
    root, handler = bare_root
    import actions

    importlib.reload(actions)  # rasa_sdk imports the package after it has set up logging
    assert _masked(root) and _masked(handler)


def test_the_worker_installs_the_filter(bare_root, monkeypatch):
    import disputes.worker as worker

    root, handler = bare_root

    class Stop(Exception):
        pass

    monkeypatch.setattr(worker, "enforce", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(worker, "upgrade", lambda *a, **k: (_ for _ in ()).throw(Stop()))
    with pytest.raises(Stop):
        worker.main([])
    assert _masked(root) and _masked(handler)


def test_install_is_idempotent(bare_root):
    root, handler = bare_root
    install_log_masking()
    install_log_masking()
    assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
