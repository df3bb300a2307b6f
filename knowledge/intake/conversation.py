"""One turn of the complaint intake, free of Rasa: read the message, answer what was asked,
update the facts and choose the next question.

`advance` reads a message as the answer to the question being asked (even when it looks like a
question or an unrelated phrase), otherwise as a correction, a question about the consumer's own
case (answered with the decision for the facts so far) or a general legal question (answered
from the statutes); it never loops: after repeated failures a question is skipped. `question`
renders the next question with its quick replies; `situation` is the answer for the facts so far.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from knowledge.rules.common import cn_date

from . import policy
from .reader import AnswerError, Reading, is_unknown, read_answer, read_story
from .state import Intake
from .summary import understood

Message = dict[str, Any]

MAX_FAILURES = 2
MAX_PHONE_FAILURES = 3
_CONFIRM_YES = re.compile(r"^(确认|同意|提交|对|对的|是的|是|没问题|没错|好的|好|可以|行|嗯|ok|OK|确认无误)")
_CONFIRM_NO = re.compile(r"(先不提交|不提交|暂不提交|不要提交|取消|不投诉|不用投诉|算了|不用了|先不)")
_COMPLAIN = re.compile(r"^(我要|我想|帮我|我需要|我想要|我要去)?(投诉|维权|登记投诉|申请投诉|投诉商家|投诉他们)[了吧啊呀。！!]*$")
_DECLINE = re.compile(r"^(不用投诉|不投诉|不用了|不需要|不想投诉|先不投诉|算了)")
_SITUATION_CUES = re.compile(r"(还能|能不能|可以|能)(退|赔|要|换|修)|谁(算)?(得)?对|多少|合法|怎么办|咋办|能赔|能要|算不算|有没有道理")
_ANSWER_LABELS = {
    "platform": "购买渠道", "product": "商品", "signed_date": "签收日期", "return_request_date": "提出退货的日期",
    "condition": "商品状态", "price_yuan": "实付金额", "loss_yuan": "损失", "order_id": "订单号",
    "phone": "联系电话", "order_date": "下单日期", "merchant_exclusion_confirmed": "是否确认过不退",
    "platform_provided_seller_info": "平台是否提供了商家信息", "seller_type": "卖家身份",
    "refund_request_date": "要求退钱的日期", "prepaid_paid_date": "预付款付款日期", "deposit_yuan": "押金",
    "promised_delivery_date": "承诺发货日期", "delivery_reminder_date": "催告日期", "warranty_start_date": "保修起算日期",
    "warranty_months": "保修期（月）", "defect_found_date": "故障出现日期", "vehicle_km": "行驶里程（公里）",
}


def question(state: Intake, today: date, route_note: str | None = None) -> Message:
    """The message that asks `state.asking` (the confirmation shows the summary and decision)."""
    if state.asking == "confirm":
        return confirmation(state, today, route_note)
    spec = policy.catalogue()[state.asking or "story"]
    buttons = [{"title": b, "payload": b} for b in spec.get("buttons") or []]
    if state.asking != "story" and not state.answered and state.facts:
        buttons.append({"title": "不用投诉", "payload": "不用投诉"})
    return {"text": spec["text"], "buttons": buttons}


def confirmation(state: Intake, today: date, route_note: str | None = None) -> Message:
    facts = state.rule_facts(today)
    decision = state.decision(today)
    platform = facts.get("platform") or "平台"
    lines = ["我理解的情况是：", understood(facts, []), "", "初步判断（依据法律规定和您提供的信息）：",
             decision.explanation(quotes=False)]
    if route_note:
        lines += ["", route_note]
    lines += ["", f"确认提交即表示您同意：把以上订单信息和联系方式提供给{platform}和处理本纠纷的人员，仅用于处理本次纠纷。",
              "有不对的地方直接告诉我，例如「签收日期是11月20号」「金额是899元」。",
              policy.catalogue()["confirm"]["text"]]
    buttons = [{"title": b, "payload": b} for b in policy.catalogue()["confirm"]["buttons"]]
    return {"text": "\n".join(lines), "buttons": buttons}


def situation(state: Intake, today: date, *, only_if_informative: bool = False) -> str | None:
    """The answer for the consumer's own situation: the decision on the facts so far, quoted.
    When only the signing date is missing and every signing date leads to the same answer (tags
    cut, goods made to order), that answer is given instead of 「暂无法确定」. With
    `only_if_informative`, None when the facts decide nothing yet."""
    decision = state.decision(today)
    heading = "根据您说的情况："
    pending = _notice_date_pending(state, today)
    if pending is not None:
        return pending
    if decision.seven_day_return_eligible is None:
        settled = _regardless_of_signing(state, today)
        if settled is not None:
            decision, heading = settled, "根据您说的情况（还不知道签收日期，但不论哪天签收结论相同）："
    if only_if_informative and not informative(decision):
        return None
    return heading + "\n" + decision.explanation(quotes=True)


def _notice_date_pending(state: Intake, today: date) -> str | None:
    """The consumer told the seller they want to return the goods but not when: the statute
    counts the day the notice was sent (七日办法第十条), not the day of this chat, so the answer
    is given for a notice in time with the last day, and the date is asked next; never 「已超过期限」
    on the chat's date alone."""
    facts = state.rule_facts(today)
    if "return_request_date" in facts or "return_request_date" in state.answered \
            or not policy.worth_asking("return_request_date", facts, today):
        return None
    deadline = state.decision(today).seven_day_deadline
    if deadline is None:
        return None
    in_time = _decide(dict(facts, return_request_date=deadline.isoformat()), today)
    last = cn_date(deadline)
    in_time.notes = [n.replace(f"您{last}提出退货", "您在这一天或之前提出退货") for n in in_time.notes]
    return (f"根据您说的情况：七日期限最后一天是{last}。法律按您向商家发出退货通知的日期计算，不按今天计算。"
            f"\n如果您是在{last}（含）之前向商家提出退货的：\n{in_time.explanation(quotes=True)}"
            f"\n如果是在{last}之后才提出的，就超过了七日期限。我接下来会问您提出退货的日期。")


