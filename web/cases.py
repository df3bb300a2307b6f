"""Consumer case pages and evidence upload.

Every read and write is authorised by the sender id in the consumer's signed session cookie (the
same id the chat uses): a consumer only ever sees their own cases, and someone else's case number
gets the same 404 as a number that does not exist. Uploaded files are checked by their magic
bytes, images are re-encoded without their metadata (EXIF with the GPS position, XMP, comments),
and files are stored outside the web root under `UPLOAD_DIR` with random names and registered
through `disputes.service.add_evidence`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from disputes.clock import SystemClock
from disputes.db import session_factory
from disputes.errors import CaseError, CaseNotFound
from disputes.models import EvidenceFile
from disputes.service import CASE_NO_RE
from web.forms import (
    ContactForm,
    DeleteCaseForm,
    OfferResponseForm,
    abort_zh,
    error_response,
    register_error_pages,
)

bp = Blueprint("cases", __name__)
register_error_pages(bp)
log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
# Detected type → (extensions allowed for it, extension we store under).
ALLOWED_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "image/jpeg": (("jpg", "jpeg", "jfif"), "jpg"),
    "image/png": (("png",), "png"),
    "image/webp": (("webp",), "webp"),
    "application/pdf": (("pdf",), "pdf"),
}
NOT_FOUND_ZH = "没有找到该案件，或您无权查看。"


class UploadError(Exception):
    """An upload we refuse; `str()` is the Chinese reason, `status` the HTTP code."""

    def __init__(self, message_zh: str, status: int = 400) -> None:
        super().__init__(message_zh)
        self.status = status


@dataclass(frozen=True)
class StoredFile:
    relative_path: str
    content_type: str
    size: int
    sha256: str
    filename: str


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes (JPEG, PNG, WebP, PDF), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def display_name(raw: str | None, ext: str) -> str:
    """A filename safe to show and to put in the 12315 package: no path, no control characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")[:100]
    return name or f"证据.{ext}"


