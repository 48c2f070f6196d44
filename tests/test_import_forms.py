"""`aigi-scd import` reads every input form, written here in the real formats, and `load_dataset(DIR, source)`
shows each image's prompt, generator and original hash (issue 14, acceptance 1)."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from aigi_files import encoded, picture, source_samples, write
from conftest import run_cli
from PIL import Image

from aigi_scd.codec.image import to_rgb8
from aigi_scd.prompts.spec import prompt_id


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows_by_prompt(out: Path, source: str) -> dict[str, dict]:
    ds = datasets.load_dataset(str(out), source, split="train")
    return {row["json"]["prompt"]["text"]: row for row in ds}


def imported(src: Path, out: Path, source: str, *options: str):
    return run_cli("import", src, "--source", source, "--out", out, "--filters", "offline", "--quiet", *options)


def test_folder_with_txt_and_json_sidecars_keeps_every_original_and_says_which_are_lossy(tmp_path):
    folder = tmp_path / "mj"
    files = {
        "cat.png": encoded(1, "PNG"),
        "dog.jpg": encoded(2, "JPEG", quality=90),
        "sub/owl.webp": encoded(3, "WEBP", quality=80),
        "fox.webp": encoded(4, "WEBP", lossless=True),
    }
    for name, data in files.items():
        write(folder / name, data)
    (folder / "cat.txt").write_text("a cat asleep on a green sofa\n")
    (folder / "sub" / "owl.txt").write_text("an owl on a branch at night")
    (folder / "fox.txt").write_text("a red fox in tall grass")
    dog = {
        "prompt": "a dog running in fresh snow",
        "generator": "midjourney-v6",
        "seed": 7,
        "steps": 50,
        "guidance": 7,
        "sampler": "dpm++",
        "size": "128x96",
        "job_id": "abc-123",
    }
    (folder / "dog.json").write_text(json.dumps(dog))
    rgba = np.dstack([picture(5), np.full((96, 128), 128, np.uint8)])  # half transparent everywhere
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    files["ghost.png"] = write(folder / "ghost.png", buffer.getvalue()).read_bytes()
    (folder / "ghost.json").write_text(json.dumps({"text": "a ghost in a hallway", "objects": ["ghost", "hallway"]}))

    out = tmp_path / "out"
    imported(folder, out, "mj", "--generator", "midjourney-v5")

    rows = rows_by_prompt(out, "mj")
    assert sorted(rows) == sorted(
        [
            "a cat asleep on a green sofa",
            "a dog running in fresh snow",
            "an owl on a branch at night",
            "a red fox in tall grass",
            "a ghost in a hallway",
        ]
    )
    stored = {s["json"]["imported"]["original_name"]: s for s in source_samples(out, "mj").values()}
    for text, row in rows.items():
        meta = row["json"]
        assert row["__key__"] == meta["key"] == f"mj-{prompt_id(text)}-0"
        name = meta["imported"]["original_name"]
        assert meta["imported"]["original_sha256"] == sha(files[name])
        assert meta["imported"]["input"] == str(folder) and meta["imported"]["form"] == "folder"
        assert meta["model"] == "mj" and meta["card"]["repo"] is None and meta["verdict"] == "keep"
        assert meta["sha256"] == sha(stored[name]["image"])
    assert rows["a dog running in fresh snow"]["json"]["imported"]["generator"] == "midjourney-v6"  # its own field
    assert {r["json"]["imported"]["generator"] for t, r in rows.items() if "dog" not in t} == {"midjourney-v5"}

    # Originals are stored byte for byte under their own format; lossy ones are marked.
    for name, ext, lossy, fmt in (
        ("cat.png", "png", False, "PNG"),
        ("dog.jpg", "jpg", True, "JPEG"),
        ("sub/owl.webp", "webp", True, "WEBP"),
        ("fox.webp", "webp", False, "WEBP"),
    ):
        assert stored[name]["ext"] == ext and stored[name]["image"] == files[name]
        info = stored[name]["json"]["imported"]
        assert (info["lossy"], info["original_format"], info["converted"]) == (lossy, fmt, None)
    assert (
        rows["a dog running in fresh snow"]["jpg"].format == "JPEG"
        and rows["a dog running in fresh snow"]["png"] is None
    )

    # Transparency: stored as the PNG of what the codecs see (composited over white), and said so.
    ghost = stored["ghost.png"]
    assert ghost["ext"] == "png" and "transparency" in ghost["json"]["imported"]["converted"]
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(ghost["image"]))), np.asarray(to_rgb8(Image.fromarray(rgba)))
    )
    assert [o["name"] for o in ghost["json"]["prompt"]["objects"]] == ["ghost", "hallway"]

    meta = rows["a dog running in fresh snow"]["json"]
    assert (meta["seed"], meta["generation"]["steps"], meta["generation"]["guidance"]) == (7, 50, 7.0)
    assert (meta["generation"]["width"], meta["generation"]["height"], meta["imported"]["sampler"]) == (
        128,
        96,
        "dpm++",
    )
    assert (meta["width"], meta["height"]) == (128, 96)
    assert json.loads(meta["prompt"]["extra"]) == {"job_id": "abc-123"}

    card = (out / "README.md").read_text()
    assert "Lossy sources: `mj`" in card and "| mj | " in card
    assert datasets.load_dataset(str(out), split="train").num_rows == 5


def diffusiondb_layout(root: Path) -> list[dict]:
    """DiffusionDB 2M as downloaded: images/part-000001/<uuid>.png and metadata.parquet with its 13 columns and
    their types (README, "Metadata Schema"). The last row's part was not downloaded."""
    rows = []
    for i in range(3):
        name = f"{i:08x}-26ea-4303-bbe1-b095853f5360.png"
        write(root / "images" / "part-000001" / name, encoded(10 + i))
        rows.append({"image_name": name, "prompt": f"geodesic landscape {i}, john chamberlain, 4 k", "part_id": 1})
    rows.append({"image_name": "deadbeef-0000-4000-8000-000000000000.png", "prompt": "not downloaded", "part_id": 2})
    for i, row in enumerate(rows):
        row.update(seed=38753269 + i, step=50, cfg=12.0, sampler=8, width=128, height=96)
        row.update(user_name="c2f288a2ba9df65c", image_nsfw=0.08, prompt_nsfw=0.004)
        row["timestamp"] = datetime.datetime(2022, 8, 11, 9, 5, tzinfo=datetime.timezone.utc)
    schema = pa.schema(
        [
            ("image_name", pa.string()),
            ("prompt", pa.string()),
            ("part_id", pa.uint16()),
            ("seed", pa.uint32()),
            ("step", pa.uint16()),
            ("cfg", pa.float32()),
            ("sampler", pa.uint8()),
            ("width", pa.uint16()),
            ("height", pa.uint16()),
            ("user_name", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("image_nsfw", pa.float32()),
            ("prompt_nsfw", pa.float32()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / "metadata.parquet")
    return rows


def test_diffusiondb_metadata_parquet(tmp_path):
    rows = diffusiondb_layout(tmp_path / "diffusiondb")
    out = tmp_path / "out"
    result = imported(
        tmp_path / "diffusiondb" / "metadata.parquet", out, "sd-diffusiondb", "--generator", "sd-1", "--skip-bad-rows"
    )
    assert "metadata.parquet row 4" in result.output and "image file not found" in result.output

    found = rows_by_prompt(out, "sd-diffusiondb")
    assert len(found) == 3
    for row in rows[:3]:
        meta = found[row["prompt"]]["json"]
        data = (tmp_path / "diffusiondb" / "images" / "part-000001" / row["image_name"]).read_bytes()
        assert (
            meta["imported"]["original_sha256"] == sha(data) and meta["imported"]["original_name"] == row["image_name"]
        )
        assert meta["imported"]["generator"] == "sd-1" and meta["imported"]["sampler"] == "k_lms"  # code 8
        assert (meta["seed"], meta["generation"]["steps"], meta["generation"]["guidance"]) == (row["seed"], 50, 12.0)
        assert (meta["generation"]["width"], meta["generation"]["height"]) == (128, 96)
        assert meta["imported"]["lossy"] is False and meta["imported"]["row"] == rows.index(row) + 1
        extra = json.loads(meta["prompt"]["extra"])
        assert extra["user_name"] == "c2f288a2ba9df65c" and extra["part_id"] == 1
        assert extra["timestamp"] == "2022-08-11T09:05:00+00:00" and abs(extra["image_nsfw"] - 0.08) < 1e-6
        assert "image_name" not in extra and "seed" not in extra
    stats = json.loads((out / "data" / "sd-diffusiondb" / "00000.stats.json").read_text())
    assert [b["where"] for b in stats["bad_rows"]] == ["metadata.parquet row 4"]


def test_diffusiondb_part_json(tmp_path):
    root = tmp_path / "part-000001"
    write(root / "f3501e05-aef7-4225-a9e9-f516527408ac.png", encoded(20))
    part = {
        "f3501e05-aef7-4225-a9e9-f516527408ac.png": {
            "p": "geodesic landscape",
            "se": 38753269,
            "c": 12.0,
            "st": 50,
            "sa": "k_lms",
        }
    }
    (root / "part-000001.json").write_text(json.dumps(part))
    out = tmp_path / "out"
    imported(root / "part-000001.json", out, "sd")
    (row,) = rows_by_prompt(out, "sd").values()
    meta = row["json"]
    assert (meta["seed"], meta["generation"]["steps"], meta["generation"]["guidance"]) == (38753269, 50, 12.0)
    assert meta["imported"]["sampler"] == "k_lms" and meta["imported"]["form"] == "diffusiondb-part"
    assert meta["imported"]["generator"] == "sd" and meta["prompt"]["extra"] is None  # every field was used


def test_journeydb_annotation_jsonl(tmp_path):
    train = tmp_path / "JourneyDB" / "data" / "train"
    lines = []
    for i, (style, content) in enumerate(
        ((["oil painting", "warm light"], ["castle", "dragon"]), (["anime"], ["girl"]))
    ):
        path = f"./000/{i:04d}abcd.jpg"
        write(train / "imgs" / path, encoded(30 + i, "JPEG", quality=88))
        lines.append(
            {
                "img_path": path,
                "prompt": f"a {content[0]} in {style[0]} style --ar 4:3 --v 5",
                "Task1": {"Style": style, "Content": content, "Atmosphere": ["epic"], "Others": []},
                "Task2": {"Caption": f"A {content[0]} painted in {style[0]}."},
                "Task3": {"Style Relevant Questions and Answers": [], "Content Relevant Questions and Answers": []},
            }
        )
    manifest = train / "train_anno_realease_repath.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    imported(manifest, out, "midjourney", "--generator", "midjourney-v5", "--images-dir", train / "imgs")

    found = rows_by_prompt(out, "midjourney")
    meta = found[lines[0]["prompt"]]["json"]
    assert meta["prompt"]["style"] == "oil painting, warm light"
    assert [o["name"] for o in meta["prompt"]["objects"]] == ["castle", "dragon"]
    extra = json.loads(meta["prompt"]["extra"])
    assert extra["Task2"] == {"Caption": "A castle painted in oil painting."} and extra["Task1"]["Atmosphere"] == [
        "epic"
    ]
    assert "img_path" not in extra and "prompt" not in extra
    assert meta["imported"]["generator"] == "midjourney-v5" and meta["imported"]["lossy"] is True
    assert meta["imported"]["original_name"] == "000/0000abcd.jpg" and meta["imported"]["row"] == 1
    stored = source_samples(out, "midjourney")[meta["key"]]
    assert stored["ext"] == "jpg" and stored["image"] == (train / "imgs" / "000" / "0000abcd.jpg").read_bytes()

    # JourneyDB's own layout needs no --images-dir: images are looked for under imgs/ beside the annotations.
    again = tmp_path / "again"
    imported(manifest, again, "midjourney")
    assert len(rows_by_prompt(again, "midjourney")) == 2


def test_saved_hf_dataset_and_imagefolder(tmp_path):
    from datasets import Dataset, DatasetDict, Features, Value
    from datasets import Image as ImageFeature

    images = [encoded(40, "PNG"), encoded(41, "JPEG", quality=85)]
    features = Features({"image": ImageFeature(), "prompt": Value("string"), "model": Value("string")})
    data = {
        "image": [{"bytes": b, "path": n} for b, n in zip(images, ["a.png", "b.jpg"], strict=True)],
        "prompt": ["a lighthouse in a storm", "a bowl of ramen"],
        "model": ["dall-e-3", "imagen-3"],
    }
    saved = tmp_path / "saved"
    DatasetDict({"train": Dataset.from_dict(data, features=features)}).save_to_disk(str(saved))
    out = tmp_path / "out"
    imported(saved, out, "closed")
    found = rows_by_prompt(out, "closed")
    lighthouse, ramen = found["a lighthouse in a storm"]["json"], found["a bowl of ramen"]["json"]
    assert (lighthouse["imported"]["generator"], ramen["imported"]["generator"]) == ("dall-e-3", "imagen-3")
    assert lighthouse["imported"]["original_sha256"] == sha(images[0]) and ramen["imported"]["original_sha256"] == sha(
        images[1]
    )
    assert ramen["imported"]["lossy"] is True and ramen["imported"]["form"] == "hf-dataset"
    assert source_samples(out, "closed")[ramen["key"]]["image"] == images[1]

    folder = tmp_path / "imagefolder"
    write(folder / "x.png", encoded(42))
    write(folder / "y.png", encoded(43))
    (folder / "metadata.jsonl").write_text(
        json.dumps({"file_name": "x.png", "prompt": "a snail on a leaf", "seed": 3})
        + "\n"
        + json.dumps({"file_name": "y.png", "caption": "a tram at dusk", "seed": 4})
        + "\n"
    )
    imported(folder, out, "local", "--generator", "flux-pro")
    found = rows_by_prompt(out, "local")
    assert found["a snail on a leaf"]["json"]["imported"]["original_name"] == "x.png"
    assert (
        found["a tram at dusk"]["json"]["seed"] == 4
        and found["a tram at dusk"]["json"]["imported"]["form"] == "imagefolder"
    )
    assert datasets.load_dataset(str(out), split="train").num_rows == 4


def test_originals_are_kept_byte_for_byte_unless_readers_would_disagree():
    from aigi_scd.build.import_originals import read_original, webp_is_lossy
    from aigi_scd.build.import_rows import BadRow

    for fmt, options, lossy in (("PNG", {}, False), ("JPEG", {"quality": 70}, True), ("WEBP", {"quality": 60}, True)):
        data = encoded(50, fmt, **options)
        original = read_original(data)
        assert (original.stored, original.converted, original.lossy, original.format) == (data, None, lossy, fmt)
    assert webp_is_lossy(encoded(50, "WEBP", quality=60)) and not webp_is_lossy(encoded(50, "WEBP", lossless=True))

    bmp = read_original(encoded(51, "BMP"))
    assert bmp.ext == "png" and bmp.converted == "BMP stored as PNG (same pixels)" and bmp.lossy is False
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(bmp.stored))), picture(51))

    deep = io.BytesIO()  # a dark 16-bit greyscale PNG: scaled to 8 bits as the codecs read it, not clipped
    Image.fromarray(picture(52)[:, :, 0].astype(np.uint16) * 257).save(deep, format="PNG")
    converted = read_original(deep.getvalue())
    assert converted.ext == "png" and "scaled to 8 bits" in converted.converted
    assert np.array_equal(converted.pixels[:, :, 0], picture(52)[:, :, 0])

    try:
        read_original(encoded(53, "JPEG")[:300])
    except BadRow as exc:
        assert "does not decode" in str(exc)
    else:
        raise AssertionError("a truncated JPEG was accepted")


def test_parquet_with_image_bytes_and_a_row_limit_that_a_later_run_extends(tmp_path):
    images = [encoded(90 + i, "JPEG", quality=92) for i in range(3)]
    table = pa.table(
        {
            "image": [{"bytes": b, "path": f"{i}.jpg"} for i, b in enumerate(images)],
            "caption": ["a harbour", "a tram", "a kite"],
            "guidance_scale": [3.5, 4.0, 4.5],
        }
    )
    manifest = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(table, manifest)
    out = tmp_path / "out"
    first = imported(manifest, out, "hub", "--limit", "2")
    assert "2 rows" in first.output and "2 kept" in first.output
    second = imported(manifest, out, "hub")
    assert "3 rows, 2 done by an earlier run" in second.output and "1 kept" in second.output
    found = rows_by_prompt(out, "hub")
    assert sorted(found) == ["a harbour", "a kite", "a tram"]
    assert found["a kite"]["json"]["generation"]["guidance"] == 4.5
    assert found["a kite"]["json"]["imported"]["original_name"] == "2.jpg"
    assert found["a kite"]["json"]["imported"]["original_sha256"] == sha(images[2])
