"""The statute corpus: Markdown files with YAML front matter, parsed into one passage per article.

Every citation the assistant shows is resolved through this module, so a citation that is not in
the corpus cannot be rendered (see `resolve`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cn2an
import yaml

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
LAWS_FILE = Path(__file__).resolve().parent / "laws.yaml"

_ARTICLE_RE = re.compile(r"^第([一二三四五六七八九十百千零〇两]+)条(?:[\s\u3000]+|$)(.*)$")
_SECTION_RE = re.compile(r"^([一二三四五六七八九十]+)、(.*)$")
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class CitationError(LookupError):
    """A citation names a law or article that is not in the corpus."""


@dataclass(frozen=True)
class Law:
    doc_id: str
    name: str
    title: str
    kind: str
    status: str
    promulgated: str
    effective: str
    version_date: str
    superseded: bool
    aliases: tuple[str, ...] = ()
    front_matter: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Article:
    law: str
    article: int
    text: str
    chapter: str
    doc_id: str
    version_date: str

    @property
    def label(self) -> str:
        return article_label(self.article)

    @property
    def citation(self) -> str:
        return f"《{self.law}》{self.label}"

    @property
    def key(self) -> tuple[str, int]:
        return (self.law, self.article)


def article_label(number: int) -> str:
    """Render an article number the way the texts do: 108 -> 第一百零八条."""
    return f"第{cn2an.an2cn(number)}条"


def parse_article_number(cn: str) -> int:
    return int(cn2an.cn2an(cn, "smart"))


def _split_front_matter(raw: str) -> tuple[dict, str]:
    if not raw.startswith("---"):
        return {}, raw
    _, fm, body = raw.split("---", 2)
    return yaml.safe_load(fm) or {}, body


def _version_date(fm: dict) -> str:
    dates = [str(fm.get("promulgated", ""))]
    for entry in fm.get("amended") or []:
        dates.append(str(entry))
    found = [m.group(1) for d in dates for m in [_DATE_RE.search(d)] if m]
    return max(found) if found else ""


def _law_table() -> dict:
    return yaml.safe_load(LAWS_FILE.read_text(encoding="utf-8"))


def parse_file(path: Path, law_name: str | None = None) -> tuple[Law, list[Article]]:
    """Parse one corpus file into its Law record and articles in order."""
    fm, body = _split_front_matter(path.read_text(encoding="utf-8"))
    doc_id = path.stem
    table = _law_table().get(doc_id, {})
    superseded = path.parent.name == "superseded"
    name = law_name or table.get("name") or str(fm.get("title", doc_id)).removeprefix("中华人民共和国")
    law = Law(
        doc_id=doc_id,
        name=name,
        title=str(fm.get("title", name)),
        kind=str(fm.get("kind", "")),
        status=str(fm.get("status", "")),
        promulgated=str(fm.get("promulgated", "")),
        effective=str(fm.get("effective", "")),
        version_date=_version_date(fm),
        superseded=superseded,
        aliases=tuple(table.get("aliases", ())),
        front_matter=fm,
    )
    numbered_sections = fm.get("kind") == "normative_document"
    articles: list[Article] = []
    chapter_parts: dict[int, str] = {}
    current: list[str] | None = None
    current_no = 0

    def flush() -> None:
        if current is not None:
            chapter = " ".join(chapter_parts[k] for k in sorted(chapter_parts))
            articles.append(
                Article(name, current_no, "\n".join(current).strip(), chapter, doc_id, law.version_date)
            )

    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if level == 1:
                continue
            heading = line.lstrip("#").strip()
            for k in [k for k in chapter_parts if k >= level]:
                del chapter_parts[k]
            chapter_parts[level] = heading
            continue
        m = _ARTICLE_RE.match(line) if not numbered_sections else _SECTION_RE.match(line)
        if m:
            number = parse_article_number(m.group(1))
            if not articles and current is None or number == current_no + 1:
                flush()
                current, current_no = [line], number
                continue
        if current is not None:
            if numbered_sections and not m and articles and len(current) and _is_trailer(line):
                continue
            current.append(line)
    flush()
    if numbered_sections and articles:
        # Strip the signature block that follows the last section.
        last = articles[-1]
        kept = [p for p in last.text.split("\n") if not _is_trailer(p)]
        articles[-1] = Article(last.law, last.article, "\n".join(kept), last.chapter, doc_id, last.version_date)
    return law, articles


def _is_trailer(line: str) -> bool:
    return line in {"工商总局"} or bool(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", line))


@dataclass(frozen=True, eq=False)
class Corpus:
    laws: dict[str, Law]
    articles: tuple[Article, ...]

    @property
    def by_key(self) -> dict[tuple[str, int], Article]:
        return _index(self)

    def law_by_name(self, name: str) -> Law:
        law = _alias_index(self).get(_norm_name(name))
        if law is None:
            raise CitationError(f"语料库中没有《{name}》")
        return law

    def get(self, law: str, article: int) -> Article:
        """Resolve a citation (any alias of the law) to its verbatim article, or raise."""
        name = self.law_by_name(law).name
        try:
            return self.by_key[(name, int(article))]
        except KeyError:
            raise CitationError(f"《{name}》没有{article_label(int(article))}") from None

    def for_law(self, law: str) -> list[Article]:
        name = self.law_by_name(law).name
        return [a for a in self.articles if a.law == name]


def _norm_name(name: str) -> str:
    return name.strip().strip("《》").removeprefix("中华人民共和国")


@lru_cache(maxsize=4)
def _index(corpus: Corpus) -> dict[tuple[str, int], Article]:
    return {a.key: a for a in corpus.articles}


@lru_cache(maxsize=4)
def _alias_index(corpus: Corpus) -> dict[str, Law]:
    out: dict[str, Law] = {}
    for law in corpus.laws.values():
        for n in (law.name, law.title, *law.aliases):
            out.setdefault(_norm_name(n), law)
    return out


@lru_cache(maxsize=2)
def load_corpus(directory: Path = CORPUS_DIR) -> Corpus:
    """Load the current (non-superseded) texts: the set the assistant indexes and cites."""
    laws: dict[str, Law] = {}
    articles: list[Article] = []
    for path in sorted(directory.glob("*.md")):
        if path.name == "MANIFEST.md":
            continue
        law, arts = parse_file(path)
        laws[law.name] = law
        articles.extend(arts)
    return Corpus(laws=laws, articles=tuple(articles))


def load_superseded(directory: Path = CORPUS_DIR / "superseded") -> Corpus:
    """Superseded texts, for reference only: never indexed and never cited to users."""
    laws: dict[str, Law] = {}
    articles: list[Article] = []
    for path in sorted(directory.glob("*.md")):
        law, arts = parse_file(path, law_name=None)
        laws[law.name] = law
        articles.extend(arts)
    return Corpus(laws=laws, articles=tuple(articles))


def resolve(law: str, article: int) -> Article:
    """Resolve a citation against the current corpus; raises CitationError if it does not exist."""
    return load_corpus().get(law, article)


def corpus_fingerprint(directory: Path = CORPUS_DIR) -> str:
    """Content hash of the corpus and the law table, used to key cached indexes."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.md")) + [LAWS_FILE]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
