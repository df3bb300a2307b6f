"""Authorisation matrix: every actor × every route of the web app × every method on it.

Actors: consumer A (owns case 1, on platform X = 沙盒商城, the platform with a signed API), consumer B
(owns case 2, on platform Y = 京东), a desk agent of X, a desk agent of Y, a desk admin, the platform
API caller of X (signed requests, no cookies) and an anonymous browser.

`MATRIX` names, for every (endpoint, method) of `app.url_map` (HEAD and OPTIONS, which Flask adds
to every rule, left out) plus one method the rule does not take (PUT, where it does not), what
each actor gets when the request names case 1:

- OK: the request is served (2xx, or a redirect that is not to the desk login);
- LOGIN: redirect to the desk login page;
- a status code: 401, 404 (the same answer as for a case that does not exist), 405, …

Routes that name a case (in the path or in the body) are probed on case 2 as well, with the
expectations mirrored (A ↔ B, desk X ↔ desk Y; case 2 is not X's, so the API caller gets 404
where it was served on case 1). Every probe runs on a fresh copy of one prepared database and
upload folder, and checks beyond the status:

- no 500 (the test app propagates exceptions: a crash fails the probe with its traceback);
- a refused request changes nothing (every table row but the replay marks of the caller's own
  signature, and the upload folder), an allowed action does change something;
- nobody sees a case that is not theirs: a body sent to an actor who may not see a case contains
  none of its personal data (description, product, order number, phone, name, address, evidence
  file name) nor, unless the request itself named it, its case number; the platform API never
  returns the consumer's name, phone or address;
- pages that show a case or the actor's cases do show them (so a 404 elsewhere is the check's
  answer, not a broken request).

POSTs carry a valid CSRF token from the actor's own session (the test config keeps CSRF on):
`test_csrf_is_enforced_where_the_table_says` checks that each protected form POST is refused
without it. A new route, or a new method on one, fails `test_matrix_covers_every_route` until it
has a row here; a row whose route is gone fails `test_matrix_names_no_missing_route`.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PNG, Cases, FakeRasa, csrf_from

A, B, DX, DY, ADMIN, API, ANON = "consumer_a", "consumer_b", "desk_x", "desk_y", "desk_admin", "api_x", "anonymous"
ACTORS = (A, B, DX, DY, ADMIN, API, ANON)
OK, LOGIN = "ok", "login"
AUTO_METHODS = {"HEAD", "OPTIONS"}  # added by Flask to every rule
PROBE_METHOD = "PUT"  # a method no page or form uses: each rule without it must refuse it
PASSWORD = "correct horse battery"
SENDERS = {A: "web-matrix-alice-0001", B: "web-matrix-bob-0002"}
DESK_USERS = {DX: "xagent", DY: "yagent", ADMIN: "root"}
HANDOFF_SENDER = "web-matrix-handoff-0003"

# Per case: what only its owner, its platform's desk (and an admin) and, without the personal
# fields, its platform's API may see.
CASE_DATA = {
    1: {"platform": "沙盒商城", "product": "甲案降噪耳机", "description": "甲案左耳完全没有声音", "order_id": "7100000000000001",
        "phone": "13911110001", "name": "张甲甲", "address": "上海市甲甲路1号", "evidence": "甲案购物凭证.png"},
    2: {"platform": "京东", "product": "乙案机械键盘", "description": "乙案键帽全部脱落", "order_id": "7200000000000002",
        "phone": "13922220002", "name": "李乙乙", "address": "北京市乙乙路2号", "evidence": "乙案购物凭证.png"},
}
PERSONAL_FIELDS = ("phone", "name", "address")
OWNER = {1: A, 2: B}
# Who may see case N: its owner, its platform's desk agent, the admin, and (without the personal
# fields) its platform's API caller.
ENTITLED = {1: {A, DX, ADMIN, API}, 2: {B, DY, ADMIN}}
MIRROR = {A: B, B: A, DX: DY, DY: DX}

Outcome = str | int


def expect(default: Outcome, **actors: Outcome) -> dict[str, Outcome]:
    unknown = set(actors) - set(ACTORS)
    assert not unknown, unknown
    return {actor: actors.get(actor, default) for actor in ACTORS}


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    return expect(outcome)


# ---------------------------------------------------------------- request bodies and preparations


def _png(name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(PNG), name


def offer_form(world: World, case: int, actor: str) -> dict[str, Any]:
    return {"offer_id": str(world.pending_offer(case)), "decision": "accept"}


def escalated_desk(world: World, case: int) -> None:
    world.cases().answer(world.case_no[case], action="reject", message="不同意")


def escalated_regulator(world: World, case: int) -> None:
    from disputes.core import get_case
    from disputes.negotiation import escalate_to_regulator
    from disputes.txn import run_in_transaction

    escalated_desk(world, case)
    with world.factory() as db:
        run_in_transaction(db, lambda: escalate_to_regulator(db, get_case(db, world.case_no[case]), world.clock,
                                                             reason="test"))


def login_form(world: World, case: int, actor: str) -> dict[str, Any]:
    """A desk actor logs in as itself; everyone else tries agent X's name with a guessed password."""
    if actor in DESK_USERS:
        return {"username": DESK_USERS[actor], "password": PASSWORD}
    return {"username": DESK_USERS[DX], "password": "guess-" + PASSWORD}


