"""Statute search for lay questions: BM25, character TF-IDF, dense e5 and their hybrid.

Public entry points: `get_searcher(method)` → object with `.search(query, k)` → list[Hit] and
`.is_in_scope(query)` → (bool, confidence); `build_index()` to build or confirm the cache.
"""

from knowledge.search.base import Hit, Searcher
from knowledge.search.index import METHODS, build_index, get_searcher, load_index

__all__ = ["METHODS", "Hit", "Searcher", "build_index", "get_searcher", "load_index"]
