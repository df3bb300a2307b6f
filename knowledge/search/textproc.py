"""Text normalisation, tokenisation and colloquial→legal query expansion.

Consumers type on WeChat (typos, slang, full-width digits); statutes use formal vocabulary.
Both sides go through the same normaliser, and queries additionally get legal terms appended
from `knowledge/vocabulary.yaml`, so lexical matching can bridge the two registers.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent
VOCABULARY_FILE = KNOWLEDGE_DIR / "vocabulary.yaml"

_SPACE_RE = re.compile(r"\s+")
_PUNCT_RE = re.compile(r"[\W_]+", re.UNICODE)

# Function words that carry no retrieval signal on either side.
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 哦 哈 么 是 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 这样 那样 就 都 也 还 又 在 和 与
    及 或 或者 而 但 但是 如果 因为 所以 一个 一下 什么 怎么 怎么办 怎样 如何 可以 能 能不能 可不可以 会 要 想 有 没 没有 不 被
    把 给 让 对 从 到 过 着 上 下 里 说 请问 问 一 个 啥 咋 嗯 呗 啦 哎 诶 么 为 之 其 本 该 应当 应该 等 以 于 由 所 者
    条 款 项 第""".split()
)


@lru_cache(maxsize=1)
def load_vocabulary(path: Path = VOCABULARY_FILE) -> dict:
    """Parsed vocabulary data: `typos` (wrong→right) and `synonyms` (colloquial→legal terms)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("typos", {})
    data.setdefault("synonyms", {})
    data.setdefault("words", [])
    return data


def normalize(text: str) -> str:
    """Normalise user text: NFKC (full-width → half-width), lower case, typo fixes, whitespace.

    Typo fixes apply to user-written text only; statute text goes through `normalize_plain`,
    because a fix such as 过其→过期 would corrupt formal phrases (超过其…).
    """
    text = normalize_plain(text)
    for wrong, right in _typo_items():
        if wrong in text:
            text = text.replace(wrong, right)
    return text


@lru_cache(maxsize=1)
def _typo_items() -> tuple[tuple[str, str], ...]:
    typos = load_vocabulary()["typos"]
    # Longest first so that overlapping entries resolve deterministically.
    return tuple(sorted(((str(k), str(v)) for k, v in typos.items()), key=lambda kv: -len(kv[0])))


@lru_cache(maxsize=1)
def _synonym_items() -> tuple[tuple[str, tuple[str, ...]], ...]:
    syn = load_vocabulary()["synonyms"]
    items = []
    for key, targets in syn.items():
        keys = [k.strip() for k in str(key).split("|") if k.strip()]
        values = tuple(str(t) for t in (targets if isinstance(targets, list) else [targets]))
        for k in keys:
            items.append((normalize_plain(k), values))
    return tuple(sorted(items, key=lambda kv: -len(kv[0])))


def normalize_plain(text: str) -> str:
    """Normalisation without typo fixes (used for vocabulary keys themselves)."""
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


@dataclass(frozen=True)
class Expansion:
    """A query after normalisation, with the legal terms its colloquial words map to."""

    text: str
    terms: tuple[str, ...]
    matched: tuple[str, ...]

    @property
    def expanded_text(self) -> str:
        return self.text + " " + " ".join(self.terms) if self.terms else self.text


def expand_query(query: str) -> Expansion:
    """Normalise a query and collect the legal terms of every colloquial key it contains."""
    text = normalize(query)
    terms: list[str] = []
    matched: list[str] = []
    for key, values in _synonym_items():
        if key and key in text:
            matched.append(key)
            for v in values:
                if v not in terms and v not in text:
                    terms.append(v)
    return Expansion(text=text, terms=tuple(terms), matched=tuple(matched))


class Tokenizer:
    """jieba in search mode with the vocabulary's words added, minus stop words and punctuation."""

    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for word in _dictionary_words():
            self._jieba.add_word(word, freq=2000)

    def tokens(self, text: str) -> list[str]:
        out = []
        for tok in self._jieba.cut_for_search(text):
            tok = tok.strip()
            if not tok or tok in STOPWORDS or _PUNCT_RE.fullmatch(tok):
                continue
            out.append(tok)
        return out


@lru_cache(maxsize=1)
def _dictionary_words() -> tuple[str, ...]:
    vocab = load_vocabulary()
    words: set[str] = set(str(w) for w in vocab["words"])
    for key, values in vocab["synonyms"].items():
        words.update(k.strip() for k in str(key).split("|"))
        words.update(str(v) for v in (values if isinstance(values, list) else [values]))
    words.update(str(v) for v in vocab["typos"].values())
    return tuple(sorted(w for w in (normalize_plain(w) for w in words) if 2 <= len(w) <= 12 and " " not in w))


@lru_cache(maxsize=1)
def get_tokenizer() -> Tokenizer:
    return Tokenizer()


def char_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Character 1..n-grams over the CJK/alphanumeric runs of a text."""
    grams: list[str] = []
    for run in _PUNCT_RE.split(text):
        for n in range(1, n_max + 1):
            grams.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return grams
