"""A real card with no network: one clear line naming the repo and the ways forward (acceptance 5)."""

from __future__ import annotations

from conftest import run_subprocess

# An endpoint nothing listens on: the hub is unreachable whether or not this machine has a network.
NO_HUB = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2"}


def test_real_card_without_network_fails_with_one_clear_message(tmp_path):
    out = tmp_path / "x"
    result = run_subprocess("build", "--models", "sdxl", "--out", out, env=NO_HUB, timeout=300)
    assert result.returncode != 0
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.stdout
    assert "stabilityai/stable-diffusion-xl-base-1.0" in err
    assert "connect" in err and "local folder" in err and "tiny-sdxl" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert not (out / "data").exists()  # refused before any work was written


def test_missing_model_is_found_before_earlier_models_run(tmp_path):
    """tiny-sdxl comes first, but sdxl's missing weights stop the build before it generates anything."""
    out = tmp_path / "x"
    result = run_subprocess("build", "--models", "tiny-sdxl,sdxl", "--out", out, env=NO_HUB, timeout=300)
    assert result.returncode != 0 and "stabilityai/stable-diffusion-xl-base-1.0" in result.stderr
    assert not list(out.rglob("*.tar"))


def test_local_folder_that_is_not_a_pipeline(tmp_path):
    card = tmp_path / "mine.yaml"
    card.write_text(f"name: mine\nrepo: {tmp_path}\ncall: {{steps: 2, guidance: 1, width: 64, height: 64}}\n")
    result = run_subprocess("build", "--models", card, "--out", tmp_path / "o", env=NO_HUB, timeout=300)
    assert result.returncode != 0 and "no model_index.json" in result.stderr
