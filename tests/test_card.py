"""`aigi-scd card`: the dataset card, the datasheet, the pictures and the benchmark report, rewritten from what is on
disk (issue 13 acceptance 1 and 2), with every number they show recomputed from the shards and results.parquet."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_cli
from numbers_check import check_markdown_page, check_report, read_facts

from aigi_scd.bench.plots import rd_figure
from aigi_scd.bench.report import write_report
from aigi_scd.bench.results import fullest_config, load_results, summarize
from aigi_scd.dataset.card import licence_field
from aigi_scd.dataset.contents import BuildContents, SampleFacts, SourceContents
from aigi_scd.dataset.pictures import pick_samples

PNG = b"\x89PNG"


def test_card_writes_card_datasheet_pictures_plots_and_report(carded):
    out, output = carded
    for name in ("README.md", "DATASHEET.md", "benchmark/report.html", "benchmark/summary.md"):
        assert (out / name).is_file() and f"wrote {out / name}" in output, name
    for model in ("tiny-sdxl", "tiny-pixart"):
        for kind in ("samples", "scores"):
            assert (out / "pictures" / f"{model}-{kind}.png").read_bytes()[:4] == PNG
    metrics = json.loads(next((out / "compressed").glob("*/*.stats.json")).read_text())["metrics"]
    for metric in metrics:
        assert (out / "benchmark" / f"rd_{metric}.png").read_bytes()[:4] == PNG
    card = (out / "README.md").read_text()
    for picture in [*(out / "pictures").glob("*.png"), *(out / "benchmark").glob("rd_*.png")]:
        assert f"]({picture.relative_to(out).as_posix()})" in card  # embedded in the card
    assert "](benchmark/report.html)" in card and "](DATASHEET.md)" in card
    assert not list(out.rglob("*.tmp"))


def test_every_number_is_recomputed_from_the_shards_and_results_parquet(carded):
    out, _ = carded
    facts = read_facts(out)
    card = check_markdown_page(facts, (out / "README.md").read_text())
    sheet = check_markdown_page(facts, (out / "DATASHEET.md").read_text())
    assert card == {"settings", "counts", "category", "style", "size", "filters", "versions", "summary"}
    assert sheet == {"settings", "counts", "category", "style", "size", "filters", "versions"}
    checked = check_report(facts, (out / "benchmark" / "report.html").read_text())
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    assert checked["images"] == frame[["source", "key"]].drop_duplicates().shape[0] == 12  # small sets: every image
    assert checked["versions"] == 12 + len(frame)  # each image's original and every codec × target
    assert checked["tables"] == 6  # tiny-sdxl, tiny-pixart, all-aigi: each codec's images, and those all reached


@pytest.mark.parametrize(
    ("page", "old", "new"),
    [
        ("README.md", "| tiny-sdxl | 6 | 6 | 0 | 100.0% |", "| tiny-sdxl | 6 | 6 | 0 | 99.0% |"),
        ("README.md", "12 images kept of 12 generated", "11 images kept of 12 generated"),
        ("DATASHEET.md", "**Seeds.** 1 image(s)", "**Seeds.** 2 image(s)"),
        ("DATASHEET.md", "Rejected images are kept", "Rejected images (3) are kept"),
    ],
)
def test_the_number_check_catches_a_wrong_or_unchecked_number(carded, page, old, new):
    out, _ = carded
    text = (out / page).read_text()
    assert old in text
    with pytest.raises(AssertionError):
        check_markdown_page(read_facts(out), text.replace(old, new, 1))


def test_every_config_loads_after_the_card_is_rewritten(carded):
    out, _ = carded
    meta = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    names = [c["config_name"] for c in meta["configs"]]
    compressed = sorted(p.name for p in (out / "compressed").iterdir())
    assert names == ["default", "tiny-sdxl", "tiny-pixart", *compressed]
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    for name in names:
        ds = datasets.load_dataset(str(out), name, split="train")
        if name == "default":
            assert ds.num_rows == 12
        elif name.startswith("tiny-"):
            assert ds.num_rows == 6 and {row["json"]["model"] for row in ds} == {name}
        else:
            assert ds.num_rows == int(((frame["config"] == name) & (frame["status"] == "ok")).sum())


def test_no_placeholder_link_and_the_licence_is_the_models(carded):
    out, _ = carded
    for page in ("README.md", "DATASHEET.md", "benchmark/report.html"):
        text = (out / page).read_text()
        assert "https://github.com/)" not in text and "license: other" not in text, page
        for url in re.findall(r"https?://[^\s)\"'<>]+", text):
            assert re.match(r"https://huggingface\.co/\S+/\S+", url), url  # only the models' own pages
    meta = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    cards = {name: yaml.safe_load((REPO / "pipelines" / f"{name}.yaml").read_text()) for name in ("tiny-sdxl",)}
    assert meta["license"] == cards["tiny-sdxl"]["license"] == "apache-2.0"  # both tiny cards say apache-2.0


def _facts(licence: str | None, key: str = "k", category: str | None = None) -> SampleFacts:
    return SampleFacts(
        key, True, category, None, key, 8, 8, 1, 1.0, "float32", "cpu", None, None, licence, False, (), ()
    )


def test_the_licence_field_lists_each_models_licence_and_is_left_out_when_one_is_unknown():
    def build(*licences):
        sources = [SourceContents(f"m{i}", None, [], [_facts(x)]) for i, x in enumerate(licences)]
        return BuildContents(Path("."), {}, sources)

    assert licence_field(build("openrail++").licences()) == {"license": "openrail++"}
    assert licence_field(build("openrail++", "apache-2.0").licences()) == {"license": ["apache-2.0", "openrail++"]}
    assert licence_field(build("openrail++", None).licences()) == {}  # never claim a licence for unknown images


def test_a_contact_sheet_takes_every_category_in_turn():
    samples = [_facts(None, f"a{i}", "animals") for i in range(5)] + [_facts(None, "f0", "food")]
    picked = pick_samples(samples, 3)
    assert [s.key for s in picked] == ["a0", "f0", "a1"]
    assert len(pick_samples(samples, 24)) == 6


def test_a_refiltered_build_with_rejects_gets_a_true_card_datasheet_and_histograms(tiny_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(tiny_build, out)
    scores = [
        f["score"]
        for record in read_facts(out).sources["tiny-sdxl"].kept
        for f in record["filters"]
        if f["name"] == "piqe"
    ]
    threshold = float(np.median(scores))  # half of tiny-sdxl's images fail
    preset = tmp_path / "strict.yaml"
    offline = (REPO / "filters" / "offline.yaml").read_text()
    preset.write_text(offline.replace("threshold: null", f"threshold: {threshold}"))
    (out / "DATASHEET.md").unlink()
    run_cli("filter", out, "--preset", preset, "--quiet")
    facts = read_facts(out)
    assert facts.sources["tiny-sdxl"].rejected and facts.sources["tiny-sdxl"].kept
    check_markdown_page(facts, (out / "README.md").read_text())
    check_markdown_page(facts, (out / "DATASHEET.md").read_text())  # rewritten in place after the swap
    assert (out / "pictures" / "tiny-sdxl-scores.png").read_bytes()[:4] == PNG
    assert "strict" in (out / "README.md").read_text()


def test_the_report_samples_large_sets_and_says_so(carded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(carded[0], out)
    frame, metrics = load_results(out)
    bench = {"results": frame, "metrics": metrics, "summary": summarize(frame, metrics), "codec_order": []}
    path = write_report(out, bench, images_per_set=2)
    html = path.read_text()
    assert html.count("Showing 2 of 6 images, spread evenly over the keys") == 2
    checked = check_report(read_facts(out), html)
    assert checked["images"] == 4


def test_card_on_a_compress_only_folder(natural, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(natural[0], out)
    (out / "benchmark" / "report.html").unlink()
    output = run_cli("card", out).output
    assert f"wrote {out / 'README.md'}" in output and f"wrote {out / 'benchmark' / 'report.html'}" in output
    text = (out / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert "license" not in meta and "https://github.com/" not in text  # the originals' licence is not known here
    checked = check_report(read_facts(out), (out / "benchmark" / "report.html").read_text())
    assert checked["images"] == 3
    html = (out / "benchmark" / "report.html").read_text()
    assert "unreachable: smallest file" in html  # 0.1 bpp is below every full-resolution baseline on these crops


def test_card_refuses_a_folder_it_cannot_describe(tmp_path):
    result = run_cli("card", tmp_path, check=False)
    assert result.exit_code == 1 and "neither an aigi-scd build" in result.output and "Traceback" not in result.output
    result = run_cli("card", tmp_path, "--report-images", 0, check=False)
    assert result.exit_code == 2 and "'--report-images': 0 is not in the range x>=1" in result.output


def _summary(ms_ssim: float, ok: int = 1) -> pd.DataFrame:
    row = {"source_kind": "aigi", "source": "tiny", "codec": "jpeg", "target_bpp": 0.3, "images": 1, "ok": ok}
    row |= {"bpp_mean": 0.29, "ms_ssim_mean": ms_ssim, "ms_ssim_ci95": math.nan}
    return pd.DataFrame([row])


def test_a_plot_with_no_data_says_why_on_the_figure():
    import matplotlib.pyplot as plt

    texts = []
    for summary, side in ((_summary(math.nan), 128.0), (_summary(math.nan, ok=0), 512.0), (_summary(0.9), 128.0)):
        fig = rd_figure(summary, "ms_ssim", smallest_side={"tiny": side})
        texts.append(" ".join(t.get_text() for t in fig.axes[0].texts))
        plt.close(fig)
    too_small, unreached, drawn = texts
    assert "161 px" in too_small and "128 px" in too_small
    assert "no codec reached" in unreached
    assert drawn == ""


def test_the_closing_hint_names_a_config_that_holds_every_image(aigi):
    out, _, output = aigi
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    config = re.search(r'Load a set with: datasets\.load_dataset\([^,]+, "([^"]+)"', output).group(1)
    held = frame[(frame["config"] == config) & (frame["status"] == "ok")]
    assert len(held) == frame[["source", "key"]].drop_duplicates().shape[0] == 12
    assert "all 12 images" in output


def test_fullest_config_prefers_a_complete_set_then_the_codec_order():
    rows = []
    for codec, target, status in [("a", 0.1, "unreachable"), ("a", 0.1, "ok"), ("b", 0.1, "ok"), ("b", 0.1, "ok")]:
        rows.append({"source": "s", "key": f"k{len(rows) % 2}", "codec": codec, "target_bpp": target})
        rows[-1] |= {"config": f"{codec}-{target:g}", "status": status}
    frame = pd.DataFrame(rows)
    assert fullest_config(frame, ["a", "b"]) == ("b-0.1", 2, 2)
    frame.loc[0, "status"] = "ok"
    assert fullest_config(frame, ["b", "a"]) == ("b-0.1", 2, 2) and fullest_config(frame, ["a", "b"])[0] == "a-0.1"
