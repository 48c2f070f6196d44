"""Tokenizers for the tiny offline pipelines, trained here from a bundled corpus.

Real pipelines ship their tokenizers on the hub; the tiny ones cannot download them, so we train
small ones with the `tokenizers` library in the same formats (CLIP byte-level BPE with ``</w>``
word ends; T5 sentencepiece-style unigram) and wrap them in the transformers classes the real
pipelines use. Training is deterministic for a fixed corpus.
"""

from __future__ import annotations

import json
from importlib import resources

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

CLIP_SPECIALS = ["<|startoftext|>", "<|endoftext|>"]


def tiny_corpus() -> list[str]:
    """The bundled English image-description corpus the tiny tokenizers are trained on."""
    text = resources.files("aigi_scd.pipelines").joinpath("tiny_corpus.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def train_clip_tokenizer(vocab_size: int = 1000, model_max_length: int = 77):
    """A CLIPTokenizer (byte-level BPE, lower-cased, ``</w>`` word ends) with `vocab_size` entries."""
    from transformers import CLIPTokenizer

    base = CLIPTokenizer()  # the same normaliser and pre-tokeniser as the real CLIP tokenizer
    backend = Tokenizer(models.BPE(end_of_word_suffix="</w>", continuing_subword_prefix=""))
    backend.normalizer = base.backend_tokenizer.normalizer
    backend.pre_tokenizer = base.backend_tokenizer.pre_tokenizer
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=CLIP_SPECIALS,
        initial_alphabet=alphabet,
        end_of_word_suffix="</w>",
        show_progress=False,
    )
    backend.train_from_iterator(tiny_corpus(), trainer=trainer)
    state = json.loads(backend.to_str())["model"]
    vocab: dict[str, int] = dict(state["vocab"])
    # Every byte must also exist as a word-final symbol, as in CLIP's real vocabulary.
    for char in alphabet:
        vocab.setdefault(char + "</w>", len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def train_t5_tokenizer(vocab_size: int = 600, model_max_length: int = 512):
    """A T5Tokenizer (unigram over sentencepiece-style pieces, 100 sentinel ids) trained on the corpus."""
    from transformers import T5Tokenizer

    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    backend.train_from_iterator(tiny_corpus(), trainer=trainer)
    pieces = [(piece, float(score)) for piece, score in json.loads(backend.to_str())["model"]["vocab"]]
    extra = [(f"<extra_id_{i}>", 0.0) for i in range(99, -1, -1)]
    return T5Tokenizer(vocab=pieces + extra, extra_ids=100, model_max_length=model_max_length)
