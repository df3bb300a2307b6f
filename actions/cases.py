"""Case actions: submission after the intake, status, and the consumer's answer to offers."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import story_events
from actions.runtime import channel_of, clock, complaints_per_day, db_session, off_event_loop, today

logger = logging.getLogger(__name__)


def reset_form() -> list[dict[str, Any]]:
    return [SlotSet("intake", None), SlotSet("intake_answer", None)]


def _already_filed(db, sender_id: str, facts: dict[str, Any]):
    """The case this very complaint already became, if any (the sender's latest case, not
    withdrawn, with the same facts). Scaled out, a Rasa server that dies after the case was stored
    but before it saved the conversation leaves the conversation at the confirmation: the consumer
    confirms again, served by another Rasa server, and must not get a second case."""
    from disputes.service import clean_facts, latest_case
    from disputes.states import State

    case = latest_case(db, sender_id)
    if case is None or case.state in (State.DRAFT, State.CLOSED):
        return None
    dated_today = ("return_request_date", "complaint_date")  # the day of confirming, not a fact of the case

    def comparable(f: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in f.items() if k not in dated_today}

    return case if comparable(case.facts or {}) == comparable(clean_facts(facts)) else None


def _over_daily_limit(db, sender_id: str) -> int | None:
    """The per-sender complaint limit when this sender has reached it in the last 24 hours."""
    from datetime import timedelta

    from disputes.service import cases_filed_since

    limit = complaints_per_day()
    if limit <= 0:
        return None
    return limit if cases_filed_since(db, sender_id, clock().now() - timedelta(days=1)) >= limit else None


class ActionSubmitComplaint(Action):
    """After the intake: file the confirmed complaint with its facts and decision, or say that
    nothing was filed when the consumer declined."""

    def name(self) -> str:
        return "action_submit_complaint"

    @off_event_loop
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import submit_complaint
        from knowledge.intake.state import Intake
        from knowledge.intake.summary import problem_label

        state = Intake.from_slot(tracker.get_slot("intake"))
        if state.status == "declined":
            dispatcher.utter_message(response="utter_not_submitted")
            return reset_form()
        if state.status != "confirmed":
            dispatcher.utter_message(text="目前没有待提交的投诉。需要登记请说「我要投诉」。")
            return []
        day = today()
        facts = state.rule_facts(day)
        decision = state.decision(day).to_dict()
        facts["description"] = facts.pop("narrative", None) or facts.get("product") or "（未描述）"
        facts["problem"] = problem_label(facts)
        facts.setdefault("desired_remedy", None)
        facts["consent"] = True
        facts["sources"] = dict(state.sources)
        try:
            with db_session() as db:
                filed = _already_filed(db, tracker.sender_id, facts)
                if filed is not None:
                    from disputes.states import label

                    dispatcher.utter_message(
                        text=f"这份投诉已经提交过了，不会重复提交。\n案件编号：{filed.case_no}\n"
                        f"当前状态：{label(filed.state)}。随时可以说「查询进度」。"
                    )
                    return [*reset_form(), SlotSet("case_id", filed.case_no)]
                limit = _over_daily_limit(db, tracker.sender_id)
                if limit is not None:
                    dispatcher.utter_message(
                        text=f"您在24小时内已提交{limit}件投诉，已达到上限，本次投诉暂未提交。"
                        "请明天再来登记；已提交的案件可以随时说「查询进度」。"
                    )
                    return reset_form()
                case = submit_complaint(
                    db,
                    channel=channel_of(tracker.sender_id),
                    sender_id=tracker.sender_id,
                    facts=facts,
                    decision=decision,
                    clock=clock(),
                )
                case_no = case.case_no
        except Exception:
            logger.exception("submitting a complaint failed")
            dispatcher.utter_message(
                text="抱歉，提交时出了问题，您的信息还在，请稍后回复「确认提交」再试一次。",
                buttons=[{"title": "确认提交", "payload": "确认提交"}],
            )
            state.status = "open"
            if "confirm" in state.answered:
                state.answered.remove("confirm")
            return [SlotSet("intake", state.to_slot()), FollowupAction("complaint_form")]
        dispatcher.utter_message(
            text=f"投诉已提交。\n案件编号：{case_no}\n当前状态：已提交。我会把诉求和法律依据发给平台，"
            "平台答复后会在这里通知您。随时可以说「查询进度」。"
        )
        return [*reset_form(), SlotSet("case_id", case_no)]


class ActionResetComplaint(Action):
    def name(self) -> str:
        return "action_reset_complaint"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list:
        return reset_form()


def _status_text(status: dict[str, Any]) -> str:
    lines = [f"案件编号：{status['case_no']}", f"当前状态：{status['state_label']}"]
    if status.get("next_deadline"):
        lines.append(f"下一个期限：{status['next_deadline']}")
    for offer in status.get("offers") or []:
        lines.append(f"平台方案：{offer.get('summary') or offer}")
    timeline = status.get("timeline") or []
    if timeline:
        lines.append("最近进展：")
        lines += [f"· {e.get('at', '')} {e.get('text', '')}".rstrip() for e in timeline[-3:]]
    return "\n".join(lines)


class ActionCheckStatus(Action):
    def name(self) -> str:
        return "action_check_status"

    @off_event_loop
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import CaseAccessError, case_status, latest_case

        case_no = next(tracker.get_latest_entity_values("case_id"), None) or tracker.get_slot("case_id")
        with db_session() as db:
            if not case_no:
                latest = latest_case(db, tracker.sender_id)
                case_no = latest.case_no if latest else None
            if not case_no:
                story = story_events(dispatcher, tracker)  # a story read as a status check or an offer answer
                if story is not None:
                    return story
                dispatcher.utter_message(text="您还没有提交过投诉。需要登记请说「我要投诉」。")
                return []
            try:
                status = case_status(db, case_no.upper(), sender_id=tracker.sender_id,
                                     channel=channel_of(tracker.sender_id))
            except CaseAccessError:
                dispatcher.utter_message(text=f"没有找到您名下的案件 {case_no}，请核对案件编号。")
                return []
        dispatcher.utter_message(text=_status_text(status))
        return [SlotSet("case_id", status["case_no"])]


class ActionRespondOffer(Action):
    """The consumer accepts or rejects the platform's pending offer on their latest case."""

    def name(self) -> str:
        return "action_respond_offer"

    @off_event_loop
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import CaseAccessError, OfferError, latest_case, respond_to_offer

        accept = (tracker.latest_message.get("intent") or {}).get("name") == "accept_offer"
        with db_session() as db:
            case_no = tracker.get_slot("case_id")
            if not case_no:
                latest = latest_case(db, tracker.sender_id)
                case_no = latest.case_no if latest else None
            try:
                if not case_no:
                    raise OfferError(message_zh="您目前没有待答复的平台方案。")
                result = respond_to_offer(db, case_no, sender_id=tracker.sender_id, accept=accept, clock=clock(),
                                          channel=channel_of(tracker.sender_id))
            except (OfferError, CaseAccessError) as exc:
                story = story_events(dispatcher, tracker)  # a story read as a status check or an offer answer
                if story is not None:  # 「商家不接受退货…」 was a story, not an answer to an offer
                    return story
                dispatcher.utter_message(text=str(exc))
                return []
        dispatcher.utter_message(text=result.get("message") or ("已接受平台方案。" if accept else "已拒绝平台方案。"))
        return []
