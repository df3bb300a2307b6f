"""Uploaded images lose their metadata (EXIF with the GPS position, XMP, comments, PNG text
chunks): they are re-encoded with Pillow, upright, before they are stored. The magic-byte and
extension checks stay, and bytes that do not decode as the image they claim to be are refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.web.conftest import ALICE, Cases, as_consumer, csrf_from

SECRET = b"GPS-Beijing-Chaoyang"


def photo(fmt: str, orientation: int = 1) -> bytes:
    """A 40×30 photo as a phone takes it: camera model, GPS position, XMP and (PNG) a text chunk."""
    img = Image.new("RGB", (40, 30), (200, 50, 50))
    img.paste((20, 20, 220), (0, 0, 10, 30))  # a blue band on the left, to see the turn
    exif = Image.Exif()
    exif[0x0110] = "Phone X"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 20.0), 3: "E", 4: (116.0, 23.0, 29.0)}
    params: dict = {"exif": exif.tobytes()}
    if fmt in ("JPEG", "WEBP"):
        params["xmp"] = b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", SECRET.decode())
        params["pnginfo"] = info
    out = io.BytesIO()
    img.save(out, fmt, **params)
    data = out.getvalue()
    assert SECRET in data and Image.open(io.BytesIO(data)).getexif().get(0x8825)
    return data


@pytest.fixture
def web(app, clock):
    app.config.update(CLOCK=clock)
    return app


@pytest.fixture
def case_no(web, clock) -> str:
    from disputes.db import session_factory

    return Cases(session_factory(web.config["DATABASE_URL"]), clock).submit()


def upload(client, case_no: str, data: bytes, name: str):
    as_consumer(client, ALICE)
    token = csrf_from(client, f"/cases/{case_no}")
    return client.post("/api/chat/evidence", data={"file": (io.BytesIO(data), name), "case_no": case_no},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")


def stored(web, evidence_id: int) -> bytes:
    from disputes.db import session_factory
    from disputes.models import EvidenceFile

    with session_factory(web.config["DATABASE_URL"])() as db:
        ev = db.get(EvidenceFile, evidence_id)
        data = (Path(web.config["UPLOAD_DIR"]) / ev.storage_path).read_bytes()
        assert ev.size == len(data) and len(ev.sha256) == 64
        return data


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "IMG_0001.jpg"), ("PNG", "截图.png"), ("WEBP", "照片.webp")])
def test_uploaded_images_lose_exif_gps_and_xmp(web, client, case_no, fmt, name):
    resp = upload(client, case_no, photo(fmt), name)
    assert resp.status_code == 201, resp.get_json()
    data = stored(web, resp.get_json()["evidence_id"])
    img = Image.open(io.BytesIO(data))
    assert img.format == fmt and img.size == (40, 30)
    assert not dict(img.getexif()) and "exif" not in img.info and "xmp" not in img.info
    assert SECRET not in data and b"Phone X" not in data and b"Exif" not in data
    served = client.get(f"/cases/{case_no}/evidence/{resp.get_json()['evidence_id']}")
    assert served.data == data


def test_a_turned_photo_is_stored_upright(web, client, case_no):
    resp = upload(client, case_no, photo("JPEG", orientation=6), "IMG_0002.jpg")
    img = Image.open(io.BytesIO(stored(web, resp.get_json()["evidence_id"]))).convert("RGB")
    assert img.size == (30, 40)  # orientation 6: turned 90° clockwise for display
    r, g, b = img.getpixel((15, 2))
    assert b > 150 and r < 100  # the blue band that was on the left is now at the top


def test_the_wechat_image_path_strips_metadata_too(tmp_path):
    from web.cases import store_bytes

    got = store_bytes(photo("JPEG"), "微信图片-x.jpg", root=tmp_path, max_bytes=1024 * 1024, check_extension=False)
    data = (tmp_path / got.relative_path).read_bytes()
    assert SECRET not in data and not dict(Image.open(io.BytesIO(data)).getexif())


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 80, "a.png", 415, "已损坏"),  # PNG magic, no image
    (b"\xff\xd8\xff\xe0" + b"garbage" * 10, "a.jpg", 415, "已损坏"),
    (b"<html><script>alert(1)</script></html>", "a.png", 415, "只能上传"),  # magic-byte check stays
    (None, "a.jpg", 415, "扩展名"),  # a PNG named .jpg: the extension check stays
])
def test_what_is_not_a_clean_image_is_refused(web, client, case_no, data, name, status, message):
    if data is None:
        data = photo("PNG")
    resp = upload(client, case_no, data, name)
    assert resp.status_code == status and message in resp.get_json()["error"]
    assert not [p for p in Path(web.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def test_a_decompression_bomb_is_refused(web, client, case_no):
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 megapixels in a few kilobytes
    resp = upload(client, case_no, out.getvalue(), "bomb.png")
    assert resp.status_code == 413 and "像素" in resp.get_json()["error"]
