"""Case actions: eligibility summary, submission, status, and the consumer's answer to offers."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.facts import FORM_SLOTS, facts_from_slots
from actions.runtime import channel_of, clock, db_session, today

logger = logging.getLogger(__name__)

CONFIRM_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "先不提交", "payload": "/deny"},
]


def _mask_phone(phone: str | None) -> str:
    from knowledge.normalize import mask_phone

    return mask_phone(phone) if phone else "未提供"


def form_slots(tracker: Tracker) -> dict[str, Any]:
    return {name: tracker.get_slot(name) for name in FORM_SLOTS}


def reset_form() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in (*FORM_SLOTS, "eligibility", "slot_failures")]


def summary_lines(slots: dict[str, Any]) -> str:
    rows = [
        ("平台", slots.get("platform")),
        ("店铺", slots.get("shop")),
        ("订单号", slots.get("order_id")),
        ("商品", slots.get("product")),
        ("实付金额", f"{slots['amount']}元" if slots.get("amount") else None),
        ("下单日期", slots.get("order_date")),
        ("签收日期", slots.get("signed_date") or "未签收"),
        ("问题类型", slots.get("problem")),
        ("经过", slots.get("description")),
        ("诉求", slots.get("desired_remedy")),
        ("联系电话", _mask_phone(slots.get("phone"))),
    ]
    return "\n".join(f"· {k}：{v if v not in (None, '') else '未提供'}" for k, v in rows)


class ActionEligibilitySummary(Action):
    """After the form: show what we recorded and what the rules engine concludes, then confirm."""

    def name(self) -> str:
        return "action_eligibility_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        slots = form_slots(tracker)
        if slots.get("consent") is not True:
            dispatcher.utter_message(
                text="没有您的同意，我们不能把订单信息和联系方式提供给平台，因此无法代您协商，本次登记已取消。"
                "您仍可以问我法律问题，或随时说「我要投诉」重新登记。"
            )
            return reset_form()
        from knowledge.rules import decide

        decision = decide(facts_from_slots(slots, today()), today=today()).to_dict()
        dispatcher.utter_message(text="我记录的投诉信息如下：\n" + summary_lines(slots))
        if decision.get("explanation"):
            dispatcher.utter_message(text="初步判断（仅依据法律规定和您提供的信息）：\n" + decision["explanation"])
        dispatcher.utter_message(
            text="确认提交后，我会把诉求和法律依据发送给平台，并在这里告诉您平台的答复。现在提交吗？",
            buttons=CONFIRM_BUTTONS,
        )
        return [SlotSet("eligibility", decision)]


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


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import submit_complaint

        slots = form_slots(tracker)
        if slots.get("consent") is not True or not slots.get("platform"):
            dispatcher.utter_message(text="目前没有待提交的投诉。需要登记请说「我要投诉」。")
            return []
        facts = facts_from_slots(slots, today())
        facts["phone"] = slots.get("phone")
        facts["consent"] = True
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
                case = submit_complaint(
                    db,
                    channel=channel_of(tracker.sender_id),
                    sender_id=tracker.sender_id,
                    facts=facts,
                    decision=tracker.get_slot("eligibility"),
                    clock=clock(),
                )
                case_no = case.case_no
        except Exception:
            logger.exception("submitting a complaint failed")
            dispatcher.utter_message(
                text="抱歉，提交时出了问题，您的信息还在，请稍后回复「确认提交」再试一次。",
                buttons=[{"title": "确认提交", "payload": "/affirm"}],
            )
            return []
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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import CaseAccessError, case_status, latest_case

        case_no = next(tracker.get_latest_entity_values("case_id"), None) or tracker.get_slot("case_id")
        with db_session() as db:
            if not case_no:
                latest = latest_case(db, tracker.sender_id)
                case_no = latest.case_no if latest else None
            if not case_no:
                dispatcher.utter_message(text="您还没有提交过投诉。需要登记请说「我要投诉」。")
                return []
            try:
                status = case_status(db, case_no.upper(), sender_id=tracker.sender_id)
            except CaseAccessError:
                dispatcher.utter_message(text=f"没有找到您名下的案件 {case_no}，请核对案件编号。")
                return []
        dispatcher.utter_message(text=_status_text(status))
        return [SlotSet("case_id", status["case_no"])]


class ActionRespondOffer(Action):
    """The consumer accepts or rejects the platform's pending offer on their latest case."""

    def name(self) -> str:
        return "action_respond_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list:
        from disputes.service import CaseAccessError, OfferError, latest_case, respond_to_offer

        accept = (tracker.latest_message.get("intent") or {}).get("name") == "accept_offer"
        with db_session() as db:
            case_no = tracker.get_slot("case_id")
            if not case_no:
                latest = latest_case(db, tracker.sender_id)
                case_no = latest.case_no if latest else None
            if not case_no:
                dispatcher.utter_message(text="您目前没有待答复的平台方案。")
                return []
            try:
                result = respond_to_offer(db, case_no, sender_id=tracker.sender_id, accept=accept, clock=clock())
            except (OfferError, CaseAccessError) as exc:
                dispatcher.utter_message(text=str(exc))
                return []
        dispatcher.utter_message(text=result.get("message") or ("已接受平台方案。" if accept else "已拒绝平台方案。"))
        return []