def _extension(name: str | None) -> str:
    base = (name or "").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def max_file_bytes() -> int:
    """Per-file limit (EVIDENCE_MAX_FILE_BYTES, env ODR_EVIDENCE_MAX_FILE_BYTES), never above the
    request limit MAX_CONTENT_LENGTH."""
    per_file = int(current_app.config.get("EVIDENCE_MAX_FILE_BYTES")
                   or os.environ.get("ODR_EVIDENCE_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES)
    total = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(per_file, int(total)) if total else per_file


def upload_root() -> Path:
    return Path(current_app.config.get("UPLOAD_DIR") or "var/uploads").resolve()


def store_bytes(data: bytes, original_name: str | None, *, root: Path, max_bytes: int,
                check_extension: bool = True) -> StoredFile:
    """Check and store one evidence file under a random name; returns where and what it is."""
    if not data:
        raise UploadError("文件是空的，请重新选择。")
    if len(data) > max_bytes:
        raise UploadError(f"文件太大了，单个文件不能超过{max_bytes // (1024 * 1024) or 1}MB。", 413)
    content_type = sniff(data[:16])
    if content_type is None:
        raise UploadError("只能上传 JPEG、PNG、WebP 图片或 PDF 文件。", 415)
    allowed_ext, stored_ext = ALLOWED_TYPES[content_type]
    ext = _extension(original_name)
    if check_extension and ext and ext not in allowed_ext:
        raise UploadError("文件扩展名与文件内容不符，请上传原始的图片或 PDF 文件。", 415)
    if content_type in PILLOW_FORMATS:
        data = strip_image_metadata(data, content_type)
    digest = hashlib.sha256(data).hexdigest()
    token = secrets.token_hex(16)
    relative = f"{token[:2]}/{token}.{stored_ext}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_suffix(".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return StoredFile(relative, content_type, len(data), digest, display_name(original_name, stored_ext))


@dataclass(frozen=True)
class EvidenceQuota:
    """How much evidence a consumer may store: files and bytes per case, and files and bytes over
    all their cases in 24 hours (web/config.py: EVIDENCE_MAX_FILES, EVIDENCE_MAX_CASE_BYTES,
    EVIDENCE_DAILY_FILES, EVIDENCE_DAILY_BYTES). Counted in the case store, so every web worker
    and the WeChat image path agree."""

    max_files: int
    max_case_bytes: int
    daily_files: int
    daily_bytes: int

    @classmethod
    def from_config(cls, config: Any) -> EvidenceQuota:
        from web.config import LIMIT_DEFAULTS

        keys = ("EVIDENCE_MAX_FILES", "EVIDENCE_MAX_CASE_BYTES", "EVIDENCE_DAILY_FILES", "EVIDENCE_DAILY_BYTES")
        return cls(*(int(config.get(key, LIMIT_DEFAULTS[key])) for key in keys))

    def check(self, db: Session, case_no: str, sender_id: str, size: int, now: datetime) -> None:
        """Raise UploadError when one more file of `size` bytes would go over a quota."""
        from disputes.service import evidence_usage

        used = evidence_usage(db, case_no, sender_id=sender_id, since=now - timedelta(days=1))
        if used["case_files"] >= self.max_files:
            raise UploadError(f"每个案件最多上传{self.max_files}个证据文件。", 409)
        if used["case_bytes"] + size > self.max_case_bytes:
            raise UploadError(f"该案件的证据文件总大小已达上限（{_mb(self.max_case_bytes)}MB），不能再上传。", 413)
        if used["day_files"] >= self.daily_files:
            raise UploadError(f"24小时内最多上传{self.daily_files}个证据文件，请明天再上传。", 429)
        if used["day_bytes"] + size > self.daily_bytes:
            raise UploadError(f"24小时内上传的证据文件总大小已达上限（{_mb(self.daily_bytes)}MB），请明天再上传。", 429)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel photo; more is a decompression bomb, not evidence
_KEPT_IMAGE_INFO = ("icc_profile", "transparency")  # colours and transparency, nothing about the person
_BAD_IMAGE = "图片文件已损坏或无法识别，请上传原始的图片文件。"


def strip_image_metadata(data: bytes, content_type: str) -> bytes:
    """The image re-encoded by Pillow with its pixels (turned upright by the EXIF orientation), its
    colour profile and transparency, and nothing else: no EXIF (GPS position, camera, time), XMP,
    comments or text chunks. A JPEG that needs no turning keeps its quantisation tables; an
    animated image keeps its first frame. Raises UploadError when the bytes do not decode as the
    format their magic bytes claim."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = PILLOW_FORMATS[content_type]
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UploadError("图片像素过大，请缩小后再上传。", 413)
            kept = {k: img.info[k] for k in _KEPT_IMAGE_INFO if k in img.info}
            turned = img.getexif().get(0x0112, 1) not in (1, None)
            clean = ImageOps.exif_transpose(img) if turned else img
            clean.load()
            clean.info = dict(kept)
            params: dict[str, Any] = {}
            if "icc_profile" in kept:
                params["icc_profile"] = kept["icc_profile"]
            if fmt == "JPEG" and turned:
                params["quality"] = 95
            elif fmt == "JPEG":
                params.update(quality="keep", subsampling="keep")
            elif fmt == "WEBP":  # a lossless WebP (screenshots) stays lossless
                params.update(quality=90, lossless=b"VP8L" in data[:4096])
            elif "transparency" in kept:
                params["transparency"] = kept["transparency"]
            out = io.BytesIO()
            clean.save(out, fmt, **params)
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError,
            EOFError) as exc:
        raise UploadError(_BAD_IMAGE, 415) from exc
    return out.getvalue()


def read_upload(upload: FileStorage, max_bytes: int) -> bytes:
    """Read at most max_bytes + 1 bytes (enough to tell that a file is too large)."""
    return upload.stream.read(max_bytes + 1)


def register_evidence(db, case_no: str, sender_id: str, stored: StoredFile, description: str | None,
                      root: Path, clock) -> dict[str, Any]:
    """add_evidence, removing the stored bytes again when the case service refuses."""
    from disputes.service import add_evidence

    try:
        return add_evidence(db, case_no, sender_id=sender_id, filename=stored.filename, clock=clock,
                            content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                            storage_path=stored.relative_path, description=description)
    except Exception:
        (root / stored.relative_path).unlink(missing_ok=True)
        raise


def evidence_file_response(ev: EvidenceFile, root: Path) -> Response:
    """Send a stored evidence file with headers that stop browsers from running it."""
    if not ev.storage_path:
        abort(404)
    path = (root / ev.storage_path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    inline = (ev.content_type or "").startswith("image/")
    resp = send_file(path, mimetype=ev.content_type or "application/octet-stream", as_attachment=not inline,
                     download_name=ev.filename, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ---------------------------------------------------------------- helpers


def _clock():
    return current_app.config.get("CLOCK") or SystemClock()


def _factory():
    return session_factory(current_app.config["DATABASE_URL"])


def current_sender() -> str | None:
    """The consumer's chat identity, if this browser has one (never created here)."""
    sid = session.get("sender_id")
    return sid if isinstance(sid, str) and sid else None


def _check_case_no(case_no: str) -> str:
    if not CASE_NO_RE.match(case_no or ""):
        abort_zh(404, NOT_FOUND_ZH)
    return case_no.upper()


def _own_status(db, case_no: str) -> dict[str, Any]:
    """The case as its owner sees it; anyone else gets a 404."""
    from disputes.service import case_status

    sid = current_sender()
    if sid is None:
        abort_zh(404, NOT_FOUND_ZH)
    try:
        return case_status(db, case_no, sender_id=sid)
    except CaseNotFound:
        abort_zh(404, NOT_FOUND_ZH)
    raise AssertionError("unreachable")


def _stored_package(db, case_no: str) -> dict[str, Any] | None:
    from disputes.core import get_case

    case = get_case(db, case_no)
    return next((e.package for e in reversed(case.escalations) if e.tier == "regulator" and e.package), None)


# ---------------------------------------------------------------- pages


@bp.get("/cases")
def my_cases():
    from disputes.service import list_cases

    sid = current_sender()
    cases: list[dict[str, Any]] = []
    if sid:
        with _factory()() as db:
            cases = list_cases(db, sid)
    return render_template("cases.html", cases=cases)


@bp.get("/cases/<case_no>")
def case_page(case_no: str):
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        status = _own_status(db, case_no)
    offer_form = OfferResponseForm()
    contact_form = ContactForm()
    resp = Response(render_template("case.html", case=status, offer_form=offer_form, contact_form=contact_form,
                                    delete_form=DeleteCaseForm(), max_mb=max(1, max_file_bytes() // (1024 * 1024))))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/cases/<case_no>/offer")
def respond_offer(case_no: str):
    from disputes.service import respond_to_offer

    case_no = _check_case_no(case_no)
    form = OfferResponseForm()
    with _factory()() as db:
        status = _own_status(db, case_no)
        if not form.validate():
            flash(_first_error(form), "error")
            return redirect(url_for("cases.case_page", case_no=case_no))
        pending = status.get("pending_offer")
        if pending is None or str(pending["id"]) != form.offer_id.data:
            flash("该方案已更新或已答复，请查看最新的方案后再操作。", "error")
            return redirect(url_for("cases.case_page", case_no=case_no))
        try:
            result = respond_to_offer(db, case_no, sender_id=current_sender(), accept=form.decision.data == "accept",
                                      clock=_clock())
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(result.get("message") or "已提交您的答复。", "ok")
    return redirect(url_for("cases.case_page", case_no=case_no))


@bp.post("/cases/<case_no>/contact")
def update_contact(case_no: str):
    from disputes.service import update_contact as service_update_contact

    case_no = _check_case_no(case_no)
    form = ContactForm()
    with _factory()() as db:
        _own_status(db, case_no)
        if not form.validate():
            flash(_first_error(form), "error")
            return redirect(url_for("cases.case_page", case_no=case_no) + "#package")
        values = {k: (getattr(form, k).data or "").strip() or None for k in ("name", "phone", "address", "shop_address")}
        if not any(values.values()):
            flash("请至少填写一项。", "error")
            return redirect(url_for("cases.case_page", case_no=case_no) + "#package")
        try:
            service_update_contact(db, case_no, sender_id=current_sender(), clock=_clock(), **values)
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash("联系信息已更新，12315投诉材料已同步更新。", "ok")
    return redirect(url_for("cases.case_page", case_no=case_no) + "#package")


@bp.post("/cases/<case_no>/delete")
def delete_case(case_no: str):
    """Withdraw the case and delete the consumer's personal information (个人信息保护法第四十七条):
    the case is kept only as an anonymised record for the statistics, and the conversation (Rasa
    tracker, WeChat rows, hand-off requests without a case) is deleted as well; a second pass of
    the worker catches a chat turn that was still running."""
    from disputes.erasure import forget_sender

    case_no = _check_case_no(case_no)
    form = DeleteCaseForm()
    sid = current_sender()
    with _factory()() as db:
        _own_status(db, case_no)
        if not form.validate():
            flash(_first_error(form), "error")
            return redirect(url_for("cases.case_page", case_no=case_no) + "#privacy")
        try:
            forget_sender(db, sid, [case_no], clock=_clock(), upload_root=upload_root(),
                          tracker_url=current_app.config.get("TRACKER_DATABASE_URL"))
        except CaseError as exc:
            flash(str(exc), "error")
            return redirect(url_for("cases.case_page", case_no=case_no) + "#privacy")
    flash(f"案件 {case_no} 已撤回，您的个人信息、证据文件和对话记录已删除。"
          "我们只保留不含个人信息的统计记录（平台、问题类型、处理结果和日期）。", "ok")
    return redirect(url_for("cases.my_cases"))


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return "提交的信息不正确。"


def _upload_to_case(db, case_no: str, status: dict[str, Any]) -> dict[str, Any]:
    """Shared by the case page and the chat: validate, store, register."""
    if status["state"] == "closed":
        raise UploadError("案件已结案，不能再补充证据。", 409)
    quota = EvidenceQuota.from_config(current_app.config)
    quota.check(db, case_no, current_sender(), 0, _clock().now())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise UploadError("请选择要上传的文件。")
    description = (request.form.get("description") or "").strip()[:200] or None
    max_bytes = max_file_bytes()
    data = read_upload(upload, max_bytes)
    quota.check(db, case_no, current_sender(), len(data), _clock().now())
    root = upload_root()
    stored = store_bytes(data, upload.filename, root=root, max_bytes=max_bytes)
    result = register_evidence(db, case_no, current_sender(), stored, description, root, _clock())
    log.info("evidence %s stored for case %s (%s, %d bytes)", result["id"], case_no, stored.content_type, stored.size)
    return result


@bp.post("/cases/<case_no>/evidence")
def upload_evidence(case_no: str):
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        status = _own_status(db, case_no)
        try:
            result = _upload_to_case(db, case_no, status)
        except UploadError as exc:
            flash(str(exc), "error")
        except CaseError as exc:
            flash(str(exc), "error")
        else:
            flash(f"已上传：{result['filename']}", "ok")
    return redirect(url_for("cases.case_page", case_no=case_no) + "#evidence")


@bp.get("/cases/<case_no>/evidence/<int:evidence_id>")
def evidence_file(case_no: str, evidence_id: int):
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        _own_status(db, case_no)
        ev = db.scalars(select(EvidenceFile).join(EvidenceFile.case).where(
            EvidenceFile.id == evidence_id)).first()
        if ev is None or ev.case.case_no != case_no:
            abort_zh(404, "没有找到该证据文件。")
        return evidence_file_response(ev, upload_root())


@bp.get("/cases/<case_no>/package.<fmt>")
def package(case_no: str, fmt: str):
    from disputes.export12315 import render_pdf

    if fmt not in ("json", "pdf"):
        abort(404)
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        status = _own_status(db, case_no)
        pkg = _stored_package(db, case_no) if status.get("package_available") else None
    if pkg is None:
        return error_response(404, "该案件尚未生成12315投诉材料。")
    if fmt == "json":
        resp = Response(json.dumps(pkg, ensure_ascii=False, indent=2), mimetype="application/json")
    else:
        resp = Response(render_pdf(pkg), mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="12315-{case_no}.{fmt}"'
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# ---------------------------------------------------------------- JSON for the chat page


@bp.get("/api/chat/cases")
def api_my_cases():
    from disputes.service import list_cases

    sid = current_sender()
    if not sid:
        return jsonify({"cases": []})
    with _factory()() as db:
        cases = list_cases(db, sid)
    return jsonify({"cases": [{"case_no": c["case_no"], "state_label": c["state_label"],
                               "url": url_for("cases.case_page", case_no=c["case_no"])} for c in cases]})


@bp.post("/api/chat/evidence")
def api_upload_evidence():
    """Upload from the chat: to the given case, else to the consumer's latest case."""
    from disputes.service import latest_case

    sid = current_sender()
    with _factory()() as db:
        case_no = (request.form.get("case_no") or "").strip()
        if case_no:
            case_no = _check_case_no(case_no)
        else:
            latest = latest_case(db, sid) if sid else None
            if latest is None:
                return error_response(409, "您还没有投诉案件。请先在对话中说「我要投诉」，提交后再上传证据。")
            case_no = latest.case_no
        status = _own_status(db, case_no)
        try:
            result = _upload_to_case(db, case_no, status)
        except UploadError as exc:
            return error_response(exc.status, str(exc))
        except CaseError as exc:
            return error_response(exc.status, str(exc))
    return jsonify({"case_no": case_no, "evidence_id": result["id"], "filename": result["filename"],
                    "url": url_for("cases.case_page", case_no=case_no) + "#evidence",
                    "message": f"已将「{result['filename']}」添加为案件 {case_no} 的证据。"}), 201
