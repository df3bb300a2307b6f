"""Errors of the case service. Each carries a Chinese `message_zh` the bot or API can show as is,
and an HTTP-ish `status` the platform API maps to its response code."""

from __future__ import annotations


class CaseError(Exception):
    status = 400
    code = "case_error"
    default_zh = "请求无法处理"

    def __init__(self, detail: str | None = None, *, message_zh: str | None = None) -> None:
        self.message_zh = message_zh or self.default_zh
        self.detail = detail or self.message_zh
        super().__init__(self.message_zh)

    def __str__(self) -> str:
        """The Chinese message, so callers can show `str(exc)` to the consumer as is."""
        return self.message_zh


class ValidationError(CaseError):
    status = 422
    code = "invalid_input"
    default_zh = "提交的信息不完整或格式不正确"


class ConsentRequired(ValidationError):
    code = "consent_required"
    default_zh = "需要您同意我们为处理投诉而保存您的联系方式，才能提交投诉"


class CaseNotFound(CaseError):
    status = 404
    code = "case_not_found"
    default_zh = "没有找到该案件编号，请核对后再试"


class AccessDenied(CaseNotFound):
    """Same message as not-found, so case numbers of other people cannot be probed."""

    status = 403
    code = "forbidden"


class ConflictError(CaseError):
    status = 409
    code = "conflict"
    default_zh = "案件当前状态不允许此操作"


class OfferError(ConflictError):
    """The consumer's answer to an offer cannot be applied."""

    code = "offer_error"
    default_zh = "该和解方案目前无法答复"


class NoPendingOffer(OfferError):
    code = "no_pending_offer"
    default_zh = "该案件目前没有等待您答复的和解方案"


class OfferExpired(OfferError):
    code = "offer_expired"
    default_zh = "该和解方案已过答复期限"


# Names the chat actions use: "not found or not yours" and "cannot answer this offer".
CaseAccessError = CaseNotFound