WECHAT_XML = ("<xml><ToUserName>gh_odr</ToUserName><FromUserName>oMatrix0001</FromUserName><CreateTime>1</CreateTime>"
              "<MsgType>text</MsgType><Content>你好</Content><MsgId>1</MsgId></xml>")


@dataclass(frozen=True)
class Entry:
    """One row of the matrix: what each actor gets on one (endpoint, method)."""

    expect: dict[str, Outcome]
    target: bool = False  # the request names a case: probed on case 1 and (mirrored) case 2
    form: Callable[[World, int, str], dict[str, Any]] | None = None  # (world, case, actor) → fields, files
    json: Callable[[World, int, str], Any] | None = None
    xml: str | None = None
    prepare: Callable[[World, int], None] | None = None  # moves the case into the state the action needs
    changes: bool = False  # an allowed request of this row changes the case store or the uploads
    # What an allowed page must show: "target" the case it names; "mine" the consumer's own cases;
    # "platform" every case of the desk agent's platform (all cases for the admin).
    shows: str | None = None
    csrf: bool | None = None  # POST rows: whether the route is CSRF-protected
    queries: tuple[str, ...] = ("",)


CONSUMER_PAGE = expect(404, consumer_a=OK)  # a case page or file of consumer A's case 1
CONSUMER_ACTION = expect(404, consumer_a=OK)
DESK_PAGE = expect(LOGIN, desk_x=OK, desk_admin=OK, desk_y=404)
DESK_QUEUE = expect(LOGIN, desk_x=OK, desk_y=OK, desk_admin=OK)
DESK_ACTION = expect(401, desk_x=OK, desk_admin=OK, desk_y=404)
PLATFORM_API = expect(401, api_x=OK)
PUBLIC = everyone(OK)
NOT_ALLOWED = everyone(405)
API_NOT_FOUND = everyone(404)  # under /api/platform/v1 an unknown path or method answers a JSON 404

