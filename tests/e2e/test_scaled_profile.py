"""The scaled-out profile end to end (tests/e2e/scaled.py starts it as `make run-scaled` does):
two consumers talk to the web tier's chat API at the same time, one conversation on each Rasa
server, each asking a lay legal question, filing a complaint against 沙盒商城 and checking its
status; trackers are in PostgreSQL, the case goes through the Redis queue to the worker, the
sandbox platform answers through the platform API."""

from __future__ import annotations

import re
import threading

from knowledge.corpus import parse_article_number, resolve
from tests.e2e.scaled import Browser, ScaledStack, complaint_turns, submit

CITATION = re.compile(r"《([^》]+)》第([零一二三四五六七八九十百千\d]+)条")


def quoted_articles(reply: str) -> list[str]:
    """Citations in the reply that exist in the corpus and whose text the reply quotes verbatim."""
    found = []
    for law, number in CITATION.findall(reply):
        try:
            article = resolve(law, parse_article_number(number))
        except Exception:  # a citation the corpus does not have
            continue
        if article.text.split("\n")[0] in reply:
            found.append(article.citation)
    return found


def conversation(stack: ScaledStack, browser: Browser, question: str) -> dict:
    out: dict = {"sender": browser.sender_id}
    answer = browser.say(question)
    out["citations"] = quoted_articles(answer)
    assert out["citations"], answer
    for said, expect in complaint_turns():
        out["summary"] = browser.say(said, expect)
    out["case_no"] = submit(browser)
    out["status"] = browser.say(f"查一下{out['case_no']}", out["case_no"])
    return out


def test_two_consumers_on_two_rasa_servers_through_the_web_tier(scaled) -> None:
    questions = ["网上买的外套拆了吊牌还能七天无理由退吗", "网店老板跑路了，平台要不要先赔我钱"]
    browsers = [scaled.browser_on(0), scaled.browser_on(1)]
    results: list[dict | BaseException] = [RuntimeError("did not run")] * 2

    def run(i: int) -> None:
        try:
            results[i] = conversation(scaled, browsers[i], questions[i])
        except BaseException as exc:  # re-raised below, in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    assert results[0]["case_no"] != results[1]["case_no"]
    for r in results:
        assert "沙盒数码旗舰店" in r["summary"] and "当前状态" in r["status"]
        assert scaled.tracker_events(r["sender"]) > 0  # the conversation lives in the PostgreSQL tracker store
        # one case each, taken by the worker through the Redis queue to the sandbox platform, which
        # accepts the seven-day return told as a story through the platform API
        assert scaled.assert_one_complete_case(r["sender"]) == r["case_no"]
    # and the consumer sees the platform's answer when asking again
    again = browsers[0].say(f"查一下{results[0]['case_no']}", results[0]["case_no"])
    assert "当前状态：已和解" in again, again
