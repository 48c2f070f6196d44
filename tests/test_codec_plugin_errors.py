"""Bad codec plugins and bad results made elsewhere (issue 20 acceptance 4): each is one `Error:` line naming the
problem and the fix, and a compress that stops on one leaves what an earlier run wrote as it was.

The catalogue of tests/test_bad_inputs.py, continued for codec plugins (that file holds the other commands)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from PIL import Image

CASES = []


def case(name: str, expected: str):
    def register(make):
        CASES.append(pytest.param(make, expected, id=name))
        return make

    return register


def image(path: Path, size=(64, 48)) -> Path:
    pixels = (np.random.default_rng(0).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def preset(t: Path, text: str) -> Path:
    path = t / "plugin.yaml"
    path.write_text(text)
    return path


def command(t: Path, encode: str, decode: str = '["sh", "-c", "cp \\"$1\\" \\"$2\\"", "sh", "{input}", "{output}"]',
            extra: str = "") -> Path:  # fmt: skip
    return preset(t, f"name: cmd\nkind: command\noptions:\n  encode: {encode}\n  decode: {decode}\n{extra}")


def encode_with(t: Path, codec: Path | str) -> list:
    return ["encode", image(t / "in.png"), "-o", t / "out.bin", "--codec", codec, "--bpp", "8"]


def compress_with(t: Path, codec: Path | str) -> list:
    folder = t / "imgs"
    folder.mkdir(exist_ok=True)
    image(folder / "a.png")
    return ["compress", "--images", folder, "--codecs", codec, "--bpp", "8", "--metrics", "psnr", "--out", t / "o"]


@case("plugin-missing-module", "no module named 'aigi_scd_no_such_module'; install the package")
def _(t, request):
    return encode_with(t, preset(t, "name: p\nkind: python\nclass: aigi_scd_no_such_module:Codec\n"))


@case("plugin-missing-class", "module json has no 'NoSuchCodec'; its classes: JSONDecodeError, JSONDecoder")
def _(t, request):
    return encode_with(t, preset(t, "name: p\nkind: python\nclass: json:NoSuchCodec\n"))


@case("plugin-not-module-colon-class", "is not module:Class")
def _(t, request):
    return encode_with(t, preset(t, "name: p\nkind: python\nclass: json.JSONDecoder\n"))


@case("plugin-entry-point-fails-to-import", "importing aigi_scd_test_plugin.broken failed: No module named")
def _(t, request):
    request.getfixturevalue("plugin_site")
    return encode_with(t, "broken-plugin")


@case("plugin-options-do-not-fit", "options do not fit toyplugins.toy:ToyCodec")
def _(t, request):
    work = request.getfixturevalue("workdir")
    text = (work / "toy.yaml").read_text().replace("{factor: 4}", "{factr: 4}")
    return encode_with(t, preset(t, text))


@case("command-missing", "the encode program 'aigi-scd-no-such-program' is not installed or not on PATH; install it")
def _(t, request):
    return compress_with(t, command(t, '[aigi-scd-no-such-program, "{input}", "{output}"]'))


@case("command-exits-nonzero", "the encode command exited with status 3: it broke (sh -c")
def _(t, request):
    return compress_with(t, command(t, '["sh", "-c", "echo it broke >&2; exit 3", "sh", "{input}", "{output}"]'))


@case("command-times-out", "the encode command did not finish within 0.5 s (sh -c 'sleep 5'")
def _(t, request):
    return compress_with(
        t, command(t, '["sh", "-c", "sleep 5", "sh", "{input}", "{output}"]', extra="  timeout: 0.5\n")
    )


@case("command-writes-nothing", "the encode command exited 0 but wrote nothing to {output}")
def _(t, request):
    return compress_with(t, command(t, '["sh", "-c", "true", "sh", "{input}", "{output}"]'))


@case("command-writes-an-undecodable-file", "the decoder's output is not a readable PNG image")
def _(t, request):
    return compress_with(t, command(t, '["sh", "-c", "echo garbage > \\"$2\\"", "sh", "{input}", "{output}"]'))


@case("command-unknown-placeholder", "encode has an unknown placeholder 'qualty'")
def _(t, request):
    return encode_with(t, command(t, '[cjxl, "{input}", "{output}", -q, "{qualty}"]'))


def results(t: Path, keys=("imgs-a",), size=(64, 48), recon: bytes | None = None) -> Path:
    folder = t / "made-elsewhere" / "8"
    folder.mkdir(parents=True)
    for key in keys:
        (folder / f"{key}.bin").write_bytes(b"\x01" * 100)
        if recon is None:
            image(folder / f"{key}.png", size)
        else:
            (folder / f"{key}.png").write_bytes(recon)
    return t / "made-elsewhere"


def compress_results(t: Path, folder: Path, images=("a",)) -> list:
    source = t / "imgs"
    source.mkdir(exist_ok=True)
    for name in images:
        image(source / f"{name}.png")
    return ["compress", "--images", source, "--results", folder, "--metrics", "psnr", "--out", t / "o"]


@case("results-missing-keys", "no bitstream for 1 of set imgs's 2 keys (imgs-b); add them")
def _(t, request):
    return compress_results(t, results(t, ["imgs-a"]), ("a", "b"))


@case("results-extra-keys", "files for keys no set has (imgs-zzz); name files by the set's keys")
def _(t, request):
    return compress_results(t, results(t, ["imgs-a", "imgs-zzz"]))


@case("results-wrong-size", "imgs-a.png is 32x32, but the original imgs-a is 64x48; give the reconstruction at")
def _(t, request):
    return compress_results(t, results(t, size=(32, 32)))


@case("results-unreadable-reconstruction", "imgs-a.png cannot be read as an image; write the reconstruction as a PNG")
def _(t, request):
    return compress_results(t, results(t, recon=b"not a png"))


@case("results-no-target-folders", "has no target folders; put each target's files in a folder named by its bpp")
def _(t, request):
    (t / "empty-results").mkdir()
    return compress_results(t, t / "empty-results")


@case("results-names-no-key", "no file is named by a key of the sets (imgs)")
def _(t, request):
    return compress_results(t, results(t, []))


@pytest.mark.parametrize("make, expected", CASES)
def test_bad_plugin_gets_one_clear_line_and_a_nonzero_exit(make, expected, tmp_path, request):
    args = make(tmp_path, request)
    result = run_cli(*args, check=False)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "a bug in aigi-scd" not in result.output
    assert len(errors) == 1, result.output
    assert expected in errors[0], errors[0]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_a_compress_stopped_by_a_bad_codec_or_bad_results_leaves_earlier_work_as_it_was(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    image(folder / "a.png")
    out = tmp_path / "o"
    run_cli("compress", "--images", folder, "--codecs", "thumb-webp", "--bpp", "8", "--metrics", "psnr", "--out", out)
    before = _digest(out)
    bad = command(tmp_path, '["sh", "-c", "exit 1", "sh", "{input}", "{output}"]')
    for extra in (["--codecs", f"thumb-webp,{bad}"], ["--results", results(tmp_path, ["imgs-a", "imgs-zzz"])]):
        args = ["compress", "--images", folder, *extra, "--bpp", "8", "--metrics", "psnr", "--out", out]
        assert run_cli(*args, check=False).exit_code == 1
        assert _digest(out) == before


def test_a_plugin_that_raises_while_encoding_fails_its_row_not_the_run(tmp_path, monkeypatch):
    (tmp_path / "flaky.py").write_text(
        "from PIL import Image\n"
        "class Flaky:\n"
        "    qualities = [1, 2]\n"
        "    def encode_at(self, image, quality):\n"
        "        if image.size != (64, 64):\n"
        "            raise RuntimeError('cannot encode this one')\n"
        "        return b'x' * quality\n"
        "    def decode(self, data):\n"
        "        return Image.new('RGB', (64, 64))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = preset(tmp_path, "name: flaky\nkind: python\nclass: flaky:Flaky\n")
    args = compress_with(tmp_path, spec) + ["--workers", "0"]
    output = run_cli(*args).output
    assert "0 reconstructed, 0 unreachable, 1 errors" in output
    assert "codec 'flaky': its encode_at raised RuntimeError: cannot encode this one" in output


def test_the_catalogue_covers_every_bad_input_of_the_issue():
    names = {c.id for c in CASES}
    for needed in ("plugin-missing-module", "plugin-missing-class", "plugin-entry-point-fails-to-import",
                   "command-missing", "command-exits-nonzero", "command-times-out", "command-writes-nothing",
                   "command-writes-an-undecodable-file", "results-missing-keys", "results-extra-keys",
                   "results-wrong-size", "results-unreadable-reconstruction"):  # fmt: skip
        assert needed in names
    assert (REPO / "tests" / "test_bad_inputs.py").is_file()


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    import sys

    from test_codec_plugins import install_plugin

    site = install_plugin(tmp_path_factory.mktemp("plugin"))
    yield site
    sys.path.remove(str(site))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toyplugins").mkdir()
    (folder / "toyplugins" / "__init__.py").write_text("")
    from test_codec_plugins import docs_block

    (folder / "toyplugins" / "toy.py").write_text(docs_block("my_codecs/toy.py"))
    (folder / "toy.yaml").write_text(docs_block("toy.yaml").replace("my_codecs.toy", "toyplugins.toy"))
    import sys

    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    shutil.rmtree(folder, ignore_errors=True)
