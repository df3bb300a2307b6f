"""Who else answers for what was said in a live room or an advertisement.

- A person other than the seller who recommends goods in their own name is an advertising endorser
  (直播电商办法第三十五条); endorsers are jointly liable with the advertiser always for goods that
  concern life or health, and for other goods when they knew or should have known the claim was
  false (广告法第五十六条第二、三款), which vouching for goods they never used shows (第三十八条,
  punished by 第六十一条).
- A live-room operator that knew or should have known of the problem and kept promoting is jointly
  liable with the seller (网消解释第十七条); a shop answers for false claims of its own streamers
  (第十一条).
Whether these parties also owe the seller's punitive increment is not settled, so they are named as
other liable parties for the loss only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .common import Finding
from .facts import Facts

ENDORSER, LIVE_ROOM = "广告代言人", "直播间运营者"


@dataclass
class Endorsement(Finding):
    active: bool = False
    other_liable_parties: list[str] = field(default_factory=list)


def assess(f: Facts) -> Endorsement:
    e = Endorsement()
    harmed = f.flag("fraud") or f.flag("defect") or f.flag("food_safety_violation") or f.flag("misleading_promotion")
    if not harmed:
        return e
    if f.flag("endorser_involved"):
        never_used = f.flag("endorser_never_used")
        knew = f.flag("endorser_knew_false") or never_used
        if f.flag("life_health_goods") or knew:
            e.active = True
            e.code("LIVESTREAM_ENDORSER_JOINT_LIABILITY")
            e.cite("endorser")
            e.remedy("claim_endorser")
            e.other_liable_parties.append(ENDORSER)
            e.note("以自己名义推荐商品的嘉宾是广告代言人："
                   + ("关系生命健康的商品，代言人与广告主承担连带责任。" if f.flag("life_health_goods")
                      else "明知或应知广告虚假仍作推荐的，与广告主承担连带责任。"))
        if never_used:
            e.code("ENDORSER_NEVER_USED_PRODUCT")
            e.cite("endorser_never_used")
            e.violation("endorser_never_used")
            e.note("代言人为自己没有使用过的商品作推荐、证明，违反广告法，属于明知广告虚假，也可以向市场监管部门举报。")
    if f.channel == "live_stream" and f.flag("livestream_room_knew_violation"):
        e.active = True
        e.code("LIVESTREAM_ROOM_KNEW_JOINT_LIABILITY")
        e.cite("livestream_room_knew")
        e.remedy("claim_livestream_room")
        e.other_liable_parties.append(LIVE_ROOM)
        e.note("直播间运营者知道或应当知道商品有问题仍然推广，应与销售者承担连带责任。")
    if f.channel == "live_stream" and f.flag("livestream_staff_claim") and not f.flag("endorser_involved"):
        e.active = True
        e.code("LIVESTREAM_STAFF_FALSE_CLAIM_SELLER_LIABLE")
        e.cite("livestream_staff_claim")
        e.note("店铺自己直播间的工作人员虚假宣传造成损害的，由店铺承担赔偿责任。")
    return e