def _decide(facts: dict[str, Any], today: date):
    from knowledge.rules import decide

    return decide(facts, today=today)


def _regardless_of_signing(state: Intake, today: date):
    """The decision with the window left out, if a recent and an old signing date agree on it."""
    from datetime import timedelta

    from knowledge.rules import decide

    facts = state.rule_facts(today)
    if "signed_date" in facts:
        return None
    trials = []
    for days in (1, 60):
        trial = dict(facts, signed_date=(today - timedelta(days=days)).isoformat())
        trials.append(decide(trial, today=today))
    recent, old = trials
    if recent.seven_day_return_eligible is not False or old.seven_day_return_eligible is not False:
        return None
    if policy.signature(recent)[2:] != policy.signature(old)[2:]:
        return None  # the date matters for something else (a refund, the platform)
    recent.seven_day_deadline = None
    recent.notes = [n for n in recent.notes if "七日期间自次日起算" not in n]
    recent.reason_codes = [c for c in recent.reason_codes if c not in ("WITHIN_WINDOW", "OUTSIDE_WINDOW")]
    return recent


ANCHORS = ("order_date", "signed_date", "return_request_date", "seller_received_return_date", "price_yuan",
           "platform", "shop", "loss_yuan", "refund_request_date", "prepaid_paid_date", "deposit_yuan",
           "promised_delivery_date", "delivery_reminder_date", "warranty_start_date", "vehicle_km")
_NOT_TOPICS = (*ANCHORS, "channel", "return_request_mentioned", "desired_remedy", "seller_said", "warranty_mentioned",
               "repair_mentioned", "prepaid_mentioned", "deposit_mentioned", "deposit_deduction_mentioned")


def story_strength(reading: Reading, text: str) -> str | None:
    """Whether a message tells a dispute of the consumer's own rather than asks about the law:
    "strong" for a detail of one purchase (a date, the amount, the platform) with what went wrong,
    or several facts at once; "weak" for a long account with a fact or two (the caller checks it
    is about a consumer dispute at all); None otherwise."""
    anchors = [k for k in ANCHORS if reading.facts.get(k) is not None]
    topics = [k for k in reading.facts if k not in _NOT_TOPICS and k not in reading.guessed]
    if (anchors and topics) or len(anchors) >= 2 or len(topics) >= 3:
        return "strong"
    if (len(topics) >= 2 and len(text) >= 40 and "我" in text) or ((anchors or topics) and len(text) >= 30):
        return "weak"
    return None


def informative(decision) -> bool:
    """Whether the decision on the facts so far says something (else the law is quoted instead)."""
    return decision.seven_day_return_eligible is not None or bool(decision.reason_codes)


def begin(state: Intake, text: str, today: date, reading: Reading | None = None) -> list[Message]:
    """A story told outside the intake: take its facts (`reading`, if the caller has read it
    already) and answer the consumer's situation. No answer when the facts so far decide nothing
    yet (the caller answers from the statutes)."""
    state.add_story(text)
    state.apply(reading or read_story(text, today), override=True)
    state.asking = None
    answer = situation(state, today, only_if_informative=True)
    return ([{"text": answer}] if answer else []) + _contradictions(state, today)


def advance(state: Intake, text: str, today: date, *, answer_question=None) -> list[Message]:
    """Handle one consumer message inside the intake; sets `state.asking` to the next question
    (None when the intake is finished: confirmed or declined). `answer_question(text)` answers a
    general legal question (retrieval), returning a message or None."""
    text = (text or "").strip()
    messages: list[Message] = []
    asking = state.asking
    if asking is None:
        if text and text not in state.story:
            reading = read_story(text, today)
            if reading.case_facts:
                state.add_story(text)
                state.apply(reading)
    elif _COMPLAIN.match(text):
        messages.append({"text": "好的，正在为您登记投诉，请接着回答下面的问题。"})
    elif asking == "confirm":
        messages += _confirm(state, text, today, answer_question)
    elif _DECLINE.match(text):
        state.status = "declined"
    elif asking == "story":
        messages += _story(state, text, today, answer_question)
    else:
        messages += _answer(state, asking, text, today, answer_question)
    messages += _contradictions(state, today)
    state.asking = state.next_question(today)
    return messages


