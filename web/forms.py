"""Web security plumbing (CSRF, login rate limit, cookie flags, Chinese error pages) and the
WTForms forms of the case page and the service desk."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.validators import ValidationError as WTFValidationError

from disputes.db import with_redis_auth
from disputes.models import REMEDIES

csrf = CSRFProtect()

# Chinese texts for the HTTP errors our pages can produce.
ERROR_TEXTS: dict[int, str] = {
    400: "请求格式不正确。",
    401: "请先登录。",
    403: "您没有权限执行此操作。",
    404: "页面不存在，或您无权查看。",
    405: "不支持该请求方法。",
    413: "上传的内容太大了。",
    415: "不支持的内容类型。",
    429: "操作过于频繁，请稍后再试。",
    500: "服务器出错了，请稍后再试。",
}
CSRF_TEXT = "页面已过期或请求来源无法验证，请刷新页面后重试。"


def wants_json() -> bool:
    """API paths and fetch() calls get JSON errors; pages get an HTML error page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str | None = None):
    """A clear Chinese error in the form the caller understands."""
    message = message or ERROR_TEXTS.get(status, "请求无法处理。")
    if wants_json():
        return jsonify({"error": message}), status
    return render_template("error.html", status=status, message=message), status


def register_error_pages(bp: Any) -> None:
    """Chinese errors for a blueprint (CSRF failures, oversized bodies, rate limits, 404 …)."""

    @bp.errorhandler(CSRFError)
    def _csrf(_exc):
        return error_response(400, CSRF_TEXT)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        return error_response(exc.code, getattr(exc, "message_zh", None) or ERROR_TEXTS.get(exc.code))


def abort_zh(status: int, message_zh: str) -> None:
    """Abort with a Chinese message that the blueprint error handlers show as is."""
    from werkzeug.exceptions import default_exceptions

    exc = default_exceptions[status]()
    exc.message_zh = message_zh  # type: ignore[attr-defined]
    raise exc


def init_security(app: Flask) -> Limiter:
    """CSRF protection for every form POST, a per-app rate limiter (memory by default, Redis or
    any `limits` storage URI from env ODR_RATELIMIT_STORAGE) and hardened cookie flags."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Secure session cookie, except for the local demo over plain http (DemoSessionInterface).
    app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = DemoSessionInterface()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("DESK_LOGIN_LIMIT", "5 per minute")
    app.config.setdefault("DESK_LOGIN_USER_LIMIT", "20 per hour")
    proxies = int(os.environ.get("ODR_TRUSTED_PROXIES", "0") or 0)
    if proxies > 0:  # behind nginx etc.: rate limits must see the client's address, not the proxy's
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    csrf.init_app(app)
    # Routing errors happen before any blueprint is known; an oversized body can reach a blueprint
    # without error pages of its own (the JSON chat API).
    for status in (404, 405, 413):
        app.register_error_handler(status, lambda exc: error_response(exc.code, getattr(exc, "message_zh", None)))
    app.after_request(_security_headers)
    storage = os.environ.get("ODR_RATELIMIT_STORAGE") or app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    storage = with_redis_auth(storage)  # Redis AUTH from env ODR_REDIS_PASSWORD
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, default_limits=[],
                      key_prefix="odr")
    app.extensions["odr_limiter"] = limiter
    return limiter


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
HSTS = "max-age=31536000; includeSubDomains"


def local_plain_http_demo(app: Flask) -> bool:
    """Whether the current request is the local demo over plain http: demo mode (config DEMO, else
    env ODR_DEMO=1), an http request, and both the host the browser asked for and the peer on the
    loopback interface. Env ODR_COOKIE_SECURE=1 rules even that out."""
    demo = app.config.get("DEMO")
    if demo is None:
        from disputes.demo import demo_mode

        demo = demo_mode()
    if not demo or not has_request_context() or request.is_secure:
        return False
    if os.environ.get("ODR_COOKIE_SECURE", "").strip().lower() in ("1", "true", "yes"):
        return False
    host = urlsplit("//" + request.host).hostname or ""
    return host in LOOPBACK and (request.remote_addr or "") in LOOPBACK


class DemoSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session with the Secure flag decided per request: always set, except
    for the local demo served on http://127.0.0.1 (browsers would not send it back there)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return not local_plain_http_demo(app)


CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def _security_headers(resp):
    """No framing (the desk's buttons cannot be clickjacked), no sniffing, no inline scripts; HSTS
    when served over https."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:  # served over https (directly, or behind ODR_TRUSTED_PROXIES): stay there
        resp.headers.setdefault("Strict-Transport-Security", HSTS)
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
    return resp


# ---------------------------------------------------------------- forms

_REQUIRED = "请填写此项。"


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(_REQUIRED), Length(max=64, message="用户名太长。")])
    password = PasswordField("密码", validators=[DataRequired(_REQUIRED), Length(max=256, message="密码太长。")])


