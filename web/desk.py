"""Platform service desk (`/desk`): agents answer the cases of their own platform.

Login checks the stored password hash (DeskUser.check_password), is rate-limited per address and
per user name, and every form is CSRF-protected. An agent belongs to one platform: every read and
write goes through `disputes.desk` (which refuses other platforms' cases) or, for the few actions
the web layer records itself (take over, message, evidence files), through the same check here.
Someone else's case gets the same 404 as a missing one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from disputes.clock import SystemClock, format_local
from disputes.db import session_factory
from disputes.errors import AccessDenied, CaseError, CaseNotFound, ConflictError, ValidationError
from disputes.models import Case, DeskUser, Escalation, EvidenceFile, Platform
from disputes.service import CASE_NO_RE
from disputes.states import LABELS_ZH, OFFER_STATES, OPEN_STATES, IllegalTransition, State, can_transition
from web.forms import (
    AnswerForm,
    CloseForm,
    EscalateForm,
    LoginForm,
    TakeoverForm,
    abort_zh,
    register_error_pages,
)

bp = Blueprint("desk", __name__, url_prefix="/desk")
register_error_pages(bp)
log = logging.getLogger(__name__)

NOT_YOURS_ZH = "没有找到该案件，或该案件不属于您所在的平台。"
LOGIN_FAILED_ZH = "用户名或密码错误。"
SESSION_HOURS = 12
# Checked against when the user name does not exist, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
DEADLINE_LABELS = {"platform_response": "平台答复期限", "consumer_reply": "消费者答复期限",
                   "desk_sla": "人工客服处理期限（SLA）"}
FACT_LABELS = {
    "shop": "店铺", "order_id": "订单号", "product": "商品", "category": "类别", "quantity": "数量",
    "price_yuan": "实付金额（元）", "order_date": "下单日期", "signed_date": "签收日期",
    "return_request_date": "申请退货日期", "problem": "问题类型", "description": "经过", "desired_remedy": "期望处理方式",
}


def _clock():
    return current_app.config.get("CLOCK") or SystemClock()


def _factory():
    return session_factory(current_app.config["DATABASE_URL"])


def _fingerprint(user: DeskUser) -> str:
    """Changes when the password changes, which ends every session of that user."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _load_user() -> DeskUser | None:
    uid = session.get("desk_user_id")
    if not isinstance(uid, int):
        return None
    login_at = session.get("desk_login_at")
    hours = float(current_app.config.get("DESK_SESSION_HOURS", SESSION_HOURS))
    if not isinstance(login_at, int | float) or time.time() - login_at > hours * 3600:
        return None
    with _factory()() as db:
        user = db.get(DeskUser, uid)
        if user is None or not user.active or session.get("desk_pw") != _fingerprint(user):
            return None
        if user.platform_id is not None:
            platform = db.get(Platform, user.platform_id)
            g.desk_platform_name = platform.name if platform else ""
        else:
            g.desk_platform_name = "全部平台（管理员）" if user.role == "admin" else ""
        return user


def _logout() -> None:
    for key in ("desk_user_id", "desk_login_at", "desk_pw"):
        session.pop(key, None)


def login_required(view):
    """Loads the agent on every request (deactivated users and changed passwords log out)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        user = _load_user()
        if user is None:
            _logout()
            if request.method == "GET":
                return redirect(url_for("desk.login", next=request.path))
            abort_zh(401, "登录已失效，请重新登录。")
        g.desk_user = user
        return view(*args, **kwargs)

    return wrapper


def _may_see(user: DeskUser, case: Case) -> bool:
    return user.role == "admin" or (user.platform_id is not None and user.platform_id == case.platform_id)


def _check_case_no(case_no: str) -> str:
    if not CASE_NO_RE.match(case_no or ""):
        abort_zh(404, NOT_YOURS_ZH)
    return case_no.upper()


def _desk_case(db, case_no: str, user: DeskUser) -> dict[str, Any]:
    from disputes.desk import desk_case

    try:
        return desk_case(db, case_no, user)
    except CaseNotFound:  # AccessDenied is a CaseNotFound: same answer
        abort_zh(404, NOT_YOURS_ZH)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- login


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/desk") and not target.startswith("//"):
        return target
    return url_for("desk.queue")


def _login_user_key() -> str:
    """The account a login attempt is for, read from the request itself: a key function must not
    close over one request's values, since the limiter keeps the first one per call site."""
    return "user:" + (request.form.get("username") or "").strip()[:64].lower()


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        return render_template("desk/login.html", form=form)
    limiter = current_app.extensions["odr_limiter"]
    username = (request.form.get("username") or "").strip()[:64].lower()
    with limiter.limit(current_app.config["DESK_LOGIN_LIMIT"], key_func=get_remote_address, scope="desk-login-ip"):
        with limiter.limit(current_app.config["DESK_LOGIN_USER_LIMIT"], key_func=_login_user_key,
                           scope="desk-login-user"):
            if not form.validate():
                return render_template("desk/login.html", form=form, error="请输入用户名和密码。"), 400
            user = _authenticate(form.username.data.strip(), form.password.data)
    if user is None:
        log.warning("desk login failed for %r from %s", username, get_remote_address())
        return render_template("desk/login.html", form=form, error=LOGIN_FAILED_ZH), 401
    session.clear()  # a fresh session: nothing from before the login survives
    session["desk_user_id"] = user.id
    session["desk_login_at"] = int(time.time())
    session["desk_pw"] = _fingerprint(user)
    log.info("desk login: %s", user.username)
    return redirect(_safe_next(request.args.get("next")))


