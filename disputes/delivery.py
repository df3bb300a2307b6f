"""Webhook connector: a transactional outbox of signed messages to platforms and the delivery
attempt that the worker runs (claim with a lease → POST → record), with exponential backoff.

Exactly-once *effect*: the idempotency key is fixed when the message is written and reused by
every retry, and receivers de-duplicate on it; a worker that dies mid-request leaves a lease that
expires, after which another attempt re-sends the same key.

Deliveries never follow redirects (a 3xx is a permanent failure: the signed request is for one
URL only) and, outside demo mode (ODR_DEMO=1), go only to https URLs; plain http is allowed to
loopback addresses, whose traffic never leaves the machine (the sandbox platform of the scaled
profile).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from disputes import dispatch
from disputes.clock import Clock
from disputes.config import PlatformConfig, load_platforms
from disputes.demo import demo_mode
from disputes.models import Case, WebhookDelivery
from disputes.signing import signed_headers
from disputes.states import record_event
from disputes.txn import run_in_transaction

log = logging.getLogger(__name__)


def lease_seconds() -> float:
    """How long a claimed delivery is reserved for the worker holding it (> HTTP timeout)."""
    return float(os.environ.get("ODR_DELIVERY_LEASE_SECONDS", "60"))


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def enqueue(
    session: Session, case: Case | None, cfg: PlatformConfig, kind: str, payload: dict[str, Any], clock: Clock
) -> WebhookDelivery:
    """Write a message to the outbox (same transaction as the case change that caused it)."""
    now = clock.now()
    key = uuid.uuid4().hex
    payload = {**payload, "type": kind, "message_id": key}
    d = WebhookDelivery(
        case_id=case.id if case is not None else None,
        platform_key=cfg.key,
        kind=kind,
        url=str(cfg.url),
        idempotency_key=key,
        body=encode(payload),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(d)
    session.flush()
    dispatch.later(session, "deliver", delivery_id=d.id)
    return d


@dataclass
class AttemptResult:
    delivery_id: int
    status: str  # delivered | retry | dead | skipped
    retry_in: float | None = None
    http_status: int | None = None
    error: str | None = None


def attempt(
    factory: sessionmaker[Session], delivery_id: int, clock: Clock, *, http: Any = None
) -> AttemptResult:
    """One delivery attempt. Safe to run concurrently and repeatedly: the claim is atomic."""
    now = clock.now()
    lease = timedelta(seconds=lease_seconds())
    with factory() as session:

        def claim() -> int:
            res = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    or_(
                        (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now),
                        (WebhookDelivery.status == "sending") & (WebhookDelivery.lease_until < now),
                    ),
                )
                .values(status="sending", lease_until=now + lease, attempts=WebhookDelivery.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return res.rowcount

        if not run_in_transaction(session, claim):
            return AttemptResult(delivery_id, "skipped")
        d = session.get(WebhookDelivery, delivery_id)
        cfg = _platform(d.platform_key)
        url, body, key, attempts = d.url, d.body.encode("utf-8"), d.idempotency_key, d.attempts

    status_code: int | None = None
    error: str | None = None
    refused = False  # never worth another attempt: a redirect, or a URL we may not send to
    try:
        if cfg is None or not cfg.secret:
            raise RuntimeError(f"platform {d.platform_key} has no webhook secret configured")
        problem = url_problem(url)
        if problem:
            refused = True
            raise RuntimeError(problem)
        headers = signed_headers(cfg.secret, body, method="POST", url=url, idempotency_key=key, platform=cfg.key)
        headers["X-ODR-Attempt"] = str(attempts)
        resp = (http or requests).post(url, data=body, headers=headers, timeout=cfg.webhook.timeout_seconds,
                                       allow_redirects=False)
        status_code = resp.status_code
        if 300 <= status_code < 400:
            refused = True
            error = f"HTTP {status_code}: redirect to {resp.headers.get('Location', '?')!r} not followed"
        elif not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {resp.text[:200]}"
    except Exception as exc:  # network errors, timeouts, misconfiguration
        error = f"{exc.__class__.__name__}: {exc}"[:500]

    policy = cfg.webhook if cfg is not None else load_platforms().unlisted.webhook
    permanent = refused or (status_code is not None and 400 <= status_code < 500
                            and status_code not in (408, 409, 425, 429))
    done_at = clock.now()
    with factory() as session:

        def record() -> AttemptResult:
            d = session.get(WebhookDelivery, delivery_id)
            case = session.get(Case, d.case_id) if d.case_id else None
            if error is None:
                d.status, d.delivered_at, d.lease_until = "delivered", done_at, None
                d.response_status, d.last_error = status_code, None
                record_event(
                    session, case, "webhook_delivered", actor="system", at=done_at,
                    payload={"delivery_id": d.id, "kind": d.kind, "idempotency_key": d.idempotency_key,
                             "attempts": d.attempts, "http_status": status_code},
                )
                return AttemptResult(delivery_id, "delivered", http_status=status_code)
            d.response_status, d.last_error, d.lease_until = status_code, error, None
            if permanent or d.attempts >= policy.max_attempts:
                d.status = "dead"
                record_event(
                    session, case, "webhook_failed", actor="system", at=done_at,
                    payload={"delivery_id": d.id, "kind": d.kind, "attempts": d.attempts, "error": error},
                )
                if case is not None and d.kind == "settlement_request":
                    from disputes.negotiation import escalate_after_failed_delivery

                    escalate_after_failed_delivery(session, case, clock)
                return AttemptResult(delivery_id, "dead", http_status=status_code, error=error)
            delay = policy.backoff(d.attempts)
            d.status, d.next_attempt_at = "pending", done_at + timedelta(seconds=delay)
            record_event(
                session, case, "webhook_retry", actor="system", at=done_at,
                payload={"delivery_id": d.id, "kind": d.kind, "attempts": d.attempts, "error": error,
                         "retry_in_seconds": delay},
            )
            return AttemptResult(delivery_id, "retry", retry_in=delay, http_status=status_code, error=error)

        result = run_in_transaction(session, record)
    if result.status != "delivered":
        log.warning("webhook %s to %s: %s (%s)", delivery_id, url, result.status, error)
    return result


def url_problem(url: str) -> str | None:
    """Why a webhook may not be sent to `url`, or None: https only outside demo mode, except to a
    loopback address."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return None
    if parts.scheme != "http" or not parts.hostname:
        return f"webhook URL {url!r} is not an http(s) URL"
    if demo_mode() or _loopback(parts.hostname):
        return None
    return f"webhook URL {url!r} must use https outside demo mode (ODR_DEMO=1)"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def due(session: Session, clock: Clock, limit: int = 100) -> list[int]:
    """Deliveries ready for an attempt: pending and due, or claimed by a worker whose lease ran out."""
    now = clock.now()
    rows = session.scalars(
        select(WebhookDelivery.id)
        .where(
            or_(
                (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now),
                (WebhookDelivery.status == "sending") & (WebhookDelivery.lease_until < now),
            )
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(rows)


def _platform(key: str) -> PlatformConfig | None:
    try:
        return load_platforms().get(key)
    except KeyError:
        return None