MATRIX: dict[tuple[str, str], Entry] = {
    # chat page and its JSON API
    ("chat.index", "GET"): Entry(PUBLIC),
    ("chat.index", "PUT"): Entry(NOT_ALLOWED),
    ("chat.healthz", "GET"): Entry(PUBLIC),
    ("chat.healthz", "PUT"): Entry(NOT_ALLOWED),
    ("chat.send_message", "POST"): Entry(PUBLIC, json=lambda w, c, a: {"text": "七天无理由退货怎么算"}, csrf=False),
    ("chat.send_message", "PUT"): Entry(NOT_ALLOWED),
    ("chat.notifications", "GET"): Entry(PUBLIC, shows="mine"),
    ("chat.notifications", "PUT"): Entry(NOT_ALLOWED),
    ("cases.api_my_cases", "GET"): Entry(PUBLIC, shows="mine"),
    ("cases.api_my_cases", "PUT"): Entry(NOT_ALLOWED),
    ("cases.api_upload_evidence", "POST"): Entry(
        CONSUMER_ACTION, target=True, changes=True, csrf=True,
        form=lambda w, c, a: {"case_no": w.case_no[c], "file": _png("新证据.png"), "description": "补充"}),
    ("cases.api_upload_evidence", "PUT"): Entry(NOT_ALLOWED),
    # consumer case pages
    ("cases.my_cases", "GET"): Entry(PUBLIC, shows="mine"),
    ("cases.my_cases", "PUT"): Entry(NOT_ALLOWED),
    ("cases.case_page", "GET"): Entry(CONSUMER_PAGE, target=True, shows="target"),
    ("cases.case_page", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.respond_offer", "POST"): Entry(CONSUMER_ACTION, target=True, form=offer_form, changes=True, csrf=True),
    ("cases.respond_offer", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.update_contact", "POST"): Entry(CONSUMER_ACTION, target=True, changes=True, csrf=True,
                                            form=lambda w, c, a: {"name": "改过的名字", "address": "改过的地址"}),
    ("cases.update_contact", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.delete_case", "POST"): Entry(CONSUMER_ACTION, target=True, changes=True, csrf=True,
                                         form=lambda w, c, a: {"confirm": "y"}),
    ("cases.delete_case", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.upload_evidence", "POST"): Entry(CONSUMER_ACTION, target=True, changes=True, csrf=True,
                                             form=lambda w, c, a: {"file": _png("新证据.png")}),
    ("cases.upload_evidence", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.evidence_file", "GET"): Entry(CONSUMER_PAGE, target=True, shows="target"),
    ("cases.evidence_file", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("cases.package", "GET"): Entry(CONSUMER_PAGE, target=True, prepare=escalated_regulator, shows="target"),
    ("cases.package", "PUT"): Entry(NOT_ALLOWED, target=True),
    # service desk
    ("desk.login", "GET"): Entry(PUBLIC),
    ("desk.login", "POST"): Entry(expect(401, desk_x=OK, desk_y=OK, desk_admin=OK), form=login_form, csrf=True),
    ("desk.login", "PUT"): Entry(NOT_ALLOWED),
    ("desk.logout", "POST"): Entry(everyone(LOGIN), csrf=True),
    ("desk.logout", "PUT"): Entry(NOT_ALLOWED),
    ("desk.queue", "GET"): Entry(DESK_QUEUE, shows="platform", queries=("?state=all", "?state=negotiating&issue=质量问题")),
    ("desk.queue", "PUT"): Entry(NOT_ALLOWED),
    ("desk.case_page", "GET"): Entry(DESK_PAGE, target=True, shows="target"),
    ("desk.case_page", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.answer", "POST"): Entry(DESK_ACTION, target=True, changes=True, csrf=True,
                                   form=lambda w, c, a: {"action": "accept", "message": "同意退货退款"}),
    ("desk.answer", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.takeover", "POST"): Entry(DESK_ACTION, target=True, changes=True, csrf=True,
                                     form=lambda w, c, a: {"message": "由我来处理"}),
    ("desk.takeover", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.message", "POST"): Entry(DESK_ACTION, target=True, changes=True, csrf=True,
                                    form=lambda w, c, a: {"message": "请补充照片"}),
    ("desk.message", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.close", "POST"): Entry(DESK_ACTION, target=True, changes=True, csrf=True,
                                  form=lambda w, c, a: {"reason": "消费者已撤回"}),
    ("desk.close", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.escalate", "POST"): Entry(DESK_ACTION, target=True, changes=True, csrf=True, prepare=escalated_desk),
    ("desk.escalate", "PUT"): Entry(NOT_ALLOWED, target=True),
    ("desk.evidence_file", "GET"): Entry(DESK_PAGE, target=True, shows="target"),
    ("desk.evidence_file", "PUT"): Entry(NOT_ALLOWED, target=True),
    # hand-off requests without a case: admins only
    ("desk.resolve_handoff", "POST"): Entry(expect(401, desk_x=404, desk_y=404, desk_admin=OK), changes=True,
                                            csrf=True, form=lambda w, c, a: {"note": "已电话联系"}),
    ("desk.resolve_handoff", "PUT"): Entry(NOT_ALLOWED),
    # statistics, static files
    ("stats.index", "GET"): Entry(PUBLIC),
    ("stats.index", "PUT"): Entry(NOT_ALLOWED),
    ("stats.csv_export", "GET"): Entry(PUBLIC),
    ("stats.csv_export", "PUT"): Entry(NOT_ALLOWED),
    ("static", "GET"): Entry(PUBLIC),
    ("static", "PUT"): Entry(NOT_ALLOWED),
    # WeChat: nobody here has WeChat's signature
    ("wechat.endpoint", "GET"): Entry(everyone(400)),
    ("wechat.endpoint", "POST"): Entry(everyone(400), xml=WECHAT_XML, csrf=False),
    ("wechat.endpoint", "PUT"): Entry(NOT_ALLOWED),
    ("wechat.endpoint", "PATCH"): Entry(NOT_ALLOWED),
    ("wechat.endpoint", "DELETE"): Entry(NOT_ALLOWED),
    # platform API: signed calls of the case's own platform only
    ("platform_api.openapi", "GET"): Entry(PUBLIC),
    ("platform_api.openapi", "PUT"): Entry(API_NOT_FOUND),
    ("platform_api.get_case_view", "GET"): Entry(PLATFORM_API, target=True, shows="target"),
    ("platform_api.get_case_view", "PUT"): Entry(API_NOT_FOUND, target=True),
    ("platform_api.post_response", "POST"): Entry(PLATFORM_API, target=True, changes=True, csrf=False,
                                                  json=lambda w, c, a: {"case_no": w.case_no[c], "action": "accept"}),
    ("platform_api.post_response", "PUT"): Entry(API_NOT_FOUND, target=True),
    ("platform_api._unknown_path", "GET"): Entry(API_NOT_FOUND),
    ("platform_api._unknown_path", "POST"): Entry(API_NOT_FOUND, csrf=False),
    ("platform_api._unknown_path", "PUT"): Entry(API_NOT_FOUND),
    ("platform_api._unknown_path", "PATCH"): Entry(API_NOT_FOUND),
    ("platform_api._unknown_path", "DELETE"): Entry(API_NOT_FOUND),
}

# Concrete values of the path parameters, per case the probe names.
PARAMS: dict[str, Callable[[World, int], Any]] = {
    "case_no": lambda w, c: w.case_no[c],
    "evidence_id": lambda w, c: w.evidence_id[c],
    "fmt": lambda w, c: "json",
    "handoff_id": lambda w, c: w.handoff_id,
    "filename": lambda w, c: "chat.js",
    "_unknown": lambda w, c: "cases/no/such/thing",
}


def mirrored(expectation: dict[str, Outcome], route_is_platform_api: bool) -> dict[str, Outcome]:
    """The expectation on case 2 from the one on case 1: A ↔ B, desk X ↔ desk Y; case 2 is not
    platform X's, so where X's API caller was served it now gets the API's 404."""
    out = {MIRROR.get(actor, actor): outcome for actor, outcome in expectation.items()}
    if route_is_platform_api and out[API] == OK:
        out[API] = 404
    return out


def probe_methods(rule) -> list[str]:
    methods = sorted(set(rule.methods) - AUTO_METHODS)
    return methods if PROBE_METHOD in methods else [*methods, PROBE_METHOD]


# ---------------------------------------------------------------- the prepared world


@dataclass
class World:
    """One app; each probe gets a fresh copy of the prepared database and upload folder."""

    app: Any
    root: Path
    clock: Any
    template_db: Path
    template_uploads: Path
    case_no: dict[int, str] = field(default_factory=dict)
    evidence_id: dict[int, int] = field(default_factory=dict)
    handoff_id: int = 0
    desk_ids: dict[str, int] = field(default_factory=dict)
    desk_pw: dict[str, str] = field(default_factory=dict)
    db_path: Path | None = None
    dirty: bool = True
    serial: int = 0

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def factory(self):
        from disputes.db import session_factory

        return session_factory(self.url)

    def cases(self) -> Cases:
        return Cases(self.factory, self.clock)

    def upload_dir(self) -> Path:
        return Path(self.app.config["UPLOAD_DIR"])

    def fresh(self) -> None:
        """A copy of the prepared state, unless the last probe left it untouched."""
        from disputes.db import dispose

        if not self.dirty:
            return
        if self.db_path is not None:
            dispose(self.url)
            old_uploads = self.upload_dir()
            self.db_path.unlink(missing_ok=True)
            shutil.rmtree(old_uploads, ignore_errors=True)
        self.serial += 1
        self.db_path = self.root / f"probe-{self.serial}.sqlite3"
        with sqlite3.connect(self.template_db) as src, sqlite3.connect(self.db_path) as dst:
            src.backup(dst)
        uploads = self.root / f"uploads-{self.serial}"
        shutil.copytree(self.template_uploads, uploads)
        self.app.config.update(DATABASE_URL=self.url, UPLOAD_DIR=str(uploads))
        self.dirty = False

    def pending_offer(self, case: int) -> int:
        from sqlalchemy import select

        from disputes.models import Case, Offer

        with self.factory() as db:
            return db.scalars(select(Offer.id).join(Case).where(Case.case_no == self.case_no[case],
                                                                 Offer.status == "pending")).one()

    def client(self, actor: str):
        client = self.app.test_client()
        if actor in SENDERS:
            with client.session_transaction() as s:
                s["sender_id"] = SENDERS[actor]
        elif actor in DESK_USERS:
            with client.session_transaction() as s:
                s["desk_user_id"] = self.desk_ids[actor]
                s["desk_login_at"] = int(time.time())
                s["desk_pw"] = self.desk_pw[actor]
        return client


def _table_rows(path: Path, skip: tuple[str, ...] = ("alembic_version",)) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables if t not in skip}


def store_state(world: World) -> tuple[dict[str, list], list[tuple[str, int]]]:
    """Everything a refused request must leave as it was: every row (the replay marks of signatures
    aside: a signed call uses its own signature up, refused or not) and the upload folder."""
    rows = _table_rows(world.db_path, skip=("alembic_version", "replay_marks"))
    files = sorted((str(p.relative_to(world.upload_dir())), p.stat().st_size)
                   for p in world.upload_dir().rglob("*") if p.is_file())
    return rows, files


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Case 1 (consumer A, 沙盒商城) and case 2 (consumer B, 京东), both negotiating with a pending
    counter-offer and one evidence file; desk agents of both platforms and an admin; a hand-off
    request without a case."""
    from disputes import dispatch
    from disputes.clock import FrozenClock
    from disputes.db import dispose, session_factory
    from disputes.desk import create_desk_user
    from disputes.models import DeskUser, Escalation, EvidenceFile
    from disputes.service import record_handoff
    from web import create_app
    from web.config import LIMIT_DEFAULTS
    from web.desk import _fingerprint

    root = tmp_path_factory.mktemp("authz")
    template_db, template_uploads = root / "template.sqlite3", root / "template-uploads"
    clock = FrozenClock("2026-05-04T10:00:00+08:00")
    many = "100000 per minute"
    limits = {k: many for k, v in LIMIT_DEFAULTS.items() if isinstance(v, str)}
    app = create_app({
        "TESTING": True, "SECRET_KEY": "matrix-secret", "DATABASE_URL": f"sqlite:///{template_db}",
        "RASA_URL": "http://127.0.0.1:9", "RASA_TIMEOUT": 2.0, "UPLOAD_DIR": str(template_uploads),
        "MAX_CONTENT_LENGTH": 1024 * 1024, "CLOCK": clock, "WECHAT_PUSH_DELAY": 0,
        "DESK_LOGIN_LIMIT": many, "DESK_LOGIN_USER_LIMIT": many, **limits,
    })
    app.extensions["rasa_client"] = FakeRasa()
    w = World(app=app, root=root, clock=clock, template_db=template_db, template_uploads=template_uploads)
    old = dispatch.set_dispatcher(lambda job, kwargs: None)  # background jobs are not this test's subject
    try:
        factory = session_factory(app.config["DATABASE_URL"])
        cases = Cases(factory, clock)
        for n, data in CASE_DATA.items():
            facts = {k: v for k, v in data.items() if k != "evidence"}
            w.case_no[n] = cases.with_offer(sender=SENDERS[OWNER[n]], **facts)
            client = app.test_client()
            with client.session_transaction() as s:
                s["sender_id"] = SENDERS[OWNER[n]]
            token = csrf_from(client, f"/cases/{w.case_no[n]}")
            resp = client.post(f"/cases/{w.case_no[n]}/evidence", content_type="multipart/form-data",
                               data={"csrf_token": token, "file": _png(data["evidence"])})
            assert resp.status_code == 302
        with factory() as db:
            for n in CASE_DATA:
                w.evidence_id[n] = next(e.id for e in db.query(EvidenceFile).all()
                                        if e.filename == CASE_DATA[n]["evidence"])
        with factory() as db:
            record_handoff(db, HANDOFF_SENDER, "想找人工客服", clock, channel="web", sender_id=HANDOFF_SENDER)
        with factory() as db:
            w.handoff_id = db.query(Escalation).filter(Escalation.case_id.is_(None)).one().id
        with factory() as db:
            create_desk_user(db, DESK_USERS[DX], PASSWORD, clock=clock, platform_key="sandbox", display_name="小沙")
            create_desk_user(db, DESK_USERS[DY], PASSWORD, clock=clock, platform_key="jd", display_name="小京")
            create_desk_user(db, DESK_USERS[ADMIN], PASSWORD, clock=clock, role="admin")
        with factory() as db:
            for actor, username in DESK_USERS.items():
                user = db.query(DeskUser).filter_by(username=username).one()
                w.desk_ids[actor], w.desk_pw[actor] = user.id, _fingerprint(user)
        dispose(app.config["DATABASE_URL"])
        yield w
    finally:
        dispatch.set_dispatcher(old)
        if w.db_path is not None:
            dispose(w.url)


@pytest.fixture(scope="module")
def sandbox_secret() -> str:
    from disputes.config import load_platforms

    return load_platforms().platforms["sandbox"].secret


# ---------------------------------------------------------------- one probe


def outcome_of(resp) -> Outcome:
    if resp.status_code in (301, 302, 303, 307, 308):
        return LOGIN if "/desk/login" in resp.headers.get("Location", "") else OK
    return OK if resp.status_code < 400 else resp.status_code


def _build_path(world: World, rule, case: int, query: str) -> str:
    values = {}
    for name in rule.arguments:
        assert name in PARAMS, f"no concrete value for the path parameter <{name}> of {rule.rule}: add it to PARAMS"
        values[name] = PARAMS[name](world, case)
    return world.app.url_map.bind("localhost").build(rule.endpoint, values, append_unknown=False) + query


def send(world: World, actor: str, rule, method: str, entry: Entry, case: int, query: str, secret: str,
         *, with_csrf: bool = True):
    """The request of `actor` for this cell; returns (response, request_path, request_text)."""
    import json

    from disputes.signing import signed_headers

    client = world.client(actor)
    path = _build_path(world, rule, case, query)
    kwargs: dict[str, Any] = {"headers": {}}
    form = dict(entry.form(world, case, actor)) if entry.form else {}
    body = b""
    if entry.json is not None:
        body = json.dumps(entry.json(world, case, actor), ensure_ascii=False).encode()
        kwargs.update(data=body, content_type="application/json")
    elif entry.xml is not None:
        body = entry.xml.encode()
        kwargs.update(data=body, content_type="text/xml")
    elif method not in ("GET", "DELETE") or form:
        if with_csrf and method == "POST" and entry.csrf:
            form["csrf_token"] = csrf_from(client, "/desk/login")
        kwargs["data"] = form
    if actor == API:
        signed = signed_headers(secret, body, method=method, url=path, platform="sandbox",
                                idempotency_key=f"matrix-{uuid.uuid4().hex}")
        if not body:  # a form or no body: its own content type
            signed.pop("Content-Type", None)
        kwargs["headers"].update(signed)
    elif entry.json is not None and "/api/platform/" in path:
        kwargs["headers"]["Idempotency-Key"] = f"matrix-{uuid.uuid4().hex}"
    resp = client.open(path, method=method, **kwargs)
    named = path + " " + " ".join(str(v) for v in form.values() if isinstance(v, str)) + body.decode()
    return resp, path, named


def leaks(world: World, actor: str, text: str, named: str) -> list[str]:
    """Data of a case this actor may not see (or personal data in a platform API answer)."""
    found = []
    for n, data in CASE_DATA.items():
        entitled = actor in ENTITLED[n]
        for key, value in data.items():
            if key == "platform":
                continue
            personal_to_api = actor == API and key in PERSONAL_FIELDS
            if (not entitled or personal_to_api) and value in text:
                found.append(f"case {n} {key} {value!r}")
        if not entitled and world.case_no[n] in text and world.case_no[n] not in named:
            found.append(f"case {n} number {world.case_no[n]}")
    return found


def check_cell(world: World, actor: str, rule, method: str, entry: Entry, case: int, query: str,
               expected: Outcome, secret: str) -> str | None:
    """Run one probe on a fresh world; returns what went wrong, or None."""
    world.fresh()
    if entry.prepare is not None:  # the same state for every actor: only the actor differs
        entry.prepare(world, case)
        world.dirty = True
    before = store_state(world)
    label = f"{actor:<11} {method:<6} {rule.endpoint} case {case}{query}"
    try:
        resp, _, named = send(world, actor, rule, method, entry, case, query, secret)
    except Exception:  # the test app propagates exceptions: in production this is a 500
        world.dirty = True
        return f"{label}: crashed (a 500 in production)\n{traceback.format_exc(limit=-3)}"
    after = store_state(world)
    changed = after != before
    world.dirty = world.dirty or changed
    got = outcome_of(resp)
    problems = []
    if got != expected:
        problems.append(f"expected {expected}, got {got} ({resp.status_code} {resp.headers.get('Location', '')})")
    text = resp.get_data(as_text=True) if resp.mimetype not in ("image/png", "application/pdf") else ""
    if (found := leaks(world, actor, text, named)):
        problems.append("shows " + ", ".join(found))
    if expected != OK and changed:
        problems.append("a refused request changed the case store or the uploads: " + _diff(before, after))
    if expected == OK and got == OK and entry.changes and not changed:
        problems.append("the allowed action changed nothing (is the request body still valid?)")
    if expected == OK and got == OK and entry.shows == "target":
        shown = (resp.mimetype == "image/png" and resp.data == PNG) or world.case_no[case] in text
        if not shown:
            problems.append(f"does not show case {case}")
    if expected == OK and got == OK and entry.shows in ("mine", "platform"):
        listed = [n for n in CASE_DATA if (OWNER[n] == actor if entry.shows == "mine"
                                           else actor in DESK_USERS and actor in ENTITLED[n])]
        missing = [world.case_no[n] for n in listed if world.case_no[n] not in text]
        if missing:
            problems.append(f"does not list {', '.join(missing)}")
    return f"{label}: {'; '.join(problems)}" if problems else None


def _diff(before, after) -> str:
    rows_b, files_b = before
    rows_a, files_a = after
    tables = [t for t in sorted(set(rows_a) | set(rows_b)) if rows_a.get(t) != rows_b.get(t)]
    return f"tables {tables}" + (f", files {files_b} → {files_a}" if files_a != files_b else "")


# ---------------------------------------------------------------- the tests


def rules_by_endpoint(app) -> dict[str, Any]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


def test_matrix_covers_every_route(world) -> None:
    missing = [f"{rule.endpoint} {method} {rule.rule}" for rule in world.app.url_map.iter_rules()
               for method in probe_methods(rule) if (rule.endpoint, method) not in MATRIX]
    assert not missing, "routes without a row in MATRIX (add what each actor gets):\n" + "\n".join(missing)
    posts = [key for key, entry in MATRIX.items() if key[1] == "POST" and entry.csrf is None]
    assert not posts, f"POST rows must say whether they are CSRF-protected: {posts}"


def test_matrix_names_no_missing_route(world) -> None:
    rules = rules_by_endpoint(world.app)
    stale = [f"{endpoint} {method}" for endpoint, method in MATRIX
             if endpoint not in rules or method not in probe_methods(rules[endpoint])]
    assert not stale, "MATRIX rows for routes or methods that no longer exist:\n" + "\n".join(stale)


MATRIX_RESULTS: dict[str, int] = {"probes": 0, "routes": 0}


@pytest.mark.parametrize(("endpoint", "method"), sorted(MATRIX), ids=[f"{e}-{m}" for e, m in sorted(MATRIX)])
def test_matrix(world, sandbox_secret, endpoint: str, method: str) -> None:
    rule = rules_by_endpoint(world.app).get(endpoint)
    if rule is None:
        pytest.fail(f"{endpoint} is not a route any more (see test_matrix_names_no_missing_route)")
    entry = MATRIX[(endpoint, method)]
    on_platform_api = rule.rule.startswith("/api/platform/")
    targets = [(1, entry.expect), (2, mirrored(entry.expect, on_platform_api))] if entry.target else [(1, entry.expect)]
    problems = []
    for case, expectation in targets:
        for query in entry.queries:
            for actor in ACTORS:
                problem = check_cell(world, actor, rule, method, entry, case, query, expectation[actor], sandbox_secret)
                MATRIX_RESULTS["probes"] += 1
                if problem:
                    problems.append(problem)
    MATRIX_RESULTS["routes"] += 1
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- CSRF and ids of another case


@pytest.mark.parametrize(("endpoint", "method"), sorted(k for k, e in MATRIX.items() if k[1] == "POST" and e.csrf))
def test_csrf_is_enforced_where_the_table_says(world, sandbox_secret, endpoint: str, method: str) -> None:
    """The actor the matrix lets through is refused without the CSRF token, and nothing changes."""
    from web.forms import CSRF_TEXT

    entry = MATRIX[(endpoint, method)]
    rule = rules_by_endpoint(world.app)[endpoint]
    actor = next(a for a in ACTORS if entry.expect[a] in (OK, LOGIN))
    world.fresh()
    if entry.prepare:
        entry.prepare(world, 1)
    world.dirty = True
    before = store_state(world)
    resp, _, _ = send(world, actor, rule, method, entry, 1, entry.queries[0], sandbox_secret, with_csrf=False)
    said = resp.get_json()["error"] if resp.is_json else resp.get_data(as_text=True)
    assert resp.status_code == 400 and CSRF_TEXT in said, (resp.status_code, said[:300])
    assert store_state(world) == before


def test_csrf_exempt_posts_are_the_json_and_signed_apis(world) -> None:
    """Only the JSON chat relay, the signed platform API and WeChat (signed by WeChat) take POSTs
    without a CSRF token; every form of the case pages and the desk needs one."""
    exempt = {endpoint.split(".")[0] for (endpoint, method), e in MATRIX.items() if method == "POST" and not e.csrf}
    assert exempt == {"chat", "platform_api", "wechat"}


def test_ids_of_another_case_are_never_accepted(world) -> None:
    """Evidence and offer ids are checked against the case in the URL: consumer B and desk agent Y,
    each on their own case 2, cannot fetch case 1's evidence file or answer case 1's offer."""
    world.fresh()
    world.dirty = True
    ev1, offer1 = world.evidence_id[1], world.pending_offer(1)
    c1, c2 = world.case_no[1], world.case_no[2]
    before = store_state(world)
    bob, yagent = world.client(B), world.client(DY)
    assert bob.get(f"/cases/{c2}/evidence/{world.evidence_id[2]}").status_code == 200  # the control
    assert bob.get(f"/cases/{c2}/evidence/{ev1}").status_code == 404
    assert yagent.get(f"/desk/cases/{c2}/evidence/{world.evidence_id[2]}").status_code == 200
    assert yagent.get(f"/desk/cases/{c2}/evidence/{ev1}").status_code == 404
    token = csrf_from(bob, "/desk/login")
    resp = bob.post(f"/cases/{c2}/offer", data={"csrf_token": token, "offer_id": str(offer1), "decision": "accept"})
    assert resp.status_code == 302
    assert store_state(world) == before, "B's answer with case 1's offer id changed something"
    assert world.cases().state(c1) == "negotiating" and world.pending_offer(1) == offer1
    # the chat upload names its case in the body
    resp = bob.post("/api/chat/evidence", data={"csrf_token": token, "case_no": c1, "file": _png("x.png")},
                    headers={"Accept": "application/json"})
    assert resp.status_code == 404 and "无权" in resp.get_json()["error"]
    assert store_state(world) == before


def test_lowercase_and_malformed_case_numbers_find_nothing_of_another(world) -> None:
    """Case numbers are upper-cased before the lookup: the lower-case form of case 1 is still
    case 1 (and still not B's); malformed numbers get the same 404."""
    world.fresh()
    bob, alice = world.client(B), world.client(A)
    c1 = world.case_no[1]
    assert alice.get(f"/cases/{c1.lower()}").status_code == 200
    for number in (c1.lower(), c1 + "%00", c1 + "/", "ODR-' OR 1=1 --", "../" + c1, "%2e%2e%2f" + c1):
        resp = bob.get(f"/cases/{number}")
        assert resp.status_code in (404, 308) and CASE_DATA[1]["description"] not in resp.get_data(as_text=True)


def test_report_matrix_size(world, record_property) -> None:
    """Last in the file: the size of the matrix (see `-rA` or the junit report)."""
    rules = list(world.app.url_map.iter_rules())
    route_methods = sum(len(probe_methods(rule)) for rule in rules)
    record_property("matrix_actors", len(ACTORS))
    record_property("matrix_routes", len(rules))
    record_property("matrix_route_methods", route_methods)
    record_property("matrix_probes", MATRIX_RESULTS["probes"])
    print(f"authorisation matrix: {len(ACTORS)} actors × {len(rules)} routes ({route_methods} route-methods) = "
          f"{len(ACTORS) * route_methods} cells; {MATRIX_RESULTS['probes']} probes run "
          f"(case-specific routes on case 1 and case 2, query variants), in {MATRIX_RESULTS['routes']} rows")
