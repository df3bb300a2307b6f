"""Curated retrieval data: lay-question expansions, topics and law priors, out-of-scope examples.

All of it is YAML next to the corpus so that lawyers and support staff can extend it without
touching code; `data_fingerprint` keys the index cache on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.corpus import CitationError, load_corpus

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent
EXPANSIONS_DIR = KNOWLEDGE_DIR / "expansions"
TOPICS_FILE = KNOWLEDGE_DIR / "topics.yaml"
SCOPE_FILE = KNOWLEDGE_DIR / "scope_examples.yaml"
VOCABULARY_FILE = KNOWLEDGE_DIR / "vocabulary.yaml"
RELATIONS_FILE = KNOWLEDGE_DIR / "relations.yaml"

Key = tuple[str, int]


def _read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=1)
def load_expansions(directory: Path = EXPANSIONS_DIR) -> dict[Key, tuple[str, ...]]:
    """Lay questions and keywords per article, keyed by canonical (law, article).

    Each file holds `law:` (any alias) and `articles: {number: [phrase, …]}`. Unknown laws or
    article numbers raise CitationError, so the data cannot drift away from the corpus.
    """
    corpus = load_corpus()
    out: dict[Key, list[str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        law = corpus.law_by_name(str(data["law"])).name
        for number, phrases in (data.get("articles") or {}).items():
            article = corpus.get(law, int(number))
            if not phrases:
                continue
            bucket = out.setdefault(article.key, [])
            for phrase in phrases:
                phrase = str(phrase).strip()
                if phrase and phrase not in bucket:
                    bucket.append(phrase)
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class Topic:
    name: str
    label: str
    keywords: tuple[str, ...]
    boost: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicConfig:
    law_priors: dict[str, float]
    default_prior: float
    expanded_prior: float
    topics: tuple[Topic, ...]


@lru_cache(maxsize=1)
def load_topics(path: Path = TOPICS_FILE) -> TopicConfig:
    """Law priors and topic keyword rules (see knowledge/topics.yaml)."""
    data = _read_yaml(path)
    corpus = load_corpus()

    def canon(name: str) -> str:
        return corpus.law_by_name(name).name

    topics = tuple(
        Topic(
            name=name,
            label=str(spec.get("label", name)),
            keywords=tuple(str(k) for k in spec.get("keywords") or ()),
            boost={canon(k): float(v) for k, v in (spec.get("boost") or {}).items()},
        )
        for name, spec in (data.get("topics") or {}).items()
    )
    return TopicConfig(
        law_priors={canon(k): float(v) for k, v in (data.get("law_priors") or {}).items()},
        default_prior=float(data.get("default_prior", 1.0)),
        expanded_prior=float(data.get("expanded_prior", 1.0)),
        topics=topics,
    )


@lru_cache(maxsize=1)
def load_scope_examples(path: Path = SCOPE_FILE) -> dict[str, tuple[str, ...]]:
    """Hand-written out-of-scope (and extra in-scope) questions for the scope classifier."""
    data = _read_yaml(path)
    return {
        "out_of_scope": tuple(str(q) for q in data.get("out_of_scope") or ()),
        "in_scope": tuple(str(q) for q in data.get("in_scope") or ()),
        "domain_terms": tuple(str(q) for q in data.get("domain_terms") or ()),
    }


@lru_cache(maxsize=1)
def load_relations(path: Path = RELATIONS_FILE) -> dict[str, tuple[Key, ...]]:
    """Groups of parallel provisions, each member resolved to a canonical (law, article)."""
    corpus = load_corpus()
    out = {}
    for name, members in (_read_yaml(path).get("groups") or {}).items():
        keys = []
        for member in members:
            law, _, number = str(member).rpartition(":")
            keys.append(corpus.get(law, int(number)).key)
        out[str(name)] = tuple(keys)
    return out


def data_files() -> list[Path]:
    """Every data file whose content shapes the index."""
    return sorted(EXPANSIONS_DIR.glob("*.yaml")) + [
        p for p in (TOPICS_FILE, SCOPE_FILE, VOCABULARY_FILE, RELATIONS_FILE) if p.exists()
    ]


def data_fingerprint() -> str:
    h = hashlib.sha256()
    for path in data_files():
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


__all__ = [
    "CitationError",
    "Key",
    "Topic",
    "TopicConfig",
    "data_files",
    "data_fingerprint",
    "load_expansions",
    "load_relations",
    "load_scope_examples",
    "load_topics",
]
