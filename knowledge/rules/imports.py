"""Cross-border purchases: real 跨境电商零售进口 versus a domestic shop that only says so.

A real cross-border retail import is still e-commerce: the seller keeps an e-commerce operator's
duties and bears the transit risk until 签收 (电子商务法第二十、二十六条). A shop that sells domestic
goods as 「海外直邮」 falsifies their origin, which is fraud (处罚办法第五条第（三）项, 第十六条).
Imported food without a Chinese label is handled with the food rules (punitive.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import Finding
from .facts import Facts


@dataclass
class Imports(Finding):
    active: bool = False


def assess(f: Facts) -> Imports:
    i = Imports()
    if f.flag("cross_border"):
        i.code("CROSS_BORDER_RETAIL_IMPORT")
        i.note("跨境电商零售进口的商品，经营者仍是电子商务经营者，义务不变；签收前的运输风险由经营者承担。")
        if f.flag("transit_damage") or f.flag("goods_lost"):
            i.active = True
            i.cite("cross_border_retail")
    elif f.flag("claimed_cross_border") and f.flag_false("cross_border") and f.flag("fraud"):
        i.active = True
        i.code("FALSE_CROSS_BORDER_CLAIM")
        i.cite("false_cross_border")
        i.violation("fraud")
        i.note("宣称“海外直邮/跨境”实际却是国内发货的，属于伪造商品产地，构成欺诈。")
    return i