class OfferResponseForm(FlaskForm):
    offer_id = HiddenField(validators=[DataRequired("缺少方案编号。"), Regexp(r"^\d{1,12}$", message="方案编号无效。")])
    decision = SelectField(choices=[("accept", "接受"), ("reject", "拒绝")],
                           validators=[DataRequired("请选择接受或拒绝。")], invalid_choice_message="请选择接受或拒绝。")


class DeleteCaseForm(FlaskForm):
    confirm = BooleanField("我已了解：案件将被撤回，我的个人信息和对话记录将被删除，且无法恢复。",
                           validators=[DataRequired("请先勾选确认，再撤回并删除。")])


class ContactForm(FlaskForm):
    name = StringField("姓名", validators=[Optional(), Length(max=64, message="姓名最多64个字。")])
    phone = StringField("电话号码", validators=[Optional(), Length(max=32, message="电话号码太长。"),
                                             Regexp(r"^[\d+\-\s()]{5,32}$", message="电话号码格式不正确。")])
    address = StringField("通讯地址", validators=[Optional(), Length(max=255, message="地址最多255个字。")])
    shop_address = StringField("商家地址", validators=[Optional(), Length(max=255, message="地址最多255个字。")])


ANSWER_ACTIONS = [("accept", "同意消费者诉求"), ("counter_offer", "提出和解方案（还价）"), ("reject", "拒绝"),
                  ("request_info", "请消费者补充材料")]


class AnswerForm(FlaskForm):
    action = SelectField("答复", choices=ANSWER_ACTIONS, validators=[DataRequired("请选择答复方式。")],
                         invalid_choice_message="请选择有效的答复方式。")
    amount = DecimalField("金额（元）", places=2, invalid_value_message="金额必须是数字（单位：元）。", validators=[
        Optional(), NumberRange(min=0, max=10_000_000, message="金额应在0到1000万元之间。")],
        render_kw={"inputmode": "decimal"})
    remedy = SelectField("方案", choices=[("", "—")] + [(r, r) for r in REMEDIES], validate_choice=False)
    message = TextAreaField("说明（消费者可见）", validators=[Optional(), Length(max=1000, message="说明最多1000字。")])

    def validate_remedy(self, field) -> None:
        if field.data and field.data not in REMEDIES:
            raise WTFValidationError("请选择有效的方案。")
        if self.action.data == "counter_offer" and not field.data:
            raise WTFValidationError("还价时请选择方案。")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.action.data == "counter_offer" and self.amount.data is None \
                and self.remedy.data in ("退货退款", "补偿", "赔偿"):
            self.amount.errors = ["还价时请填写金额（元）。"]
            return False
        return ok

    def answer(self) -> dict[str, Any]:
        """The answer in the platform API's shape (the case service validates it again)."""
        out: dict[str, Any] = {"action": self.action.data}
        if self.amount.data is not None:
            out["amount"] = str(self.amount.data)
        if self.remedy.data:
            out["remedy"] = self.remedy.data
        if self.message.data and self.message.data.strip():
            out["message"] = self.message.data.strip()
        return out


class TakeoverForm(FlaskForm):
    message = TextAreaField("给消费者的话", validators=[Optional(), Length(max=500, message="最多500字。")])


class CloseForm(FlaskForm):
    reason = StringField("结案原因", validators=[DataRequired("请填写结案原因。"), Length(max=200, message="最多200字。")])


class EscalateForm(FlaskForm):
    pass
