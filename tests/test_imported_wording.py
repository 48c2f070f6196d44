"""A folder of imported images alone (issue 21, tables and pages that mislead): the datasheet, the card and the
score histograms say the images were imported, not generated with diffusers, and give the imported key pattern."""

from __future__ import annotations

from aigi_files import encoded, write
from conftest import run_cli

from aigi_scd.dataset.contents import read_build
from aigi_scd.dataset.pictures import scores_title


def test_an_import_only_folder_is_described_as_imported(tmp_path):
    closed, out = tmp_path / "closed", tmp_path / "out"
    for n, text in enumerate(["a paper boat in a puddle", "a lighthouse at dusk", "a bowl of ramen"]):
        write(closed / f"{n}.png", encoded(70 + n))
        (closed / f"{n}.txt").write_text(text)
    run_cli("import", closed, "--source", "closed", "--out", out, "--filters", "offline", "--quiet")

    sheet = (out / "DATASHEET.md").read_text()
    assert "keyed `<source>-<prompt id>-<n>`" in sheet and "<prompt id>-<seed>" not in sheet
    assert "An imported instance is one AI-generated image made elsewhere" in sheet
    assert "generated with" not in sheet and "made elsewhere, by software this folder does not record" in sheet
    assert "`generated` counts every image imported" in sheet
    assert "import the images again from their inputs" in sheet and "recorded seeds" not in sheet
    assert "stored as their original files, byte for byte" in sheet and "as the pipeline returned them" not in sheet

    card = (out / "README.md").read_text()
    assert "images kept of 3 imported by 1 source(s)" in card and "generated or imported" not in card

    (source,) = read_build(out).sources
    assert source.imported and scores_title(source) == "closed: filter scores of 3 imported images"
    assert (out / "pictures" / "closed-scores.png").is_file()


def test_a_build_with_a_generated_and_an_imported_source_says_both(tiny_build, tmp_path):
    import shutil

    out = tmp_path / "both"
    shutil.copytree(tiny_build, out)
    closed = tmp_path / "closed"
    write(closed / "a.png", encoded(71))
    (closed / "a.txt").write_text("a paper boat in a puddle")
    run_cli("import", closed, "--source", "closed", "--out", out, "--filters", "offline", "--quiet")
    sheet = (out / "DATASHEET.md").read_text()
    assert "Generated instances are keyed `<source>-<prompt id>-<seed>`" in sheet
    assert "Imported instances are keyed `<source>-<prompt id>-<n>`" in sheet
    titles = {s.name: scores_title(s) for s in read_build(out).sources}
    assert titles["tiny-sdxl"] == "tiny-sdxl: filter scores of 6 generated images"
    assert titles["closed"] == "closed: filter scores of 1 imported images"
