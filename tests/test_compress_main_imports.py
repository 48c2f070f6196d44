"""compress's main process hands encoding and scoring to its workers, so it must not carry what they import:
torch (through pyiqa, or webdataset when the tars are written) adds about 640 MB and 2 s to a process that only
plans, collects and writes."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

CHILD = """
import atexit, sys
atexit.register(lambda: print("imported:", sorted(m for m in ("torch", "pyiqa", "webdataset") if m in sys.modules)))
from aigi_scd.cli import main
main(sys.argv[1:])
"""


def test_compress_of_a_folder_scored_by_workers_imports_neither_torch_nor_pyiqa_nor_webdataset(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        grey = Image.linear_gradient("L").resize((48, 40)).rotate(90 * i)
        Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey)).save(images / f"im{i}.png")
    out = tmp_path / "out"
    args = ["compress", "--images", str(images), "--out", str(out), "--codecs", "jpeg,thumb-avif"]
    args += ["--bpp", "2", "--metrics", "psnr,ssim", "--workers", "1", "--device", "cpu", "--quiet"]
    result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "benchmark" / "results.parquet").is_file()
    assert sorted((out / "compressed").glob("*/*.tar")), "the compressed sets' tars were written"
    assert "imported: []" in result.stdout, result.stdout
