"""Generation speed: a plain diffusers loop against the build engine, on full-size random-weight models.

    python benchmarks/bench_generate.py --arch sdxl [--images 40] [--plain-images 4] [--batch auto]
    python benchmarks/bench_generate.py --arch pixart
    python benchmarks/bench_generate.py --arch all --tiny          # the tiny offline pipelines, on the CPU

Models: SDXL base 1.0 and PixArt-Σ 1024 built from their published configs (../shared/reference/
architectures.json: UNet / transformer, VAE, scheduler) with random weights, text encoders at their real
sizes (CLIP ViT-L/14 and OpenCLIP bigG; T5-XXL's encoder) over the project's offline tokenizers: nothing is
downloaded. They are saved once into --work and loaded from there by both paths, as a local `repo:` is.

Two paths, timed in one run on the same prompts, calls and device:
- plain: ``Pipeline.from_pretrained(folder, torch_dtype=float16).to(device)``, then one call per prompt
  (batch 1, the pipeline's defaults: PIL output), after one warm-up image;
- engine: ``aigi_scd.build.run.build`` through its real code path (card with the speed settings, batch size
  from free memory or --batch, fused QKV, channels_last, torch.compile with its cache, host worker pool,
  offline filter preset, shard writing) after a warm-up build (compiling, then cached). Sustained: the images
  of every shard after the first over the time between the first and the last shard's stats file.

Each path prints s/image and images/s, the achieved TFLOP/s (the FLOPs of one image counted by torch's
FlopCounterMode over real pipeline calls: text encoders, every denoiser step with CFG, VAE decode) and the
fraction of the floor (the FLOPs at --peak-tflops: default 800 on CUDA as issue 11 takes for an H100, on other
devices a dense matmul measured here).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURES = Path(os.environ.get("AIGI_SCD_SHARED") or REPO.parent / "shared") / "reference" / "architectures.json"
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12, projection_dim=768)
CLIP_BIGG = dict(
    hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32, projection_dim=1280
)
T5_XXL = dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64, relative_attention_num_buckets=32)
PIPELINES = {"sdxl": "StableDiffusionXLPipeline", "pixart": "PixArtSigmaPipeline"}
WARMUP = 16  # engine warm-up images: two shards, so auto batches of up to 16 compile before timing
TINY_CARDS = {"sdxl": "tiny-sdxl", "pixart": "tiny-pixart"}


def full_size_pipeline(arch: str, device: str):
    """A full-size pipeline of `arch` with random weights (fp16), built on `device` from the published configs."""
    import diffusers
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel

    from aigi_scd.pipelines.tiny_builders.components import clip_tokenizer, t5_tokenizer

    spec = json.loads(ARCHITECTURES.read_text())
    torch.manual_seed(0)
    with torch.device(device):
        if arch == "sdxl":
            tokenizer = clip_tokenizer()
            ids = dict(vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=1, pad_token_id=1)
            pipe = diffusers.StableDiffusionXLPipeline(
                vae=diffusers.AutoencoderKL.from_config(spec["sdxl"]["vae"]),
                text_encoder=CLIPTextModel(CLIPTextConfig(**CLIP_L, **ids, hidden_act="quick_gelu")),
                text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_BIGG, **ids, hidden_act="gelu")),
                tokenizer=tokenizer,
                tokenizer_2=tokenizer,
                unet=diffusers.UNet2DConditionModel.from_config(spec["sdxl"]["unet"]),
                scheduler=diffusers.EulerDiscreteScheduler.from_config(spec["sdxl"]["scheduler_euler_discrete"]),
                add_watermarker=False,
            )
        else:
            tokenizer = t5_tokenizer(300)
            t5 = T5Config(vocab_size=len(tokenizer), feed_forward_proj="gated-gelu", is_encoder_decoder=False, **T5_XXL)
            pipe = diffusers.PixArtSigmaPipeline(
                tokenizer=tokenizer,
                text_encoder=T5EncoderModel(t5),
                vae=diffusers.AutoencoderKL.from_config(spec["pixart_sigma"]["vae"]),
                transformer=diffusers.PixArtTransformer2DModel.from_config(spec["pixart_sigma"]["transformer"]),
                scheduler=diffusers.DPMSolverMultistepScheduler(),
            )
    return pipe.to(torch.float16)


def prepare_card(arch: str, work: Path, tiny: bool, device: str, args) -> Path:
    """The card both paths load: a tiny registry card, or a card whose repo is the saved full-size folder."""
    import yaml

    from aigi_scd.pipelines.card import card_paths

    if tiny:
        card = yaml.safe_load(card_paths()[TINY_CARDS[arch]].read_text())
    else:
        folder = work / f"{arch}-random"
        if not (folder / "COMPLETE").is_file():
            print(f"building a full-size random {arch} on {device} and saving it to {folder} ...", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            pipe = full_size_pipeline(arch, device)
            pipe.save_pretrained(folder)
            (folder / "COMPLETE").write_text("ok\n")
            del pipe
            gc.collect()
            torch.cuda.empty_cache() if torch.cuda.is_available() else None
        spec = json.loads(ARCHITECTURES.read_text())["sdxl" if arch == "sdxl" else "pixart_sigma"]["call"]
        card = yaml.safe_load(card_paths()[arch].read_text())
        card.update(name=f"random-{arch}", repo=str(folder), revision=None, variant=None)
        card["call"].update(steps=spec["steps"], guidance=spec["guidance"], width=spec["size"], height=spec["size"])
    card["speed"] = {
        "batch_size": "auto" if args.batch == "auto" else int(args.batch),
        "fuse_qkv": not args.no_fuse,
        "channels_last": not args.no_channels_last,
        "compile": not args.no_compile,
        "cuda_graphs": args.cuda_graphs,
    }
    path = work / f"card-{arch}{'-tiny' if tiny else ''}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def plain_pipeline(card, device: str, dtype):
    """What a user of diffusers writes: from_pretrained, to(device), call."""
    from aigi_scd.pipelines.loading import pipeline_class
    from aigi_scd.weights.tiny import resolve_location

    pipe = pipeline_class(card).from_pretrained(resolve_location(card.repo), torch_dtype=dtype).to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def image_flops(pipe, card, device: str) -> float:
    """FLOPs of one image (CFG as the card calls it): a 1-step and a 2-step call give the fixed part (text
    encoders, VAE decode) and the cost of one step."""
    from torch.utils.flop_counter import FlopCounterMode

    def count(steps: int) -> int:
        kwargs = dict(card.call.extra)
        kwargs.update(
            prompt="a lighthouse on a cliff at dusk",
            num_inference_steps=steps,
            guidance_scale=card.call.guidance,
            width=card.call.width,
            height=card.call.height,
            generator=torch.Generator("cpu").manual_seed(0),
        )
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            pipe(**kwargs)
        return counter.get_total_flops()

    one, two = count(1), count(2)
    return float((one - (two - one)) + card.call.steps * (two - one))


def matmul_tflops(device: str, dtype) -> float:
    """Dense matmul throughput measured here (the floor's peak where none is given)."""
    n = 4096 if device.startswith("cuda") else 1024
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps, t0 = 20, time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_plain(pipe, card, prompts, device: str) -> float:
    def call(text: str, seed: int):
        kwargs = dict(card.call.extra)
        kwargs.update(prompt=text, num_inference_steps=card.call.steps, guidance_scale=card.call.guidance)
        kwargs.update(
            width=card.call.width, height=card.call.height, generator=torch.Generator("cpu").manual_seed(seed)
        )
        return pipe(**kwargs).images[0]

    call(prompts[0].text, 0)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    for i, prompt in enumerate(prompts):
        call(prompt.text, i)
    sync(device)
    return (time.perf_counter() - t0) / len(prompts)


def time_engine(card_path: Path, prompts, warmup, work: Path, device: str, batch: str) -> tuple[float, float, dict]:
    from aigi_scd.build.run import BuildConfig, Runtime, build
    from aigi_scd.filters.preset import load_filter_preset
    from aigi_scd.pipelines.card import load_card_file

    card = load_card_file(card_path)
    runtime = Runtime(device=device, progress=False, batch_size=None if batch == "auto" else int(batch))
    shard = 8

    def run(subset, name):
        out = work / name
        shutil.rmtree(out, ignore_errors=True)
        config = BuildConfig([card], list(subset), "bench", 0, shard_size=shard, filters=load_filter_preset("offline"))
        t0 = time.perf_counter()
        build(config, out, runtime)
        return out, time.perf_counter() - t0

    began = time.perf_counter()
    run(warmup, f"engine-warmup-{card.name}")  # compiles (cached from here on), warms the pool and the allocator
    print(f"  [engine warm-up build, {len(warmup)} images, compile included: {time.perf_counter() - began:.1f} s]")
    out, wall = run(prompts, f"engine-{card.name}")
    print(f"  [engine timed build, {len(prompts)} images, load and compile cache included: {wall:.1f} s]")
    stats = sorted((out / "data" / card.name).glob("*.stats.json"))
    records = [json.loads(p.read_text()) for p in stats]
    times = [p.stat().st_mtime for p in stats]
    sustained_images = sum(r["planned"] for r in records[1:])
    sustained = (times[-1] - times[0]) / sustained_images if sustained_images else wall / len(prompts)
    first = records[0]
    settings = {"batch_size": first["batch_size"], **first["speed"], "sustained_images": sustained_images}
    return sustained, wall / len(prompts), settings


def report(name: str, seconds: float, flops: float, peak: float) -> str:
    floor = flops / (peak * 1e12)
    return (
        f"  {name:<34} {seconds:8.3f} s/image  {1 / seconds:7.2f} images/s  {flops / seconds / 1e12:8.2f} TFLOP/s  "
        f"{floor / seconds:6.1%} of the floor ({floor:.3f} s/image)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["sdxl", "pixart", "all"], default="all")
    parser.add_argument("--tiny", action="store_true", help="the tiny offline pipelines on the CPU (runs anywhere)")
    parser.add_argument("--images", type=int, default=None, help="engine images [40; --tiny 16]; shards of 8")
    parser.add_argument("--plain-images", type=int, default=None, help="plain-loop images, timed [4; --tiny 8]")
    parser.add_argument("--batch", default="auto", help="engine batch size (auto: from free memory)")
    parser.add_argument("--no-fuse", action="store_true")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--cuda-graphs", action="store_true")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the floor's peak [800 on CUDA; measured]")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "aigi-scd-bench-generate")
    args = parser.parse_args()

    from aigi_scd.pipelines.card import load_card_file
    from aigi_scd.prompts.sources import load_prompts
    from aigi_scd.weights.device import pick_device

    device = "cpu" if args.tiny else pick_device("auto")
    if not args.tiny and device == "cpu":
        sys.exit("no GPU here: full-size models on a CPU would take hours; run with --tiny")
    dtype = torch.float32 if device == "cpu" else torch.float16
    images = args.images or (16 if args.tiny else 40)
    plain_images = args.plain_images or (8 if args.tiny else 4)
    args.work.mkdir(parents=True, exist_ok=True)
    prompts = load_prompts("aigi-scd", images + plain_images + WARMUP, 0, progress=False).prompts
    peak = args.peak_tflops or (800.0 if device.startswith("cuda") else matmul_tflops(device, dtype))
    load = os.getloadavg()[0]
    where = torch.cuda.get_device_name() if device.startswith("cuda") else f"CPU, {os.cpu_count()} cores"
    print(f"device: {where}; dtype {str(dtype).removeprefix('torch.')}; floor at {peak:.3g} TFLOP/s; load {load:.1f}")
    for arch in ["sdxl", "pixart"] if args.arch == "all" else [args.arch]:
        card_path = prepare_card(arch, args.work, args.tiny, device, args)
        card = load_card_file(card_path)
        pipe = plain_pipeline(card, device, dtype)
        flops = image_flops(pipe, card, device)
        print(f"  [{arch}: {flops / 1e12:.1f} TFLOP per image counted]", flush=True)
        plain = time_plain(pipe, card, prompts[:plain_images], device)
        print(f"  [{arch}: plain loop {plain:.3f} s/image]", flush=True)
        del pipe
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        sustained, overall, settings = time_engine(
            card_path, prompts[plain_images : plain_images + images], prompts[-WARMUP:], args.work, device, args.batch
        )
        size = f"{card.call.width}x{card.call.height}, {card.call.steps} steps, CFG {card.call.guidance:g}"
        print(f"\n{arch} ({'tiny' if args.tiny else 'full size'}, {size}): {flops / 1e12:.2f} TFLOP per image")
        print(report("plain diffusers loop, batch 1", plain, flops, peak))
        counted = settings.pop("sustained_images") or images
        print(report(f"engine, sustained over {counted} images", sustained, flops, peak))
        print(report("engine, whole build (load included)", overall, flops, peak))
        print(f"  engine settings: {settings}; engine / plain: {plain / sustained:.2f}x")


if __name__ == "__main__":
    main()