def _story(state: Intake, text: str, today: date, answer_question) -> list[Message]:
    reading = read_story(text, today)
    if not reading.case_facts and reading.question:
        return _answer_a_question(state, text, reading, today, answer_question)
    state.add_story(text)
    state.apply(reading)
    state.mark_answered("story")
    return []


def _answer(state: Intake, asking: str, text: str, today: date, answer_question) -> list[Message]:
    key = policy.catalogue()[asking].get("fact", asking)
    if is_unknown(text):
        state.mark_answered(asking)
        return [{"text": "好的，这一项先空着。"}]
    try:
        reading = read_answer(asking, text, today, state.facts)
    except AnswerError as exc:
        story = read_story(text, today)
        if story.correction and story.facts:
            changed = state.apply(story, override=True)
            state.add_story(text)
            return [_corrected(state, changed)]
        if story.question and not story.case_facts:
            return _answer_a_question(state, text, story, today, answer_question)
        return _failed(state, asking, exc.message)
    override = set(reading.facts) if reading.correction else {key}
    changed = state.apply(reading, override=override)
    if asking != "phone" and len(reading.case_facts) > 1:
        state.add_story(text)
    state.mark_answered(asking)
    others = [k for k in changed if k != key and k in _ANSWER_LABELS and reading.correction]
    return [_corrected(state, others)] if others else []


def _failed(state: Intake, asking: str, hint: str) -> list[Message]:
    count = state.failures.get(asking, 0) + 1
    state.failures[asking] = count
    limit = MAX_PHONE_FAILURES if asking == "phone" else MAX_FAILURES
    if count >= limit:
        state.mark_answered(asking)
        if asking == "phone":
            return [{"text": f"{hint}\n联系电话先空着，提交后可以在案件页补充；需要人工协助请说「转人工」。"}]
        return [{"text": f"{hint}\n这一项先跳过，不影响继续登记。"}]
    return [{"text": hint}]


def _confirm(state: Intake, text: str, today: date, answer_question) -> list[Message]:
    reading = read_story(text, today)
    if _CONFIRM_NO.search(text):
        state.status = "declined"
        return []
    if _CONFIRM_YES.match(text) and not reading.case_facts:
        state.status = "confirmed"
        state.mark_answered("confirm")
        return []
    if reading.case_facts or reading.correction:
        if not reading.case_facts:
            return [{"text": "请直接告诉我正确的内容，例如「签收日期是11月20号」「金额是899元」。"}]
        changed = state.apply(reading, override=True)
        state.add_story(text)
        return [_corrected(state, changed)]
    if reading.question:
        return _answer_a_question(state, text, reading, today, answer_question)
    return [{"text": "请回复「确认无误，同意提交」，或直接告诉我哪里不对；不想提交请回复「先不提交」。"}]


def _answer_a_question(state: Intake, text: str, reading: Reading, today: date, answer_question) -> list[Message]:
    if state.facts and (reading.own_case or _SITUATION_CUES.search(text)):
        return [{"text": situation(state, today)}]
    if answer_question is not None:
        answer = answer_question(text)
        if answer:
            return [answer]
    return [{"text": "这个问题我先记下了，登记完成后可以继续问我。"}]


def _corrected(state: Intake, keys: list[str]) -> Message:
    shown = []
    for key in keys:
        if key not in _ANSWER_LABELS:
            continue
        value = state.facts.get(key)
        try:
            value = cn_date(date.fromisoformat(str(value)))
        except ValueError:
            pass
        if key == "phone":
            continue
        if key in ("price_yuan", "loss_yuan", "deposit_yuan") and value is not None:
            value = f"{float(value):g}元"
        shown.append(f"{_ANSWER_LABELS[key]}：{value if value is not None else '无'}")
    if not shown:
        return {"text": "好的，已记下。"}
    return {"text": "好的，已更正——" + "；".join(shown)}


def _contradictions(state: Intake, today: date) -> list[Message]:
    """Facts that cannot all be true are questioned. The fact the consumer answered directly is
    kept over one read from the story (order date); asked again the same, it is believed, so a
    contradiction never loops."""
    out = []
    for key, message in policy.contradictions(state.rule_facts(today), today):
        mark = f"contradicted:{key}"
        other = "order_date" if key == "signed_date" else None
        if state.failures.get(mark) == state.facts.get(key) and other and other not in state.answered:
            state.forget(other)  # said twice: the story's order date gives way
            continue
        state.failures[mark] = state.facts.get(key)
        state.forget(key)
        out.append({"text": message})
    return out
