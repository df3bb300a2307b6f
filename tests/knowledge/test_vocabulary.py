"""Colloquial → legal query expansion and typo normalisation."""

from __future__ import annotations

import pytest

from knowledge.search.textproc import char_ngrams, expand_query, get_tokenizer, normalize


@pytest.mark.parametrize(
    ("colloquial", "legal"),
    [
        ("买到假货了怎么办", "以假充真"),
        ("商家跑路了", "停业"),
        ("这家店刷单", "虚构交易"),
        ("七天无理由能退吗", "七日无理由退货"),
        ("快递放驿站了", "智能快件箱"),
        ("能不能退一赔三", "三倍"),
        ("外卖吃出虫子", "食品安全标准"),
        ("办的健身卡退不了", "预付款"),
        ("本店拥有最终解释权", "格式条款"),
    ],
)
def test_colloquial_words_add_legal_terms(colloquial: str, legal: str) -> None:
    assert legal in expand_query(colloquial).terms


@pytest.mark.parametrize(
    ("typo", "fixed"),
    [("快递显示签受了", "签收"), ("去哪里检侧", "检测"), ("坏了谁陪", "谁赔"), ("退款要多就", "多久")],
)
def test_typos_are_fixed(typo: str, fixed: str) -> None:
    assert fixed in normalize(typo)


def test_normalize_full_width_and_case() -> None:
    assert normalize("ＡＰＰ　退款７天") == "app 退款7天"


def test_expansion_does_not_repeat_words_already_in_query() -> None:
    exp = expand_query("假货 欺诈")
    assert "欺诈" not in exp.terms


def test_tokenizer_keeps_legal_phrases_whole() -> None:
    tokens = get_tokenizer().tokens("七日无理由退货的运费")
    assert "七日无理由退货" in tokens
    assert "的" not in tokens


def test_char_ngrams() -> None:
    assert char_ngrams("退货，运费", 2) == ["退", "货", "退货", "运", "费", "运费"]
