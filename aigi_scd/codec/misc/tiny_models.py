"""Tiny random-weight models for MISC's model-backed layers, built offline (see aigi_scd.weights.tiny).

``tiny:qwen2.5-vl`` is a Qwen2.5-VL model and processor (byte-level BPE tokenizer trained on the
bundled corpus, Qwen's special tokens, Qwen2.5-VL's published chat template, the Qwen2-VL image and
video processors);
``tiny:clipseg`` is a CLIPSeg model and processor. Same classes as the real models, so the codec
loads them with the same ``from_pretrained`` code; their outputs are meaningless (random weights).
"""

from __future__ import annotations

from aigi_scd.weights.offline_tokenizers import train_byte_level_bpe, train_clip_tokenizer
from aigi_scd.weights.tiny import seeded

QWEN_SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# The chat template Qwen publishes with Qwen2.5-VL (chat_template.json of Qwen/Qwen2.5-VL-3B/7B/72B-Instruct):
# a default system turn, images as <|vision_start|><|image_pad|><|vision_end|>, optional "Picture N:" labels.
# The tiny model carries it unchanged, so tests render the prompt the real model reads.
QWEN25_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class _ModelAndProcessor:
    """Saves a model and its processor into one folder, as hub repos hold them."""

    def __init__(self, model, processor):
        self.model, self.processor = model, processor

    def save_pretrained(self, folder) -> None:
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)


def _qwen_tokenizer():
    from transformers import Qwen2Tokenizer

    vocab, merges = train_byte_level_bpe(
        ['{"description": "", "objects": [{"name": "", "detail": "", "bbox_2d": [0, 0, 1, 1]}]}']
    )
    for token in QWEN_SPECIALS:
        vocab.setdefault(token, len(vocab))
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN_SPECIALS[1:]})
    return tokenizer


def build_qwen25_vl():
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _qwen_tokenizer()
    pixels = {
        "min_pixels": 28 * 28 * 4,
        "max_pixels": 28 * 28 * 16,
        "patch_size": 14,
        "merge_size": 2,
        "temporal_patch_size": 2,
    }
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**pixels),
        chat_template=QWEN25_VL_CHAT_TEMPLATE,
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in QWEN_SPECIALS}
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 2048,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [1],
            "window_size": 112,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    seeded(0)
    return _ModelAndProcessor(Qwen2_5_VLForConditionalGeneration(config), processor)


def build_clipseg():
    from transformers import CLIPSegConfig, CLIPSegForImageSegmentation, CLIPSegProcessor, ViTImageProcessor

    tokenizer = train_clip_tokenizer()
    image_processor = ViTImageProcessor(
        size={"height": 64, "width": 64}, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]
    )
    config = CLIPSegConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 77,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 64,
            "patch_size": 16,
        },
        projection_dim=32,
        reduce_dim=16,
        extract_layers=[0, 1],
        decoder_num_attention_heads=2,
        decoder_intermediate_size=32,
        conditional_layer=0,
    )
    seeded(0)
    model = CLIPSegForImageSegmentation(config)
    return _ModelAndProcessor(model, CLIPSegProcessor(image_processor=image_processor, tokenizer=tokenizer))
