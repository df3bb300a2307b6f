"""Every corpus file parses into exactly the number of articles its front matter declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge.corpus import CORPUS_DIR, load_corpus, parse_file

FILES = sorted(p for p in CORPUS_DIR.rglob("*.md") if p.name != "MANIFEST.md")


def _front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---", 2)[1])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS_DIR)))
def test_article_count_matches_front_matter(path: Path) -> None:
    fm = _front_matter(path)
    _, articles = parse_file(path)
    expected = fm.get("article_count") or fm.get("section_count")
    assert expected, f"{path.name} declares no article_count"
    assert len(articles) == int(expected)
    numbers = [a.article for a in articles]
    first = numbers[0]
    assert numbers == list(range(first, first + len(numbers))), "numbering must be consecutive"
    assert all(a.text.strip() for a in articles)


def test_manifest_counts_agree_with_parsed_texts() -> None:
    manifest = (CORPUS_DIR / "MANIFEST.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+\.md)` \|(?:[^|]*\|){5} (\d+)", manifest, flags=re.M)
    assert len(rows) >= 25
    for name, count in rows:
        _, articles = parse_file(CORPUS_DIR / name)
        assert len(articles) == int(count), name


def test_current_corpus_size() -> None:
    corpus = load_corpus()
    assert len(corpus.articles) == 1798
    assert len({a.key for a in corpus.articles}) == len(corpus.articles)
