"""CLIPScore alignment through a transformers CLIP model named in a preset: a tiny random-weight CLIP built
offline and saved with save_pretrained, loaded back with from_pretrained exactly as a hub model would be."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_filters_technical import candidate, kodak

from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.prompts import PromptSource, PromptSpec
from aigi_scd.weights.offline_tokenizers import train_clip_tokenizer


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = train_clip_tokenizer()
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_attention_heads=4)
    text.update(num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2)
    vision.update(image_size=32, patch_size=8)
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    path = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(path)
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(path)
    return path


def prompted_images():
    texts = ["a red barn in a field", "a bowl of fruit on a table", "a city street at night", "a dog on a beach"]
    cands = []
    for i in range(8):
        c = candidate(np.array(kodak(i)[::4, ::4]), f"img{i}")
        c.prompt = PromptSpec(texts[i % 4], PromptSource("test"))
        cands.append(c)
    return cands


def direct_clipscores(path, cands) -> list[float]:
    """2.5·max(cos, 0) from CLIPModel's own forward: logits_per_image / logit_scale is the cosine."""
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(path).eval(), CLIPProcessor.from_pretrained(path)
    scores = []
    with torch.no_grad():
        for c in cands:
            inputs = processor(text=[f"A photo depicts {c.prompt.text}"], images=[c.pixels], return_tensors="pt")
            out = model(**inputs)
            cos = float(out.logits_per_image[0, 0] / model.logit_scale.exp())
            scores.append(2.5 * max(cos, 0.0))
    return scores


def test_transformers_clipscore_rejects_exactly_the_images_below_threshold(tiny_clip, tmp_path):
    cands = prompted_images()
    direct = direct_clipscores(tiny_clip, cands)
    assert all(0.0 <= s <= 2.5 for s in direct) and len(set(direct)) > 1
    threshold = float(np.median(direct))
    preset = tmp_path / "align.yaml"
    preset.write_text(
        f"filters:\n  - type: decodable\n  - {{type: clipscore, model: {tiny_clip}, threshold: {threshold}}}\n"
    )
    chain = load_filter_preset(str(preset))
    chain.prepare("cpu")
    chain.score(cands[:3])
    chain.score(cands[3:])
    for c, expected in zip(cands, direct, strict=True):
        result = c.results[-1]
        assert result.name == "clipscore" and result.score == pytest.approx(expected, abs=1e-5)
        assert result.passed is (expected >= threshold)
        if not result.passed:
            assert result.reason.startswith("off-prompt: CLIPScore")


def test_an_unloadable_clip_model_names_itself_and_the_offline_preset(tmp_path):
    from aigi_scd.errors import ConfigError, ModelUnavailableError

    def chain_for(model):
        preset = tmp_path / "align.yaml"
        preset.write_text(f"filters:\n  - type: decodable\n  - {{type: clipscore, model: {model}}}\n")
        return load_filter_preset(str(preset))

    empty = tmp_path / "empty"  # a folder without the model's files, as a half-copied cache would be
    empty.mkdir()
    with pytest.raises(ModelUnavailableError) as info:
        chain_for(empty).prepare("cpu")
    assert f"CLIP model '{empty}'" in str(info.value) and "--filters offline" in str(info.value)
    with pytest.raises(ConfigError, match="neither a local folder nor a hub id"):
        chain_for(tmp_path / "missing").prepare("cpu")
