"""docs/codecs.md's example codec runs exactly as the page shows it (issue 20 acceptance 2): its Python module, its
preset and its three command lines are taken from the page, written and run in a fresh folder by bash."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import REPO, kodak_dir
from PIL import Image

PAGE = REPO / "docs" / "codecs.md"


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_example_codec_of_docs_codecs_md_runs_as_shown(tmp_path):
    code = [body for lang, body in blocks() if lang == "python" and body.startswith("# my_codecs/toy.py")]
    preset = [body for lang, body in blocks() if lang == "yaml" and body.startswith("# toy.yaml")]
    commands = [body for lang, body in blocks() if lang == "bash" and "--codec toy.yaml" in body]
    assert len(code) == len(preset) == len(commands) == 1
    assert 25 <= len(code[0].splitlines()) <= 40  # "a complete example codec of about 30 lines"
    (tmp_path / "my_codecs").mkdir()
    (tmp_path / "my_codecs" / "toy.py").write_text(code[0])
    (tmp_path / "toy.yaml").write_text(preset[0])
    (tmp_path / "photos").mkdir()
    for name in ("kodim05", "kodim23"):
        crop = Image.open(kodak_dir() / f"{name}.png").convert("RGB").crop((200, 150, 392, 278))
        crop.save(tmp_path / "photos" / f"{name}.png")
    crop.save(tmp_path / "photo.png")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    lines = [line for line in commands[0].splitlines() if line.strip()]
    assert len(lines) == 3
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    size = (tmp_path / "photo.toy").stat().st_size
    assert size * 8 / (192 * 128) <= 0.5
    assert Image.open(tmp_path / "photo.decoded.png").size == (192, 128)
    frame = pd.read_parquet(tmp_path / "out" / "toy" / "benchmark" / "results.parquet")
    toy = frame[(frame["codec"] == "toy") & (frame["status"] == "ok")]
    assert len(toy) >= 2 and (toy["bpp"] <= toy["target_bpp"]).all() and (toy["fixed_bytes"] == 15).all()
    assert "| toy |" in (tmp_path / "out" / "toy" / "benchmark" / "summary.md").read_text()
