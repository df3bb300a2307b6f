"""Index cache: keyed on content, written atomically, and a second build is skipped."""

from __future__ import annotations

from knowledge.search import index as index_mod


def test_second_build_is_skipped(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ODR_DISABLE_DENSE", "1")  # lexical-only keeps this test to seconds
    first = index_mod.build_index(cache_root=tmp_path)
    assert first.built
    assert (first.path / "meta.json").exists()
    assert first.path.name == index_mod.index_key(dense=False)
    second = index_mod.build_index(cache_root=tmp_path)
    assert not second.built and second.path == first.path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]


def test_key_changes_with_data_and_code(monkeypatch) -> None:
    base = index_mod.index_key(dense=False)
    monkeypatch.setattr(index_mod, "data_fingerprint", lambda: "changed-data")
    assert index_mod.index_key(dense=False) != base
    monkeypatch.undo()
    monkeypatch.setattr(index_mod, "code_version", lambda: "changed-code")
    assert index_mod.index_key(dense=False) != base


def test_loaded_index_matches_current_key(searcher) -> None:
    loaded = index_mod.load_index()
    assert loaded.path.name == index_mod.index_key()
    assert len(loaded.articles) == 1798
