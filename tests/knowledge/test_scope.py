"""The out-of-scope decision on questions written for this test (not in the training examples)."""

from __future__ import annotations

import pytest

from knowledge.search.data import load_scope_examples

OUT = [
    "孩子上小学的学区怎么划分",
    "我们村的宅基地纠纷找哪个部门",
    "帮我写一段生日祝福语",
    "交通违章被拍了可以申请复议吗",
    "同事借了我五千块一直不还",
    "请问离婚以后孩子的户口怎么迁",
]
IN = [
    "网上买的鞋子穿了一天就开胶了 卖家不给换",
    "刚下单的耳机商家一直不发货还不让取消",
    "在网店买的面霜用了脸上起红疹 店家不理人",
    "快递员没打电话就把包裹放在小区门口 丢了",
    "卖家说活动商品不支持退货",
    "退货寄回去一个多星期了钱还没退给我",
]


def test_hand_written_questions_are_not_training_examples() -> None:
    examples = load_scope_examples()
    assert not set(OUT + IN) & set(examples["out_of_scope"] + examples["in_scope"])


@pytest.mark.parametrize("question", OUT)
def test_out_of_scope_questions_are_declined(searcher, question: str) -> None:
    in_scope, confidence = searcher.is_in_scope(question)
    assert not in_scope
    assert 0.0 <= confidence <= 1.0


@pytest.mark.parametrize("question", IN)
def test_consumer_questions_are_in_scope(searcher, question: str) -> None:
    in_scope, confidence = searcher.is_in_scope(question)
    assert in_scope
    assert 0.0 <= confidence <= 1.0


def test_scope_threshold_was_chosen_out_of_fold() -> None:
    from knowledge.search import load_index

    stats = load_index().scope.stats
    assert stats["oof_in_recall"] >= 0.95
    assert stats["oof_out_rejected"] >= 0.7
