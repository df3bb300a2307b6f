"""SQLAlchemy models of the case store.

Personal information is kept to the minimum the 12315 route needs (第十条: name, phone, address)
and lives only on `Consumer`; case facts never carry the phone number. Every `repr` masks it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

REMEDIES = ("退货退款", "换货", "维修", "补偿", "赔偿")
CHANNELS = ("web", "wechat")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case store; use clock.now()")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough for the consumer to recognise the number, useless to anyone else."""
    if not phone:
        return phone
    digits = str(phone)
    n = len(digits)
    if n <= 4:
        return "*" * n
    if n < 8:
        return digits[:1] + "*" * (n - 3) + digits[-2:]
    if n < 11:
        return digits[:2] + "*" * (n - 4) + digits[-2:]
    return digits[:3] + "*" * (n - 7) + digits[-4:]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Consumer(Base):
    """One chat identity (channel + sender id) and the contact data the consumer agreed to give."""

    __tablename__ = "consumers"
    __table_args__ = (UniqueConstraint("channel", "sender_id", name="uq_consumers_channel_sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(255))
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def masked_phone(self) -> str | None:
        return mask_phone(self.phone)

    def __repr__(self) -> str:
        return f"<Consumer {self.id} {self.channel}:{self.sender_id} phone={self.masked_phone}>"


class Platform(Base):
    """A trading platform; its connector settings live in platforms.yaml, keyed by `key`."""

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    connector: Mapped[str] = mapped_column(String(16), default="desk")
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<Platform {self.key} {self.name} via {self.connector}>"


class Merchant(Base):
    """A shop on a platform (the respondent of the complaint)."""

    __tablename__ = "merchants"
    __table_args__ = (UniqueConstraint("platform_id", "name", name="uq_merchants_platform_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]

    platform: Mapped[Platform | None] = relationship()

    def __repr__(self) -> str:
        return f"<Merchant {self.id} {self.name}>"


class Case(Base):
    """A consumer dispute. `state` is changed only through `disputes.states.transition`."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_sender", "sender_id", "created_at"),
        Index("ix_cases_state_deadline", "state", "next_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(20), unique=True)
    state: Mapped[str] = mapped_column(String(24), default="draft")
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    platform_name: Mapped[str | None] = mapped_column(String(128))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[dict[str, Any] | None]
    demanded_remedy: Mapped[str | None] = mapped_column(String(16))
    demanded_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    round: Mapped[int] = mapped_column(Integer, default=0)
    next_deadline: Mapped[datetime | None]
    deadline_kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]  # kept only as an anonymised record (disputes/erasure.py)
    version: Mapped[int] = mapped_column(Integer, default=1)

    consumer: Mapped[Consumer] = relationship()
    platform: Mapped[Platform | None] = relationship()
    merchant: Mapped[Merchant | None] = relationship()
    offers: Mapped[list[Offer]] = relationship(back_populates="case", order_by="Offer.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", viewonly=True
    )
    evidence: Mapped[list[EvidenceFile]] = relationship(
        back_populates="case", order_by="EvidenceFile.id"
    )
    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="case", order_by="Escalation.id"
    )

    # Optimistic locking: a worker and the platform API updating the same case cannot both win.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Case {self.case_no} {self.state} round={self.round}>"


class EvidenceFile(Base):
    """Metadata of an uploaded evidence file (the bytes live in storage, addressed by sha256)."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_path: Mapped[str | None] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(String(255))
    uploaded_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="evidence")

    def __repr__(self) -> str:
        return f"<EvidenceFile {self.id} {self.filename}>"


class Offer(Base):
    """A settlement proposal put to the consumer (or the platform's acceptance of the demand)."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(
            "remedy IN ('退货退款', '换货', '维修', '补偿', '赔偿')", name="remedy_allowed"
        ),
        CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'expired', 'withdrawn')",
            name="status_allowed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # platform | desk
    kind: Mapped[str] = mapped_column(String(16))  # accept | counter_offer
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    remedy: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime | None]
    law: Mapped[str | None] = mapped_column(String(128))
    article: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="offers")

    def __repr__(self) -> str:
        return f"<Offer {self.id} {self.remedy} {self.amount} {self.status}>"


class Escalation(Base):
    """Tier 1 (`desk`: the platform's human service desk, SLA clock) or tier 2 (`regulator`:
    the 12315 package). A handoff request without a case has `case_id` NULL."""

    __tablename__ = "escalations"
    __table_args__ = (CheckConstraint("tier IN ('desk', 'regulator')", name="tier_allowed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    sender_id: Mapped[str | None] = mapped_column(String(128))
    tier: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sla_deadline: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("desk_users.id"))
    package: Mapped[dict[str, Any] | None]

    case: Mapped[Case | None] = relationship(back_populates="escalations")

    def __repr__(self) -> str:
        return f"<Escalation {self.id} {self.tier} case={self.case_id}>"


class DeskUser(Base):
    """A service-desk agent (ours or a platform's). Only a password hash is stored."""

    __tablename__ = "desk_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | admin
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    def set_password(self, password: str) -> None:
        from werkzeug.security import generate_password_hash

        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        from werkzeug.security import check_password_hash

        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<DeskUser {self.username} {self.role}>"


class Notification(Base):
    """Outbox of messages to the consumer; the chat side polls and marks them delivered."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "channel", "recipient", "delivered_at"),
        CheckConstraint("channel IN ('web', 'wechat')", name="channel_allowed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default="info")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.channel} case={self.case_id} {self.kind}>"


class CaseEvent(Base):
    """Append-only audit log: who did what, when, and on which legal basis (triggers in the
    migrations refuse UPDATE and DELETE; the ORM guard below refuses them earlier). The one
    exception is the redaction of `disputes.erasure`: payload and time only, marked erased."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    legal_basis: Mapped[list[Any]] = mapped_column(default=list)

    case: Mapped[Case | None] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<CaseEvent {self.id} case={self.case_id} {self.type} by {self.actor}>"


class CaseCounter(Base):
    """Per-day sequence behind ODR-YYYYMMDD-NNNN, incremented atomically by an upsert."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class WebhookDelivery(Base):
    """Transactional outbox of signed messages to platforms. Written in the same transaction as
    the case change, delivered by the worker; the idempotency key never changes across retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    platform_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(512))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.kind} {self.status} x{self.attempts}>"


class PlatformRequest(Base):
    """Requests received on the platform API, for idempotency (same key → same answer, applied
    once) and replay detection (same signature twice → refused)."""

    __tablename__ = "platform_requests"
    __table_args__ = (
        UniqueConstraint("platform_key", "idempotency_key", name="uq_platform_requests_idem"),
        UniqueConstraint("platform_key", "signature", name="uq_platform_requests_sig"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_key: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    signature: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


@event.listens_for(CaseEvent, "before_update")
def _no_event_update(_mapper, _conn, target: CaseEvent) -> None:
    raise RuntimeError(f"case_events is append-only (tried to update event {target.id})")


@event.listens_for(CaseEvent, "before_delete")
def _no_event_delete(_mapper, _conn, target: CaseEvent) -> None:
    raise RuntimeError(f"case_events is append-only (tried to delete event {target.id})")
