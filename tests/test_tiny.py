"""Tiny offline pipelines: built once with save_pretrained, loaded by the product's own loader."""

from __future__ import annotations

import json

import diffusers
import torch
from transformers import CLIPTokenizer, T5Tokenizer

from aigi_scd.pipelines.card import load_card
from aigi_scd.pipelines.loading import load_pipeline
from aigi_scd.weights.tiny import ensure_tiny


def test_tiny_sdxl_is_a_saved_diffusers_folder(tmp_path):
    folder = ensure_tiny("tiny:sdxl", tmp_path)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionXLPipeline"
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert ensure_tiny("tiny:sdxl", tmp_path) == folder  # built once
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging leftovers
    pipe = diffusers.DiffusionPipeline.from_pretrained(folder)
    assert type(pipe).__name__ == "StableDiffusionXLPipeline"


def test_offline_tokenizers_load_back_as_real_tokenizers(tmp_path):
    sdxl = ensure_tiny("tiny:sdxl", tmp_path)
    clip = CLIPTokenizer.from_pretrained(sdxl / "tokenizer")
    ids = clip("a photograph of a red fox").input_ids
    assert ids[0] == clip.bos_token_id and ids[-1] == clip.eos_token_id
    assert clip.tokenize("A red photograph") == ["a</w>", "red</w>", "photograph</w>"]
    pixart = ensure_tiny("tiny:pixart-sigma", tmp_path)
    t5 = T5Tokenizer.from_pretrained(pixart / "tokenizer")
    assert t5("a red fox").input_ids[-1] == t5.eos_token_id
    assert "<extra_id_0>" in t5.get_vocab()


def test_tiny_cards_load_through_the_product_loader():
    loaded = load_pipeline(load_card("tiny-pixart"), "cpu", torch.float32)
    assert loaded.pipeline_class == "PixArtSigmaPipeline"
    assert loaded.scheduler_class == "DPMSolverMultistepScheduler"
    assert loaded.max_prompt_tokens() == 300
    assert loaded.pipe.transformer.config.sample_size == 32  # the 256-pixel aspect-ratio bins


def test_tokenizer_learning_is_deterministic():
    """Two machines building the tiny pipelines get the same tokenizers, hence the same images."""
    from aigi_scd.codec.misc.tiny_models import _qwen_tokenizer
    from aigi_scd.weights.offline_tokenizers import train_clip_tokenizer, train_t5_tokenizer

    for learn in (train_clip_tokenizer, train_t5_tokenizer, _qwen_tokenizer):
        assert learn().get_vocab() == learn().get_vocab()
