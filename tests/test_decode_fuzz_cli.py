"""`aigi-scd decode` fuzzed from the command line (issue 12 acceptance 4): 1,000 damaged or random files.

The documented outcomes (README, `aigi-scd decode --help`): the image is written and the exit code is 0, or
exactly one line `Error: invalid bitstream at byte N: <reason>` and exit code 1 — nothing else, no traceback,
no file left behind. Files are mutations of valid files of every offline codec (flipped, cut, extended,
spliced bytes; MISC files also re-sealed with a fresh checksum so the parser behind the CRC is reached) and
random bytes; MISC-derived files are decoded with `--codec misc-offline`, the others by sniffing.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli
from forked_cli import run
from PIL import Image
from test_codec_fuzz import reseal, valid_files

FILES = 1000
DOCUMENTED = "Error: invalid bitstream"


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    for _ in range(int(rng.integers(1, 5))):
        if not data:
            break
        kind, at = int(rng.integers(4)), int(rng.integers(len(data)))
        if kind == 0:
            data = data[:at] + bytes([data[at] ^ int(rng.integers(1, 256))]) + data[at + 1 :]
        elif kind == 1:
            data = data[:at]
        elif kind == 2:
            data = data + bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
        else:
            data = data[:at] + bytes([int(rng.integers(256))]) + data[at:]
    return data


def fuzzed_files() -> list[tuple[str, bytes, str | None]]:
    """(name, bytes, --codec or None) × FILES, the same every run."""
    rng = np.random.default_rng(12)
    valid = valid_files()
    kinds = list(valid)
    made = []
    for i in range(FILES):
        if i % 10 == 9:  # random bytes, sometimes behind a MISC magic
            body = bytes(rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8))
            made.append((f"random-{i}", (b"\xa1\x5c" + body) if i % 20 == 19 else body, None))
            continue
        kind = kinds[i % len(kinds)]
        data = mutate(valid[kind], rng)
        if kind == "misc-offline" and rng.random() < 0.5:
            data = reseal(data)
        made.append((f"{kind}-{i}", data, "misc-offline" if kind == "misc-offline" else None))
    return made


@pytest.fixture
def registry_read_once(monkeypatch):
    """The codec registry (codec/*.yaml and the installed plugins), read once for the thousand decodes instead of
    once per decode: it does not change during the test, and reading it is most of a decode's time. Each decode
    still goes the whole real way (sniffing, the registry's listing, the preset, the codec, the one-line error)."""
    import functools

    from aigi_scd.codec import presets, registry

    monkeypatch.setattr(registry, "preset_listing", functools.cache(registry.preset_listing))
    monkeypatch.setattr(presets, "load_codec_preset_file", functools.cache(presets.load_codec_preset_file))


def test_a_thousand_fuzzed_files_through_decode_give_an_image_or_the_one_documented_line(tmp_path, registry_read_once):
    outcomes = {"decoded": 0, "invalid bitstream": 0}
    for name, data, codec in fuzzed_files():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        output = tmp_path / f"{name}.png"
        args = ["decode", path, "-o", output, *(["--codec", codec] if codec else [])]
        result = run_cli(*args, check=False)
        lines = result.output.strip().splitlines()
        if result.exit_code == 0:
            with Image.open(output) as image:
                assert image.mode == "RGB" and image.size[0] > 0, name
            outcomes["decoded"] += 1
        else:
            assert result.exit_code == 1, (name, result.output)
            assert len(lines) == 1 and lines[0].startswith(DOCUMENTED), (name, result.output)
            assert not output.exists(), name
            outcomes["invalid bitstream"] += 1
    assert not list(tmp_path.glob("*.tmp"))
    assert sum(outcomes.values()) == FILES
    assert outcomes["decoded"] > 50 and outcomes["invalid bitstream"] > 500, outcomes  # both outcomes are exercised


@pytest.mark.parametrize("index", [0, 5, 9, 19, 40, 123])
def test_as_a_separate_process_the_exit_code_and_the_line_are_the_same(index, tmp_path):
    name, data, codec = fuzzed_files()[index]
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    args = ["decode", path, "-o", tmp_path / "out.png", *(["--codec", codec] if codec else [])]
    code, output = run(args, tmp_path / "log")
    in_process = run_cli(*args, check=False)
    assert code == in_process.exit_code and code in (0, 1), output
    if code == 1:
        assert output.strip().splitlines() == [in_process.output.strip()] and output.startswith(DOCUMENTED)
