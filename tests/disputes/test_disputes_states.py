"""The case state machine: every pair of states, random walks, and the append-only event log."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from disputes.clock import FrozenClock
from disputes.models import Case, CaseEvent
from disputes.states import (
    LABELS_ZH,
    TRANSITIONS,
    IllegalTransition,
    State,
    can_transition,
    transition,
)


class FakeSession:
    """Just enough Session for `transition`: it only adds event rows."""

    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, obj: object) -> None:
        self.added.append(obj)


def new_case(state: State = State.DRAFT) -> Case:
    return Case(id=1, case_no="ODR-20260501-0001", state=state, facts={})


def test_lifecycle_graph_is_the_documented_one() -> None:
    assert set(TRANSITIONS) == set(State)
    assert set(LABELS_ZH) == set(State)
    assert [LABELS_ZH[s] for s in State] == ["草稿", "已提交", "协商中", "已和解", "已转平台客服", "已转12315", "已结案"]
    assert TRANSITIONS[State.CLOSED] == frozenset()
    # every state is reachable from draft, and closed is reachable from every state but itself
    seen, frontier = {State.DRAFT}, [State.DRAFT]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(State)
    assert all(State.CLOSED in TRANSITIONS[s] for s in State if s != State.CLOSED)
    # the main path of DESIGN.md
    path = [State.DRAFT, State.SUBMITTED, State.NEGOTIATING, State.ESCALATED_DESK, State.ESCALATED_REGULATOR,
            State.CLOSED]
    assert all(b in TRANSITIONS[a] for a, b in itertools.pairwise(path))
    assert State.SETTLED in TRANSITIONS[State.NEGOTIATING]


@pytest.mark.parametrize(("current", "target"), list(itertools.product(State, State)))
def test_every_pair(current: State, target: State) -> None:
    session, case, clock = FakeSession(), new_case(current), FrozenClock()
    if target in TRANSITIONS[current]:
        ev = transition(session, case, target, actor="system", clock=clock, reason="test")
        assert case.state == target
        assert session.added == [ev]
        assert ev.type == "state_changed"
        assert ev.payload["from"] == current and ev.payload["to"] == target
        assert ev.payload["label"] == LABELS_ZH[target]
        assert ev.at == clock.now() and ev.actor == "system"
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(session, case, target, actor="system", clock=clock)
        assert case.state == current and session.added == []
        assert f"{current} → {target}" in str(info.value)
        assert "不能变更" in info.value.message_zh


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(State)), max_size=25))
def test_random_walks_follow_the_model(targets: list[State]) -> None:
    session, case, clock = FakeSession(), new_case(), FrozenClock()
    state, applied = State.DRAFT, 0
    for target in targets:
        clock.advance(minutes=1)
        if can_transition(state, target):
            transition(session, case, target, actor="consumer", clock=clock)
            state, applied = target, applied + 1
        else:
            with pytest.raises(IllegalTransition):
                transition(session, case, target, actor="consumer", clock=clock)
        assert case.state == state
    assert len(session.added) == applied
    # the event chain is contiguous: each event starts where the previous ended
    prev = State.DRAFT
    for ev in session.added:
        assert ev.payload["from"] == prev
        prev = ev.payload["to"]
    assert prev == state
    if state in (State.SETTLED, State.CLOSED, State.ESCALATED_REGULATOR):
        assert case.next_deadline is None


def test_transition_events_are_persisted_and_append_only(session, clock) -> None:
    from disputes.models import Consumer

    consumer = Consumer(channel="web", sender_id="web-1", created_at=clock.now())
    case = Case(case_no="ODR-20260501-0001", state=State.DRAFT, channel="web", sender_id="web-1",
                consumer=consumer, facts={}, created_at=clock.now(), updated_at=clock.now())
    session.add(case)
    session.flush()
    for target in (State.SUBMITTED, State.NEGOTIATING, State.SETTLED, State.CLOSED):
        transition(session, case, target, actor="system", clock=clock)
    session.commit()
    events = session.query(CaseEvent).filter_by(case_id=case.id).order_by(CaseEvent.id).all()
    assert [e.payload["to"] for e in events] == ["submitted", "negotiating", "settled", "closed"]
    assert case.closed_at is not None and case.submitted_at is not None

    events[0].actor = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    # the database refuses too (triggers), even bypassing the ORM
    for sql in ("UPDATE case_events SET actor = 'x'", "DELETE FROM case_events"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(sql))
        session.rollback()
    assert session.query(CaseEvent).count() == 4
