"""Tokenizers for the tiny offline models, learned here from a bundled corpus.

Real pipelines ship their tokenizers on the hub; the tiny ones cannot download them, so we learn
small ones in the same formats (CLIP byte-level BPE with ``</w>`` word ends; T5 sentencepiece-style
unigram; Qwen byte-level BPE) and wrap them in the transformers classes the real models use.

The merges are learned by a few lines of plain BPE here rather than with ``tokenizers``' trainers:
those break ties between equally frequent pairs in hash-map order, so two runs on the same corpus
give different vocabularies — and tiny pipelines built on two machines would then generate different
images from the same seed. Here ties go to the lexicographically smallest pair: same corpus, same
tokenizer, everywhere.
"""

from __future__ import annotations

import math
from collections import Counter
from importlib import resources

CLIP_SPECIALS = ["<|startoftext|>", "<|endoftext|>"]


def tiny_corpus() -> list[str]:
    """The bundled corpus the tiny tokenizers learn from: 30 hand-written image descriptions, a fixed
    snapshot of 400 prompts from the aigi-scd generator and the starter suite's prompts, so that
    typical prompts fit the tiny CLIP's 77 tokens (longest of 3,000 generated: 60)."""
    text = resources.files("aigi_scd.weights").joinpath("tiny_corpus.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def learn_bpe(words: Counter, num_merges: int) -> tuple[list[tuple[str, str]], Counter]:
    """Merges of byte-pair encoding over `words` (symbol tuple → count), most frequent pair first,
    ties to the smallest pair; also returns the final segmentation (symbol tuple → count).

    Pair counts are updated incrementally: a merge only revisits the words that hold the pair.
    """
    segmented = [list(symbols) for symbols in words]
    counts = list(words.values())
    pairs: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for index, symbols in enumerate(segmented):
        for pair in zip(symbols, symbols[1:], strict=False):
            pairs[pair] += counts[index]
            where.setdefault(pair, set()).add(index)
    merges: list[tuple[str, str]] = []
    for _ in range(num_merges):
        live = [pair for pair, n in pairs.items() if n >= 2]
        if not live:
            break
        best = min(live, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        joined = best[0] + best[1]
        for index in sorted(where.pop(best, ())):
            symbols, count = segmented[index], counts[index]
            for pair in zip(symbols, symbols[1:], strict=False):  # forget this word's old pairs
                pairs[pair] -= count
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(joined)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            segmented[index] = merged
            for pair in zip(merged, merged[1:], strict=False):  # and count its new ones
                pairs[pair] += count
                where.setdefault(pair, set()).add(index)
        pairs = Counter({pair: n for pair, n in pairs.items() if n > 0})
    final: Counter = Counter()
    for symbols, count in zip(segmented, counts, strict=True):
        final[tuple(symbols)] += count
    return merges, final


def _byte_level_words(pre_tokenizer, texts: list[str]) -> Counter:
    words: Counter = Counter()
    for text in texts:
        for piece, _ in pre_tokenizer.pre_tokenize_str(text):
            words[piece] += 1
    return words


def train_clip_tokenizer(num_merges: int = 4000, model_max_length: int = 77):
    """A CLIPTokenizer (byte-level BPE, lower-cased, ``</w>`` word ends) learned from the corpus."""
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    base = CLIPTokenizer()  # the same normaliser and pre-tokeniser as the real CLIP tokenizer
    normalizer, pre_tokenizer = base.backend_tokenizer.normalizer, base.backend_tokenizer.pre_tokenizer
    counts = _byte_level_words(pre_tokenizer, [normalizer.normalize_str(t) for t in tiny_corpus()])
    words = Counter({tuple(w[:-1]) + (w[-1] + "</w>",): c for w, c in counts.items()})
    merges, _ = learn_bpe(words, num_merges)
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    # Specials first, so the tiny configs can name them 0 (start) and 1 (end, also padding).
    tokens = CLIP_SPECIALS + alphabet + [ch + "</w>" for ch in alphabet] + [a + b for a, b in merges]
    vocab: dict[str, int] = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def train_t5_tokenizer(num_merges: int = 4000, model_max_length: int = 512):
    """A T5Tokenizer (unigram over sentencepiece-style ``▁`` pieces, 100 sentinel ids) from the corpus.

    Pieces are the corpus's characters and its BPE merges; each scores the log of its frequency in the
    corpus's final segmentation, as a unigram model trained on it would roughly assign.
    """
    from tokenizers import normalizers, pre_tokenizers
    from transformers import T5Tokenizer

    pre = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    normalizer = normalizers.NFKC()
    counts = _byte_level_words(pre, [normalizer.normalize_str(t) for t in tiny_corpus()])
    merges, segmented = learn_bpe(Counter({tuple(w): c for w, c in counts.items()}), num_merges)
    frequency: Counter = Counter()
    for symbols, count in segmented.items():
        for symbol in symbols:
            frequency[symbol] += count
    pieces = sorted({ch for word in counts for ch in word} | {a + b for a, b in merges})
    total = sum(frequency.values()) + len(pieces)
    scored = [(piece, math.log((frequency[piece] + 1) / total)) for piece in pieces]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + sorted(scored, key=lambda ps: (-ps[1], ps[0]))
    extra = [(f"<extra_id_{i}>", 0.0) for i in range(99, -1, -1)]
    return T5Tokenizer(vocab=vocab + extra, extra_ids=100, model_max_length=model_max_length)


def train_byte_level_bpe(
    extra_texts: list[str], num_merges: int = 4000
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges of a GPT-2-style byte-level BPE (as Qwen's) learned from the corpus."""
    from tokenizers import pre_tokenizers

    pre = pre_tokenizers.ByteLevel(add_prefix_space=False)
    counts = _byte_level_words(pre, tiny_corpus() + extra_texts)
    merges, _ = learn_bpe(Counter({tuple(w): c for w, c in counts.items()}), num_merges)
    vocab: dict[str, int] = {}
    for token in sorted(pre_tokenizers.ByteLevel.alphabet()) + [a + b for a, b in merges]:
        vocab.setdefault(token, len(vocab))
    return vocab, merges
