"""Composed answers: only corpus citations, verbatim quotes, honest uncertainty, polite refusals."""

from __future__ import annotations

import pytest

from knowledge.answer import compose_answer
from knowledge.corpus import resolve

QUESTIONS = [
    "网上买的衣服不喜欢 七天内可以退吗",
    "买到假冒的运动鞋能赔多少",
    "外卖里吃出了玻璃碴",
    "快递丢了商家让我找快递公司",
    "网店让我加微信私下付款 现在货不对",
]


@pytest.fixture(autouse=True)
def _index(searcher):
    return searcher


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_citation_is_in_the_corpus_and_quoted_verbatim(question: str) -> None:
    answer = compose_answer(question)
    assert not answer.out_of_scope
    assert 1 <= len(answer.citations) <= 3
    for c in answer.citations:
        article = resolve(c["law"], c["article"])
        assert c["text"] == article.text
        assert c["citation"] == article.citation
        assert c["version_date"] == article.version_date
        assert article.citation in answer.text
        assert article.text in answer.text


def test_confident_answer_has_explanation_and_readable_length() -> None:
    answer = compose_answer("七天无理由退货 退回去的运费谁来付")
    assert answer.confident
    assert answer.topic == "seven_day_return"
    assert "七日" in answer.text.split("相关法律规定")[0]
    assert len(answer.text) < 2000


def test_out_of_scope_question_is_declined_without_citations() -> None:
    answer = compose_answer("帮我写一篇关于秋天的散文")
    assert answer.out_of_scope
    assert answer.citations == []
    assert "消费" in answer.text and "《" not in answer.text


def test_unsure_answer_says_so_and_offers_help() -> None:
    answer = compose_answer("我买的东西有点问题想问问")
    if answer.out_of_scope:
        pytest.skip("declined as out of scope, which is also acceptable")
    assert not answer.confident
    assert "我不太确定" in answer.text
    assert "人工" in answer.text and "案件" in answer.text


def test_explicit_topic_selects_its_template() -> None:
    answer = compose_answer("买的东西不想要了", topic="seven_day_return")
    assert answer.topic == "seven_day_return"


def test_templates_have_no_folding_spaces_inside_chinese_text() -> None:
    from knowledge.answer import load_templates

    for spec in load_templates()["topics"].values():
        assert "， " not in spec["explanation"] and "的 " not in spec["explanation"]


def test_food_ten_times_is_not_conditioned_on_injury() -> None:
    """食品安全法第一百四十八条第二款: the increment needs no injury (食药解释第一条 neither)."""
    from knowledge.answer import load_templates

    text = load_templates()["topics"]["food_safety"]["explanation"]
    sentence = next(s for s in text.split("。") if "十倍" in s)
    assert "不论是否造成损害" in sentence
    assert "受到损害" not in sentence
    assert "除要求赔偿损失外，还可以" in resolve("食品安全法", 148).text
