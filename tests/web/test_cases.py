"""Consumer case page, offers, contact form, 12315 package and evidence upload: each only for the
consumer's own case, and every refusal is a clear Chinese error that changes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.web.conftest import ALICE, BOB, JPEG, PDF, PNG, WEBP, as_consumer, csrf_from


def test_case_page_shows_state_deadline_offers_and_timeline(web, client, cases):
    case_no = cases.with_offer()
    as_consumer(client, ALICE)
    resp = client.get(f"/cases/{case_no}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert case_no in html and "协商中" in html
    assert "您答复方案的期限" in html and "2026-05-07 10:00" in html
    assert "待您答复的和解方案" in html and "150.00元" in html
    assert "接受方案" in html and "拒绝方案" in html
    assert "创建投诉" in html and "收到和解方案" in html  # timeline
    assert "138****8000" not in html or "13800138000" not in html
    assert "13800138000" not in html
    assert resp.headers["Cache-Control"].startswith("private")


def test_lower_case_numbers_and_list_page(web, client, cases):
    case_no = cases.submit()
    as_consumer(client, ALICE)
    assert client.get(f"/cases/{case_no.lower()}").status_code == 200
    listing = client.get("/cases").get_data(as_text=True)
    assert case_no in listing and "已提交" in listing
    assert client.get("/api/chat/cases").get_json()["cases"][0]["case_no"] == case_no


@pytest.mark.parametrize("who", [None, BOB])
def test_someone_elses_case_is_not_found(web, client, cases, who):
    case_no = cases.with_offer()
    if who:
        as_consumer(client, who)
    for url in (f"/cases/{case_no}", f"/cases/{case_no}/package.json", f"/cases/{case_no}/package.pdf",
                f"/cases/{case_no}/evidence/1"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert "没有找到该案件" in resp.get_data(as_text=True)
        assert "蓝牙耳机" not in resp.get_data(as_text=True)
    assert client.get("/cases").get_data(as_text=True).count(case_no) == 0


def test_someone_else_cannot_answer_update_or_upload(web, client, cases):
    case_no = cases.with_offer()
    before = cases.snapshot(case_no)
    as_consumer(client, BOB)
    token = csrf_from(client, "/")
    offer_id = _pending_offer_id(cases, case_no)
    posts = [
        (f"/cases/{case_no}/offer", {"offer_id": str(offer_id), "decision": "accept"}),
        (f"/cases/{case_no}/contact", {"name": "李四", "address": "北京"}),
        (f"/cases/{case_no}/evidence", {"file": (io.BytesIO(PNG), "a.png")}),
    ]
    for url, data in posts:
        resp = client.post(url, data={**data, "csrf_token": token}, content_type="multipart/form-data")
        assert resp.status_code == 404, url
    resp = client.post("/api/chat/evidence", data={"case_no": case_no, "file": (io.BytesIO(PNG), "a.png"),
                                                    "csrf_token": token}, content_type="multipart/form-data")
    assert resp.status_code == 404
    assert "没有找到该案件" in resp.get_json()["error"]
    assert cases.snapshot(case_no) == before


def _pending_offer_id(cases, case_no: str) -> int:
    from disputes.core import get_case

    with cases.factory() as db:
        return next(o.id for o in get_case(db, case_no).offers if o.status == "pending")


def test_accepting_the_offer_settles_the_case(web, client, cases):
    case_no = cases.with_offer()
    as_consumer(client, ALICE)
    token = csrf_from(client, f"/cases/{case_no}")
    resp = client.post(f"/cases/{case_no}/offer", data={"csrf_token": token, "decision": "accept",
                                                        "offer_id": str(_pending_offer_id(cases, case_no))})
    assert resp.status_code == 302
    assert cases.state(case_no) == "settled"
    page = client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert "已和解" in page and "待您答复" not in page


def test_rejecting_the_offer_starts_the_next_round(web, client, cases):
    case_no = cases.with_offer()
    as_consumer(client, ALICE)
    token = csrf_from(client, f"/cases/{case_no}")
    client.post(f"/cases/{case_no}/offer", data={"csrf_token": token, "decision": "reject",
                                                 "offer_id": str(_pending_offer_id(cases, case_no))})
    page = client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert "已拒绝" in page


def test_offer_answers_without_csrf_or_with_stale_or_bad_values_change_nothing(web, client, cases):
    case_no = cases.with_offer()
    offer_id = _pending_offer_id(cases, case_no)
    before = cases.snapshot(case_no)
    as_consumer(client, ALICE)
    resp = client.post(f"/cases/{case_no}/offer", data={"decision": "accept", "offer_id": str(offer_id)})
    assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
    token = csrf_from(client, f"/cases/{case_no}")
    for data, expected in (({"decision": "accept", "offer_id": str(offer_id + 99)}, "该方案已更新"),
                           ({"decision": "maybe", "offer_id": str(offer_id)}, "请选择接受或拒绝"),
                           ({"decision": "accept", "offer_id": "abc"}, "方案编号无效")):
        client.post(f"/cases/{case_no}/offer", data={**data, "csrf_token": token})
        assert expected in client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_package_downloads_and_contact_completion(web, client, cases):
    case_no = cases.escalated_regulator()
    as_consumer(client, ALICE)
    page = client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert "已转12315" in page and "下载 PDF" in page and "投诉人姓名" in page
    pkg = client.get(f"/cases/{case_no}/package.json")
    assert pkg.status_code == 200 and pkg.mimetype == "application/json"
    assert json.loads(pkg.data)["complainant"]["name"] == "待补充"
    assert "attachment" in pkg.headers["Content-Disposition"]
    pdf = client.get(f"/cases/{case_no}/package.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    token = csrf_from(client, f"/cases/{case_no}")
    resp = client.post(f"/cases/{case_no}/contact", data={"csrf_token": token, "name": "张三",
                                                          "address": "上海市浦东新区示例路1号", "shop_address": "杭州市某路2号"})
    assert resp.status_code == 302
    pkg = json.loads(client.get(f"/cases/{case_no}/package.json").data)
    assert pkg["complainant"]["name"] == "张三"
    assert pkg["respondent"]["address"] == "杭州市某路2号"
    assert "投诉人姓名" not in [m["label"] for m in pkg["missing"]]


def test_contact_form_rejects_bad_phone_and_empty_forms(web, client, cases):
    case_no = cases.escalated_regulator()
    before = cases.snapshot(case_no)
    as_consumer(client, ALICE)
    token = csrf_from(client, f"/cases/{case_no}")
    client.post(f"/cases/{case_no}/contact", data={"csrf_token": token, "phone": "call me maybe"})
    assert "电话号码格式不正确" in client.get(f"/cases/{case_no}").get_data(as_text=True)
    client.post(f"/cases/{case_no}/contact", data={"csrf_token": token})
    assert "请至少填写一项" in client.get(f"/cases/{case_no}").get_data(as_text=True)
    client.post(f"/cases/{case_no}/contact", data={"csrf_token": token, "name": "张" * 65})
    assert "姓名最多64个字" in client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_package_is_absent_before_escalation(web, client, cases):
    case_no = cases.submit()
    as_consumer(client, ALICE)
    resp = client.get(f"/cases/{case_no}/package.json")
    assert resp.status_code == 404 and "尚未生成12315投诉材料" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- evidence upload


@pytest.mark.parametrize("data,name,ctype", [(PNG, "照片.png", "image/png"), (JPEG, "IMG_1.JPG", "image/jpeg"),
                                             (WEBP, "a.webp", "image/webp"), (PDF, "订单.pdf", "application/pdf")])
def test_chat_upload_goes_to_the_latest_case_and_is_stored_outside_the_web_root(web, client, cases, data, name, ctype):
    cases.submit()
    case_no = cases.submit(product="手机壳")
    as_consumer(client, ALICE)
    token = csrf_from(client, "/")
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(data), name), "description": "破损照片"},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["case_no"] == case_no and body["filename"] == name and case_no in body["message"]
    from disputes.models import EvidenceFile

    with cases.factory() as db:
        ev = db.get(EvidenceFile, body["evidence_id"])
        stored = Path(web.config["UPLOAD_DIR"]) / ev.storage_path
        assert ev.content_type == ctype and ev.size == len(data) and len(ev.sha256) == 64
    assert stored.read_bytes() == data
    # stored under a name of its own (a random hex name may end in "a" by chance: compare names)
    assert stored.name != name and stored.stem != Path(name).stem
    assert stored.suffix in (".png", ".jpg", ".webp", ".pdf")
    assert "static" not in str(stored.resolve())
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    page = client.get(f"/cases/{case_no}").get_data(as_text=True)
    assert name in page and "破损照片" in page
    got = client.get(f"/cases/{case_no}/evidence/{body['evidence_id']}")
    assert got.status_code == 200 and got.data == data and got.mimetype == ctype
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]


def test_case_page_upload_form(web, client, cases):
    case_no = cases.submit()
    as_consumer(client, ALICE)
    token = csrf_from(client, f"/cases/{case_no}")
    resp = client.post(f"/cases/{case_no}/evidence", data={"csrf_token": token, "file": (io.BytesIO(PNG), "x.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    assert "已上传：x.png" in client.get(f"/cases/{case_no}").get_data(as_text=True)


@pytest.mark.parametrize("data,name,status,message", [
    (b"<html><script>alert(1)</script></html>", "evil.png", 415, "只能上传"),
    (b"MZ\x90\x00" + b"\x00" * 100, "setup.pdf", 415, "只能上传"),
    (PDF, "looks-like.png", 415, "扩展名与文件内容不符"),
    (b"", "empty.png", 400, "文件是空的"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(web, client, cases, data, name, status, message):
    case_no = cases.submit()
    before = cases.snapshot(case_no)
    as_consumer(client, ALICE)
    token = csrf_from(client, "/")
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(data), name)},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == status
    assert message in resp.get_json()["error"]
    assert cases.snapshot(case_no) == before
    upload_dir = Path(web.config["UPLOAD_DIR"])
    assert not upload_dir.exists() or not any(p.is_file() for p in upload_dir.rglob("*"))


def test_per_file_limit_and_request_size_limit(web, client, cases):
    case_no = cases.submit()
    before = cases.snapshot(case_no)
    web.config["EVIDENCE_MAX_FILE_BYTES"] = 1000
    as_consumer(client, ALICE)
    token = csrf_from(client, "/")
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG + b"\x00" * 2000), "big.png")},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 413 and "文件太大" in resp.get_json()["error"]
    huge = PNG + b"\x00" * (web.config["MAX_CONTENT_LENGTH"] + 10)
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(huge), "huge.png")},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 413 and "太大" in resp.get_json()["error"]
    resp = client.post(f"/cases/{case_no}/evidence", data={"file": (io.BytesIO(huge), "huge.png"),
                                                          "csrf_token": token}, content_type="multipart/form-data")
    assert resp.status_code == 413 and "太大" in resp.get_data(as_text=True)
    assert cases.snapshot(case_no) == before


def test_upload_without_csrf_without_file_or_without_case(web, client, cases):
    as_consumer(client, ALICE)
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG), "a.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "页面已过期" in resp.get_json()["error"]
    token = csrf_from(client, "/")
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG), "a.png")},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 409 and "还没有投诉案件" in resp.get_json()["error"]
    cases.submit()
    resp = client.post("/api/chat/evidence", data={}, headers={"X-CSRFToken": token},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要上传的文件" in resp.get_json()["error"]
    resp = client.post("/api/chat/evidence", data={"case_no": "../../etc/passwd"}, headers={"X-CSRFToken": token},
                       content_type="multipart/form-data")
    assert resp.status_code == 404


def test_closed_cases_take_no_more_evidence(web, client, cases):
    from disputes.service import withdraw_case

    case_no = cases.submit()
    with cases.factory() as db:
        withdraw_case(db, case_no, sender_id=ALICE, clock=cases.clock)
    as_consumer(client, ALICE)
    token = csrf_from(client, "/")
    resp = client.post("/api/chat/evidence", data={"file": (io.BytesIO(PNG), "a.png"), "case_no": case_no},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 409 and "已结案" in resp.get_json()["error"]


def test_filenames_are_cleaned_for_display():
    from web.cases import display_name, sniff

    assert display_name("../../etc/passwd", "png") == "passwd"
    assert display_name("C:\\Users\\张三\\订单截图.png", "png") == "订单截图.png"
    assert display_name("\x00\x1b[31m.png", "png") == "[31m.png"
    assert display_name("", "pdf") == "证据.pdf"
    assert sniff(b"GIF89a") is None and sniff(b"RIFF\x00\x00\x00\x00WAVE") is None
