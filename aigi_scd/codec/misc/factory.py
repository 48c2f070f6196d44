"""Assemble a MiscCodec from a preset's semantic, maps, pixel and decoder sections."""

from __future__ import annotations

from aigi_scd.codec.misc.codec import MiscCodec
from aigi_scd.codec.misc.decoders import ResizeDecoder
from aigi_scd.codec.misc.describe import NoSemantics, PromptSemantics
from aigi_scd.codec.misc.pixel import PixelOptions
from aigi_scd.codec.misc.regions import BoxRegions, NoRegions
from aigi_scd.codec.presets import CodecPreset, DecoderConfig, MapsConfig, PixelConfig, SemanticConfig
from aigi_scd.errors import ConfigError


def _need_model(preset: CodecPreset, section: str, model: str | None) -> str:
    if not model:
        raise ConfigError(f"{preset.source}: {section}.model is required for this backend")
    return model


def _ladder(preset: CodecPreset, pixel: PixelConfig) -> tuple[int, ...] | None:
    """The CompressAI rungs the pixel layer searches (`quality`: one; `qualities`: several; neither: all)."""
    if pixel.backend != "compressai":
        if pixel.model or pixel.quality is not None or pixel.qualities:
            raise ConfigError(f"{preset.source}: pixel.model/quality/qualities apply to backend compressai only")
        return None
    _need_model(preset, "pixel", pixel.model)
    if pixel.quality is not None and pixel.qualities:
        raise ConfigError(f"{preset.source}: give pixel.quality (one rung) or pixel.qualities (a ladder), not both")
    if pixel.quality is not None:
        return (pixel.quality,)
    return tuple(pixel.qualities) if pixel.qualities else None


def build_misc(preset: CodecPreset) -> MiscCodec:
    semantic_cfg = preset.semantic or SemanticConfig()
    maps_cfg = preset.maps or MapsConfig()
    pixel_cfg = preset.pixel or PixelConfig()
    decoder_cfg = preset.decoder or DecoderConfig()

    if semantic_cfg.backend == "none":
        semantic = NoSemantics()
    elif semantic_cfg.backend == "prompt":
        semantic = PromptSemantics()
    else:
        from aigi_scd.codec.misc.vlm import VlmSemantics

        semantic = VlmSemantics(_need_model(preset, "semantic", semantic_cfg.model), semantic_cfg)

    if maps_cfg.backend == "none":
        regions = NoRegions()
    elif maps_cfg.backend == "boxes":
        regions = BoxRegions(maps_cfg.grid)
    else:
        from aigi_scd.codec.misc.clipseg import ClipSegRegions

        regions = ClipSegRegions(_need_model(preset, "maps", maps_cfg.model), maps_cfg)

    if decoder_cfg.backend == "resize":
        decoder = ResizeDecoder()
    else:
        from aigi_scd.codec.misc.diffusion_decoder import DiffusionDecoder

        decoder = DiffusionDecoder(_need_model(preset, "decoder", decoder_cfg.model), decoder_cfg)

    pixel = PixelOptions(
        speed=pixel_cfg.speed,
        search_speed=pixel_cfg.search_speed,
        scales=tuple(pixel_cfg.scales),
        finalists=pixel_cfg.finalists,
        min_fill=pixel_cfg.min_fill,
        backend=pixel_cfg.backend,
        model=pixel_cfg.model,
        qualities=_ladder(preset, pixel_cfg),
        pretrained=pixel_cfg.pretrained,
        checkpoint=pixel_cfg.checkpoint,
        seed=pixel_cfg.seed,
    )
    return MiscCodec(
        name=preset.name,
        codec_id=preset.id,
        semantic=semantic,
        regions=regions,
        decoder=decoder,
        pixel=pixel,
        default_bpp=preset.default_bpp or 0.03,
        grid=maps_cfg.grid,
    )
