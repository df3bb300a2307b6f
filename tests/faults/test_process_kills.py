"""SIGKILL in the middle of conversations on the scaled-out profile (tests/e2e/scaled.py): the web
tier (one gunicorn worker, then master and workers), an action server, and a Rasa server (one
conversation half-way through the form, another in the middle of its confirmation) die; nothing
the consumer already said is lost, the conversation resumes, and each consumer ends up with
exactly one case with a complete history. (The worker killed mid-delivery:
tests/disputes/test_disputes_worker.py.)"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.scaled import ORDER_TURN, complaint_turns, submit

RASA_LOCK_LIFETIME = 60  # seconds: Rasa's ticket lock lifetime (TICKET_LOCK_LIFETIME unset)


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def wait_for(predicate, timeout: float, what: str, every: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def has_chinese(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def test_web_tier_killed_mid_conversation_the_cookie_session_continues(scaled) -> None:
    browser = scaled.browser()
    sender = browser.sender_id
    turns = complaint_turns()
    for said, expect in turns[:4]:
        browser.say(said, expect)

    # one gunicorn worker dies: the master starts a new one, the next turns go on
    web = scaled.processes["web"]
    workers = wait_for(lambda: len(children(web.pid)) == 2 and children(web.pid), 30, "two gunicorn workers")
    os.kill(workers[0], signal.SIGKILL)
    # (the browser's next message comes a moment later: once the worker is gone, its keep-alive
    # connection is seen closed and a new one is opened)
    wait_for(lambda: len(children(web.pid)) == 2 and workers[0] not in children(web.pid), 30,
             "the master to replace the killed worker")
    for said, expect in turns[4:7]:
        browser.say(said, expect)

    # the whole web tier dies (master and workers): the browser's request does not get through ...
    web.kill()
    with pytest.raises(requests.ConnectionError):
        browser.post(turns[7][0], timeout=10)
    # ... and once it is back, the same cookie continues the same conversation where it was
    web.start().wait_ready()
    summary = ""
    for said, expect in turns[7:]:
        summary = browser.say(said, expect)
    assert browser.sender_id == sender
    assert "沙盒数码旗舰店" in summary and turns[ORDER_TURN][0] in summary  # answers from before the kills
    case_no = submit(browser)
    assert scaled.assert_one_complete_case(sender) == case_no


def test_action_server_killed_mid_form_clear_reply_then_the_form_continues(scaled) -> None:
    browser = scaled.browser()
    sender = browser.sender_id
    n = scaled.rasa_index(sender) + 1  # rasaN calls actionsN
    turns = complaint_turns()
    for said, expect in turns[:6]:
        browser.say(said, expect)

    actions = scaled.processes[f"actions{n}"]
    actions.kill()
    said, expect = turns[6]
    resp = browser.post(said)
    assert resp.status_code in (200, 503), (resp.status_code, resp.text[:500])
    body = resp.json()
    reply = body.get("error") or "\n".join(m.get("text") or "" for m in body.get("messages") or [])
    assert reply.strip() and has_chinese(reply), body
    assert "稍后" in reply and "重新发送" in reply, reply  # says what to do
    assert expect not in reply  # the form did not pretend to move on

    actions.start().wait_ready()
    summary = ""
    for said, expect in turns[6:]:  # the consumer sends the lost answer again
        summary = browser.say(said, expect)
    assert "沙盒数码旗舰店" in summary and turns[ORDER_TURN][0] in summary and "199" in summary
    case_no = submit(browser)
    assert scaled.assert_one_complete_case(sender) == case_no


def test_rasa_server_killed_mid_form_and_mid_submission(scaled) -> None:
    """Two consumers on the same Rasa server: A is half-way through the form, B has just confirmed
    when the server dies, right after B's case was stored (before it saved B's conversation, as a
    rule). A's next turns go to the other Rasa server, which has A's tracker from PostgreSQL. B
    gets a clear answer, confirms again once the dead server's conversation lock has expired, and
    is shown the case already filed: one case each. Runs last in this file: the killed server is
    not restarted here (loading the model takes a minute or more)."""
    a = scaled.browser()
    n = scaled.rasa_index(a.sender_id) + 1
    b = scaled.browser_on(n - 1)
    turns_a, turns_b = complaint_turns(), complaint_turns()
    for said, expect in turns_a[:7]:
        a.say(said, expect)
    for said, expect in turns_b:
        b.say(said, expect)
    assert scaled.tracker_events(a.sender_id) > 0

    in_flight: dict = {}
    confirming = threading.Thread(target=lambda: in_flight.update(resp=b.post("确认无误，同意提交")))
    confirming.start()
    wait_for(lambda: scaled.cases_of(b.sender_id), 60, "B's case to be stored", every=0.005)
    scaled.processes[f"rasa{n}"].kill()
    killed_at = time.monotonic()
    submitted_in_tracker = scaled.tracker_events(b.sender_id, action="action_submit_complaint") > 0
    print(f"Rasa server killed {'after' if submitted_in_tracker else 'before'} it saved B's conversation")

    summary = ""
    for said, expect in turns_a[7:]:  # now necessarily served by the other Rasa server
        summary = a.say(said, expect)
    assert "沙盒数码旗舰店" in summary and turns_a[ORDER_TURN][0] in summary and "199" in summary
    case_a = submit(a)
    assert case_a in a.say(f"查一下{case_a}", "当前状态")

    confirming.join(120)
    [(case_b, _)] = scaled.cases_of(b.sender_id)
    resp = in_flight["resp"]
    if resp.status_code == 200:  # the reply got out before the kill
        assert case_b in resp.json()["messages"][0]["text"]
    else:  # the other server waited for the conversation lock until the web tier gave up
        assert resp.status_code == 503 and "重新发送" in resp.json()["error"], resp.text
    # B presses 「确认提交」 again once the dead server's lock on B's conversation has expired
    time.sleep(max(0.0, killed_at + RASA_LOCK_LIFETIME + 2 - time.monotonic()))
    again = b.say("确认无误，同意提交")
    if submitted_in_tracker:  # the kill came after the conversation was saved: nothing to confirm
        assert "目前没有待提交的投诉" in again, again
    else:  # the conversation was still at the confirmation: the case already filed is shown
        assert "已经提交过了" in again and case_b in again, again
    assert scaled.assert_one_complete_case(a.sender_id) == case_a
    assert scaled.assert_one_complete_case(b.sender_id) == case_b
