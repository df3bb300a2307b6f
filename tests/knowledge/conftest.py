"""Knowledge-test fixtures: one searcher per session over the cached index (built once if absent)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def searcher():
    from knowledge.search import get_searcher

    return get_searcher("hybrid")
