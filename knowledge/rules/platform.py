"""Platform and live-room liability: when the platform operator itself owes the consumer.

Only five situations make the platform liable (消法第四十四条, 电子商务法第三十七、三十八条,
食品安全法第一百三十一条, 网消解释第四、十四、十五、十八条): it cannot identify the seller, it promised
more than the law, it knew and did nothing, it is the seller (self-operated) or labelled a third-party
shop so that consumers believe it is self-operated (网消解释第四条第二款: a misleading 「自营」 mark,
not a plain platform logo, box or delivery), or a food platform skipped the licence check. Having
given the seller's details clears it otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .common import Finding, blocks
from .facts import Facts

_UNREACHABLE_WORDS = re.compile(r"(失联|联系不上|跑路|倒闭|注销|无法联系)")


@dataclass
class Platform(Finding):
    liable: bool = False
    liability_basis: list[tuple[str, int]] = field(default_factory=list)
    legal_basis: list[tuple[str, int]] = field(default_factory=list)
    other_liable_parties: list[str] = field(default_factory=list)
    grounds: list[str] = field(default_factory=list)  # a..e
    room_liable: bool = False

    def _liable(self, ground: str, *block_names: str) -> None:
        self.liable = True
        self.grounds.append(ground)
        for ref in blocks(*block_names):
            if ref not in self.liability_basis:
                self.liability_basis.append(ref)


def assess(f: Facts, has_claim: bool) -> Platform:
    """Decide platform liability; `has_claim` says whether the consumer is owed anything at all."""
    p = Platform()
    _live_room(f, p)
    if f.flag("off_platform_payment"):
        p.code("OFF_PLATFORM_PAYMENT_SELLER_LIABLE")
        p.cite("off_platform_payment")
        p.remedy("pursue_seller_directly")
        p.note("商家工作人员引导您绕开平台付款的，商家仍应承担销售者责任；平台不因此单独担责。")
    if not (f.is_platform_channel or f.self_operated):
        return p
    if f.self_operated:
        p.code("PLATFORM_SELF_OPERATED")
        p.note("平台自营业务，平台依法承担销售者责任。")
        if has_claim:
            p._liable("d", "platform_self_operated")
    elif f.flag("misleading_self_operated_label"):
        p.code("PLATFORM_MISLEADING_SELF_OPERATED_LABEL")
        p.note("平台虽非实际自营，但其所作的「自营」等标识足以误导消费者相信是平台自营的，平台承担销售者责任。")
        if has_claim:
            p._liable("d", "platform_misleading_label")
    _seller_identity(f, p, has_claim)
    _promise(f, p, has_claim)
    if f.flag("platform_knew") and has_claim:
        p.code("PLATFORM_KNEW_NO_ACTION")
        p.violation("platform_no_action")
        p.note("平台知道或者应当知道商家侵害消费者权益而未采取必要措施，与商家承担连带责任。")
        p._liable("c", "platform_knew")
    if f.flag("food_platform_no_license_check") and (f.flag("food") or f.channel == "food_delivery"):
        p.code("FOOD_PLATFORM_NO_LICENSE_CHECK")
        p.note("食品（餐饮）平台未对入网经营者实名登记、审查许可证，使消费者受损的，与经营者承担连带责任。")
        if has_claim:
            name = {
                "food_delivery": "catering_platform_no_license_check",
                "live_stream": "livestream_food_no_license_check",
            }.get(f.channel, "food_platform_no_license_check")
            p._liable("e", name)
    _remedies(p)
    p.legal_basis = list(p.liability_basis)
    if "b" in p.grounds:
        p.legal_basis += [r for r in blocks("platform_promise_extra") if r not in p.legal_basis]
    return p


def _live_room(f: Facts, p: Platform) -> None:
    """网消解释第十二条: a live room that did not name the real seller is liable as the seller."""
    if f.channel != "live_stream":
        return
    marked = f.get("livestream_marked_actual_seller")
    if f.flag("seller_own_live_room"):
        # The seller streams in its own room: there is no other seller to name or to find.
        p.note("这是商家（品牌）自己的直播间，直播间运营者就是销售者，直接向其主张。")
        return
    if marked is True:
        p.code("LIVESTREAM_ROOM_MARKED_SELLER")
        p.cite("livestream_room")
        p.remedy("pursue_seller_directly")
        p.note("直播间已以足以辨别的方式标明实际销售者，应向该销售者主张权利。")
    elif marked is False:
        p.code("LIVESTREAM_ROOM_LIABLE_AS_SELLER")
        p.cite("livestream_room")
        p.room_liable = True
        p.other_liable_parties.append("直播间运营者")
        p.note("直播间运营者不能证明已标明实际销售者，应承担销售者责任。")
    else:
        p.note("尚不清楚直播间是否标明了实际销售者；如未标明，直播间运营者应承担销售者责任。")


def _seller_identity(f: Facts, p: Platform, has_claim: bool) -> None:
    provided = f.get("platform_provided_seller_info")
    if provided is False:
        if f.channel == "live_stream":
            p.code("LIVESTREAM_PLATFORM_CANNOT_PROVIDE_INFO")
            names = ("livestream_platform_cannot_identify",)
        else:
            p.code("PLATFORM_CANNOT_PROVIDE_SELLER_INFO")
            names = ("food_platform_cannot_identify",) if f.flag("food") else ("platform_cannot_identify",)
        p.note("平台不能提供销售者的真实名称、地址和有效联系方式，消费者可以直接要求平台赔偿。")
        if has_claim:
            p._liable("a", *names)
    elif provided is True and f.flag_false("seller_reachable"):
        p.code("PLATFORM_PROVIDED_SELLER_INFO")
        p.note("商家虽联系不上，但平台已提供其真实名称、地址和联系方式，平台不因此承担赔偿责任（除非另有承诺或过错）。")


def _promise(f: Facts, p: Platform, has_claim: bool) -> None:
    promise = f.text("platform_promise")
    if not promise:
        return
    p.code("PLATFORM_PROMISE")
    if _UNREACHABLE_WORDS.search(promise) and not f.flag_false("seller_reachable"):
        p.note(f"平台承诺「{promise}」以商家失联为条件，目前条件尚未成就。")
        return
    p.note(f"平台作出了更有利于消费者的承诺「{promise}」，应当履行。")
    if has_claim:
        p._liable("b", "platform_promise")


def _remedies(p: Platform) -> None:
    if "b" in p.grounds:
        p.remedy("honor_promise")
    if {"a", "b", "d"} & set(p.grounds):
        p.remedy("claim_against_platform")
    if {"c", "e"} & set(p.grounds):
        p.remedy("joint_liability_claim_platform")
    if "c" in p.grounds:
        p.remedy("report_to_regulator")