def _authenticate(username: str, password: str) -> DeskUser | None:
    from disputes.desk import authenticate_desk_user

    with _factory()() as db:
        exists = db.scalars(select(DeskUser.id).where(DeskUser.username == username)).first()
        if exists is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return authenticate_desk_user(db, username, password)


@bp.post("/logout")
def logout():
    _logout()
    flash("您已退出登录。", "ok")
    return redirect(url_for("desk.login"))


# ---------------------------------------------------------------- queue


def _known_problems() -> list[str]:
    from web.stats import issue_types

    return issue_types()


def _sla(deadline: datetime | None, now: datetime) -> dict[str, Any]:
    """Time left until the deadline, in words (剩余 2天3小时 / 已超时 5小时)."""
    if deadline is None:
        return {"text": "—", "cls": "", "seconds": None}
    delta = deadline - now
    seconds = int(delta.total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    words = (f"{days}天" if days else "") + (f"{hours}小时" if hours or days else "") + ("" if days else f"{minutes}分钟")
    if seconds <= 0:
        return {"text": f"已超时 {words}", "cls": "overdue", "seconds": seconds}
    return {"text": f"剩余 {words}", "cls": "soon" if seconds < 86400 else "", "seconds": seconds}


def _row(case: Case, now: datetime) -> dict[str, Any]:
    from disputes.core import platform_display
    from web.stats import issue_type

    return {
        "case_no": case.case_no, "state": case.state, "state_label": LABELS_ZH.get(case.state, case.state),
        "platform": platform_display(case), "shop": case.facts.get("shop"), "product": case.facts.get("product"),
        "issue": issue_type(case.facts.get("problem")), "round": case.round,
        "demanded_remedy": case.demanded_remedy,
        "demanded_amount": None if case.demanded_amount is None else str(case.demanded_amount),
        "deadline": format_local(case.next_deadline), "deadline_kind": case.deadline_kind,
        "sla": _sla(case.next_deadline, now), "created_at": format_local(case.created_at),
    }


@bp.get("/")
@login_required
def queue():
    from disputes.desk import desk_queue

    user: DeskUser = g.desk_user
    state = request.args.get("state", "")
    issue = request.args.get("issue", "")
    if state not in ("", "all", *LABELS_ZH):
        state = ""
    issues = _known_problems()
    if issue not in ("", *issues):
        issue = ""
    now = _clock().now()
    handoffs: list[dict[str, Any]] = []
    with _factory()() as db:
        if state == "":
            base = desk_queue(db, user, _clock())
            numbers = [r["case_no"] for r in base if r.get("case_no")]
            handoffs = [r for r in base if not r.get("case_no")]
            cases = list(db.scalars(select(Case).where(Case.case_no.in_(numbers)))) if numbers else []
            order = {n: i for i, n in enumerate(numbers)}
            cases.sort(key=lambda c: order[c.case_no])
        else:
            q = select(Case).where(Case.state != State.DRAFT)
            if user.role != "admin":
                q = q.where(Case.platform_id == user.platform_id)
            if state != "all":
                q = q.where(Case.state == state)
            cases = list(db.scalars(q.order_by(Case.created_at.desc()).limit(500)))
        rows = [_row(c, now) for c in cases if _may_see(user, c)]
    if issue:
        rows = [r for r in rows if r["issue"] == issue]
    return render_template("desk/queue.html", rows=rows, handoffs=handoffs, state=state, issue=issue,
                           states=LABELS_ZH, issues=issues, now=format_local(now))


# ---------------------------------------------------------------- case page and actions


def _decision_view(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    """Explanation and citations of the rules decision, with the quoted article text."""
    from disputes.core import legal_basis_of

    if not decision:
        return None
    citations = []
    for basis in legal_basis_of(decision):
        text = None
        try:
            from knowledge.corpus import resolve

            text = resolve(basis["law"], basis["article"]).text
        except Exception:
            text = None
        citations.append({"citation": basis.get("citation") or f"《{basis['law']}》第{basis['article']}条",
                          "text": text})
    reasons = decision.get("reasons") or []
    return {
        "explanation": decision.get("explanation"),
        "reasons": [r if isinstance(r, str) else (r.get("text") or r.get("message") or str(r)) for r in reasons]
        if isinstance(reasons, list) else [],
        "seven_day": decision.get("seven_day_return_eligible"),
        "suggested": decision.get("suggested_remedies") or [],
        "citations": citations,
    }


def _evidence_rows(db, case_no: str) -> list[dict[str, Any]]:
    case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
    return [{"id": e.id, "filename": e.filename, "description": e.description, "content_type": e.content_type,
             "size": e.size, "sha256": e.sha256, "uploaded_at": format_local(e.uploaded_at)} for e in case.evidence]


@bp.get("/cases/<case_no>")
@login_required
def case_page(case_no: str):
    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        status = _desk_case(db, case_no, user)
        evidence = _evidence_rows(db, case_no)
        case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
        taken_over = any(e.type == "desk_takeover" for e in case.events)
        sla = _sla(case.next_deadline, _clock().now())
    status["next_deadline_label"] = DEADLINE_LABELS.get(status.get("next_deadline_kind") or "", "截止时间")
    facts = [(FACT_LABELS.get(k, k), v) for k, v in (status.get("facts") or {}).items()
             if k in FACT_LABELS and v not in (None, "")]
    return render_template(
        "desk/case.html", case=status, facts=facts, evidence=evidence, decision=_decision_view(status.get("decision")),
        answer_form=AnswerForm(), takeover_form=TakeoverForm(), close_form=CloseForm(), escalate_form=EscalateForm(),
        can_answer=status["state"] in OFFER_STATES, is_open=status["state"] in OPEN_STATES,
        can_escalate=status["state"] == State.ESCALATED_DESK, taken_over=taken_over, sla=sla,
    )


def _back(case_no: str, anchor: str = ""):
    return redirect(url_for("desk.case_page", case_no=case_no) + anchor)


def _form_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return "提交的信息不正确。"


@bp.post("/cases/<case_no>/answer")
@login_required
def answer(case_no: str):
    from disputes.desk import desk_answer

    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    form = AnswerForm()
    with _factory()() as db:
        _desk_case(db, case_no, user)
        if not form.validate():
            flash(_form_error(form), "error")
            return _back(case_no, "#actions")
        data = form.answer()
        if data["action"] == "request_info" and not data.get("message"):
            flash("请写明需要消费者补充什么材料。", "error")
            return _back(case_no, "#actions")
        if data["action"] != "counter_offer":
            data.pop("amount", None)
            if data["action"] != "accept":
                data.pop("remedy", None)
        try:
            result = desk_answer(db, case_no, user, data, _clock())
        except AccessDenied:
            abort_zh(404, NOT_YOURS_ZH)
        except CaseError as exc:
            flash(str(exc), "error")
            return _back(case_no, "#actions")
    done = {"accept": "已同意消费者诉求，案件已和解。", "counter_offer": "和解方案已发送给消费者。",
            "reject": "已拒绝，案件已按规则升级。", "request_info": "已请消费者补充材料。"}[data["action"]]
    flash(f"{done}（当前状态：{result.get('state_label')}）", "ok")
    return _back(case_no)


def _record_desk_event(db, case_no: str, user: DeskUser, kind: str, message: str | None) -> None:
    """Take-over and messages: an event on the case and a notification to the consumer."""
    from disputes.core import get_case, notify, platform_display
    from disputes.states import record_event
    from disputes.txn import run_in_transaction

    clock = _clock()

    def run() -> None:
        case = get_case(db, case_no)
        if not _may_see(user, case):
            raise AccessDenied(f"{user.username} may not act on {case_no}")
        if case.state not in OPEN_STATES:
            raise ConflictError("closed", message_zh=f"案件当前为「{LABELS_ZH[case.state]}」，无法操作")
        now = clock.now()
        agent = user.display_name or "客服"
        who = f"{platform_display(case)}人工客服{agent}"
        if kind == "desk_takeover":
            for esc in case.escalations:
                if esc.tier == "desk" and esc.resolved_at is None:
                    esc.assignee_id = user.id
            text = f"案件 {case.case_no}：{who}已接手您的案件，接下来由人工客服与您沟通。"
            if message:
                text += f"客服留言：{message}"
        else:
            text = f"案件 {case.case_no}：{who}留言：{message}"
        record_event(db, case, kind, actor=f"desk:{user.username}", at=now,
                     payload={"agent_id": user.id, "message": message})
        notify(db, case, text, kind=kind, clock=clock)
        case.updated_at = now

    run_in_transaction(db, run)


@bp.post("/cases/<case_no>/takeover")
@login_required
def takeover(case_no: str):
    return _desk_message(case_no, "desk_takeover")


@bp.post("/cases/<case_no>/message")
@login_required
def message(case_no: str):
    return _desk_message(case_no, "desk_message")


def _desk_message(case_no: str, kind: str):
    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    form = TakeoverForm()
    with _factory()() as db:
        _desk_case(db, case_no, user)
        if not form.validate():
            flash(_form_error(form), "error")
            return _back(case_no, "#actions")
        text = (form.message.data or "").strip() or None
        if kind == "desk_message" and not text:
            flash("请填写要发送给消费者的内容。", "error")
            return _back(case_no, "#actions")
        try:
            _record_desk_event(db, case_no, user, kind, text)
        except AccessDenied:
            abort_zh(404, NOT_YOURS_ZH)
        except CaseError as exc:
            flash(str(exc), "error")
            return _back(case_no, "#actions")
    flash("已接手对话，消费者已收到通知。" if kind == "desk_takeover" else "消息已发送给消费者。", "ok")
    return _back(case_no)


@bp.post("/cases/<case_no>/close")
@login_required
def close(case_no: str):
    from disputes.desk import close_case

    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    form = CloseForm()
    with _factory()() as db:
        _desk_case(db, case_no, user)
        if not form.validate():
            flash(_form_error(form), "error")
            return _back(case_no, "#actions")
        state = db.scalars(select(Case.state).where(Case.case_no == case_no)).one()
        if not can_transition(state, State.CLOSED):
            flash(f"案件当前为「{LABELS_ZH.get(state, state)}」，不能结案。", "error")
            return _back(case_no, "#actions")
        try:
            close_case(db, case_no, user, _clock(), form.reason.data.strip())
        except AccessDenied:
            abort_zh(404, NOT_YOURS_ZH)
        except IllegalTransition as exc:
            flash(exc.message_zh, "error")
            return _back(case_no, "#actions")
        except CaseError as exc:
            flash(str(exc), "error")
            return _back(case_no, "#actions")
    flash("案件已结案。", "ok")
    return _back(case_no)


@bp.post("/cases/<case_no>/escalate")
@login_required
def escalate(case_no: str):
    from disputes.desk import desk_escalate

    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    form = EscalateForm()
    with _factory()() as db:
        _desk_case(db, case_no, user)
        if not form.validate():
            flash(_form_error(form), "error")
            return _back(case_no, "#actions")
        try:
            desk_escalate(db, case_no, user, _clock())
        except AccessDenied:
            abort_zh(404, NOT_YOURS_ZH)
        except CaseError as exc:
            flash(str(exc), "error")
            return _back(case_no, "#actions")
    flash("已生成12315投诉材料并通知消费者。", "ok")
    return _back(case_no)


@bp.get("/cases/<case_no>/evidence/<int:evidence_id>")
@login_required
def evidence_file(case_no: str, evidence_id: int):
    from web.cases import evidence_file_response, upload_root

    user: DeskUser = g.desk_user
    case_no = _check_case_no(case_no)
    with _factory()() as db:
        _desk_case(db, case_no, user)
        ev = db.get(EvidenceFile, evidence_id)
        if ev is None or ev.case.case_no != case_no:
            abort_zh(404, "没有找到该证据文件。")
        return evidence_file_response(ev, upload_root())


@bp.post("/handoffs/<int:handoff_id>/resolve")
@login_required
def resolve_handoff(handoff_id: int):
    from disputes.desk import resolve_handoff as service_resolve

    user: DeskUser = g.desk_user
    if user.role != "admin":
        abort_zh(404, "没有找到该转人工请求。")
    form = EscalateForm()
    if not form.validate():
        flash(_form_error(form), "error")
        return redirect(url_for("desk.queue"))
    with _factory()() as db:
        esc = db.get(Escalation, handoff_id)
        if esc is None or esc.case_id is not None:
            abort_zh(404, "没有找到该转人工请求。")
        try:
            service_resolve(db, handoff_id, user, _clock(), note=(request.form.get("note") or "")[:200])
        except ValidationError as exc:
            flash(str(exc), "error")
        else:
            flash("已标记为已处理。", "ok")
    return redirect(url_for("desk.queue"))

