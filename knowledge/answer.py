"""Answer composer: what the bot says to a legal question.

The answer is assembled, never generated: a plain-language explanation picked from per-topic
templates (knowledge/answer_templates.yaml), then 1–3 articles quoted verbatim from the corpus.
Every quoted citation is resolved through `knowledge.corpus.resolve`, so a citation that is not
in the corpus cannot appear. When retrieval is unsure the answer says so and offers a case or a
human; out-of-scope questions are declined politely.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.corpus import resolve
from knowledge.search import get_searcher
from knowledge.search.hybrid import detect_topics

TEMPLATES_FILE = Path(__file__).resolve().parent / "answer_templates.yaml"

MAX_QUOTES = 3
MAX_QUOTE_CHARS = 900  # total quoted characters before further articles are held back
SECOND_QUOTE_RATIO = 0.6  # a further article is quoted if its score is this close to the best
# When may an answer sound sure? Either a curated lay question matches very closely, or the
# components agree on the best article and the question shares real vocabulary with it. Set on
# the lay questions' own similarity range (correct top hits rarely fall below these), not tuned
# per question.
CLOSE_QUESTION = 0.945
MIN_AGREEMENT = 0.75
MIN_LEXICAL = 15.0
CONFIDENT_SCOPE = 0.6


@dataclass
class Answer:
    text: str
    citations: list[dict] = field(default_factory=list)
    confident: bool = False
    out_of_scope: bool = False
    topic: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


_FOLDED_SPACE = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])")


def _tidy(value):
    """YAML folding joins lines with a space, which Chinese text must not have."""
    if isinstance(value, str):
        return _FOLDED_SPACE.sub("", value).strip()
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=1)
def load_templates(path: Path = TEMPLATES_FILE) -> dict:
    return _tidy(yaml.safe_load(path.read_text(encoding="utf-8")))


def _version_label(version_date: str) -> str:
    try:
        d = date.fromisoformat(version_date)
    except ValueError:
        return version_date or "现行"
    return f"{d.year}年{d.month}月{d.day}日"


def _citation(law: str, article: int) -> dict:
    a = resolve(law, article)  # raises CitationError for anything not in the corpus
    return {"law": a.law, "article": a.article, "citation": a.citation, "text": a.text,
            "version_date": a.version_date}


def _pick_topic(question: str, topic: str | None, best_law: str | None, templates: dict) -> str:
    topics = templates["topics"]
    if topic in topics:
        return topic
    for name in detect_topics(question):
        if name in topics:
            return name
    return templates.get("law_topics", {}).get(best_law, "general")


def compose_answer(question: str, topic: str | None = None) -> Answer:
    """Compose the chat answer for a consumer's legal question (see module docstring)."""
    templates = load_templates()
    phrases = templates["phrases"]
    searcher = get_searcher("hybrid")
    in_scope, scope_conf = searcher.is_in_scope(question)
    if not in_scope:
        return Answer(text=phrases["out_of_scope"].strip(), confident=scope_conf >= CONFIDENT_SCOPE,
                      out_of_scope=True)

    hits, signals = searcher.search_with_signals(question, k=5)
    best = hits[0].score if hits else 0.0
    sure_match = signals["question_similarity"] >= CLOSE_QUESTION or (
        signals["agreement"] >= MIN_AGREEMENT and signals["lexical"] >= MIN_LEXICAL
    )
    confident = bool(hits) and sure_match and scope_conf >= CONFIDENT_SCOPE

    limit = MAX_QUOTES if confident else MAX_QUOTES - 1
    chosen = [h for i, h in enumerate(hits) if i == 0 or h.score >= SECOND_QUOTE_RATIO * best][:limit]
    citations, used = [], 0
    for h in chosen:
        c = _citation(h.law, h.article)
        if citations and used + len(c["text"]) > MAX_QUOTE_CHARS:
            continue
        citations.append(c)
        used += len(c["text"])
    quoted = {(c["law"], c["article"]) for c in citations}
    held_back = [resolve(h.law, h.article).citation for h in hits if (h.law, h.article) not in quoted]

    name = _pick_topic(question, topic, hits[0].law if hits else None, templates)
    spec = templates["topics"][name]
    parts = []
    if confident:
        parts.append(phrases["intro"].format(title=spec["title"]) + spec["explanation"].strip())
    else:
        parts.append(phrases["unsure"].strip())
    if citations:
        parts.append(phrases["basis"] if confident else phrases["maybe_basis"])
        for c in citations:
            parts.append(phrases["quote"].format(citation=c["citation"], version=_version_label(c["version_date"]),
                                                 text=c["text"]))
    if confident:
        if held_back:
            parts.append(phrases["more"].format(citations="、".join(held_back)))
        parts.append(phrases["confident_tail"].strip())
    return Answer(text="\n\n".join(parts), citations=citations, confident=confident, out_of_scope=False,
                  topic=name)
