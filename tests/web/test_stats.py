"""Public statistics: counts by platform, issue type, outcome and month, with small cells
suppressed, and never any personal information or free text (HTML or CSV)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.web.conftest import ALICE

PERSONAL = {"phone": "13912345678", "name": "王小明", "address": "北京市朝阳区幸福路88号"}
SECRET_TEXT = "我的邻居老李也买了这个"


@pytest.fixture
def populated(web, cases, factory, clock):
    """Five settled 淘宝 quality cases, three escalated 京东 fakes, one odd problem, one withdrawn."""
    from disputes.service import respond_to_offer, update_contact, withdraw_case

    numbers = []
    for i in range(5):
        no = cases.with_offer(sender=f"web-s{i}", **PERSONAL, description=f"{SECRET_TEXT}{i}", shop="王小明的小店")
        with factory() as db:
            respond_to_offer(db, no, sender_id=f"web-s{i}", accept=True, clock=clock)
        numbers.append(no)
    for i in range(3):
        no = cases.escalated_regulator(sender=f"web-e{i}", platform="京东", problem="假货", **PERSONAL)
        with factory() as db:
            update_contact(db, no, sender_id=f"web-e{i}", clock=clock, name="赵六", address="上海某路")
        numbers.append(no)
    numbers.append(cases.submit(sender=ALICE, platform="我家楼下的小卖部", problem="老板骂人还不退钱 13700001111"))
    no = cases.submit(sender="web-w", problem="发货延迟")
    with factory() as db:
        withdraw_case(db, no, sender_id="web-w", clock=clock)
    numbers.append(no)
    return numbers


def _no_personal_data(text: str, numbers: list[str]) -> None:
    for value in [*PERSONAL.values(), "13800138000", "138****", "赵六", "上海某路", SECRET_TEXT, "王小明的小店",
                  "蓝牙耳机", "1234567890", "老板骂人", "13700001111", "我家楼下的小卖部", "web-s0"]:
        assert value not in text, value
    for no in numbers:
        assert no not in text


def test_stats_page_is_anonymous(client, populated):
    resp = client.get("/stats/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    _no_personal_data(html, populated)
    assert "<svg" in html and "按平台" in html and "按问题类型" in html and "按结果" in html and "按月份" in html
    assert "cdn" not in html.lower() and "<script" not in html


def test_counts_suppression_and_kpis(client, populated):
    html = client.get("/stats/").get_data(as_text=True)
    assert 'id="kpi-total">10<' in html
    # 淘宝: 5 settled + 1 withdrawn = 6; 京东 3; the unknown platform (1) is "其他平台" and suppressed
    assert "淘宝" in html and "京东" in html and "其他平台" in html and "&lt;3" in html
    # issue types from the fixed list only; free text became 其他
    assert "质量问题" in html and "假货" in html and "其他" in html
    assert "已和解" in html and "已转12315" in html
    # settled 0 days after submission (frozen clock): median 0.0 days over 5 cases
    assert 'id="kpi-median">0.0天<' in html
    assert 'id="kpi-escalated">30.0%<' in html


def test_csv_export_is_anonymous_and_suppressed(client, populated):
    resp = client.get("/stats/cases.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    _no_personal_data(text, populated)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["维度", "类别", "案件数"]
    by = {(r[0], r[1]): r[2] for r in rows[1:]}
    # one small cell alone would be recoverable from the total: the next smallest (京东, 3) is hidden too
    assert by[("平台", "淘宝")] == "6" and by[("平台", "京东")] == "已隐藏" and by[("平台", "其他平台")] == "<3"
    assert by[("问题类型", "假货")] == "3"
    assert by[("合计", "全部案件")] == "10"
    for count in by.values():
        assert count == "" or count.startswith("<") or count.replace(".", "").isdigit() or count == "已隐藏" or ":" in count


def test_small_totals_reveal_nothing(client, cases):
    cases.submit(**PERSONAL)
    html = client.get("/stats/").get_data(as_text=True)
    assert 'id="kpi-total">&lt;3<' in html and 'id="kpi-escalated">—<' in html
    assert "13912345678" not in html and "王小明" not in html


def test_empty_database(client):
    resp = client.get("/stats/")
    assert resp.status_code == 200 and "暂无数据" in resp.get_data(as_text=True)
    assert client.get("/stats/cases.csv").status_code == 200


def test_secondary_suppression():
    from web.stats import suppress

    rows = suppress([("A", 7), ("B", 2), ("C", 4)], 3)
    assert [r["text"] for r in rows] == ["7", "<3", "已隐藏"]
    rows = suppress([("A", 7), ("B", 2), ("C", 1)], 3)
    assert [r["text"] for r in rows] == ["7", "<3", "<3"]
    assert [r["text"] for r in suppress([("A", 1)], 3)] == ["<3"]
    assert [r["text"] for r in suppress([("A", 3), ("B", 4)], 3)] == ["3", "4"]


def test_csv_cells_cannot_be_formulas():
    from web.stats import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("淘宝") == "淘宝"
