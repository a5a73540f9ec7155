"""The ``paper`` preset end to end on the CPU: synth -> prepare -> train stages 1, 2, 3 -> speak.

The model keeps the paper's layout and sizes (12 RVQ levels of DAC 16 kHz, 12 output heads, no
fine-level completer, a 768-wide 12-block Style-DiT); only what sets the run's speed is overridden
(one ~2 s clip, batch 1, 1 s windows, one step, two sampler steps). The codec is the DAC with
random weights, allowed explicitly here; the same commands without that flag must refuse it.
The real CLI runs in subprocesses, so each step's memory is freed and its stderr is what a user sees.
Slow (~3 min on one CPU thread): the price of checking that the full-size model runs at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors import safe_open

from imagintalk.builders import load_codec
from imagintalk.codec.hf import DacCodec
from imagintalk.data.feature_store import list_clips
from imagintalk.errors import CheckpointError, InputError
from imagintalk.settings import load_config

RANDOM_DAC = ("--set", "codec.allow_random_weights=true")  # tests only: the DAC's output is noise
# speed only, never the layout: batch 1, 1 s windows, a couple of extra MLM text sequences
FAST = tuple(
    arg
    for item in (
        "train.lip.batch_size=1",
        "train.mlm.batch_size=1",
        "train.style.batch_size=1",
        "train.dit.batch_size=1",
        "train.lip.window_frames=25",
        "train.style.window_frames=25",
        "train.dit.window_frames=25",
        "train.mlm_extra_text_sequences=2",
        "train.num_workers=0",
    )  # fmt: skip
    for arg in ("--set", item)
)
CODEC_ERROR = "error: codec 'dac' needs its weights"


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "imagintalk", *args], capture_output=True, text=True, timeout=timeout
    )
    print(f"imagintalk {args[0]}: {time.monotonic() - start:.1f} s, exit {done.returncode}")
    return done


def ok(*args: str) -> subprocess.CompletedProcess:
    done = cli(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def assert_refused(done: subprocess.CompletedProcess) -> None:
    """One line on stderr, exit 3 (CheckpointError), telling how to point at real weights."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == CheckpointError.exit_code, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(CODEC_ERROR), done.stderr[-2000:]
    assert "--codec DIR" in lines[0] and "DAC 16 kHz" in lines[0] and "save_pretrained" in lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """One paper-preset SynthTalk clip, prepared with the random-weight DAC."""
    root = tmp_path_factory.mktemp("paper")
    ok(
        "synth",
        "--out",
        str(root / "data"),
        "--clips",
        "1",
        "--preset",
        "paper",
        "--workers",
        "1",
        "--no-progress",
    )
    ok("prepare", str(root / "data"), "--preset", "paper", "--no-progress", *RANDOM_DAC)
    return root / "data"


@pytest.fixture(scope="module")
def model(data: Path):
    """The three stages, one step each, into one model dir; its checkpoints (~2 GB) removed after."""
    out = data.parent / "model"
    for stage in ("1", "2", "3"):
        train = ("train", "--stage", stage, "--preset", "paper", "--data", str(data), "--out", str(out))
        ok(*train, "--max-steps", "1", "--no-progress", *RANDOM_DAC, *FAST)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_prepared_features_have_the_dac_layout(data: Path) -> None:
    with list_clips(data)[0].open() as handle, np.load(handle) as features:  # packed by the command
        assert str(features["codec_name"]) == "dac" and features["codes"].shape[0] == 12
        assert int(features["codec_num_codebooks"]) == 12 and int(features["codec_cardinality"]) == 1024
        assert features["codes"].shape[1] == 2 * int(features["num_frames"])  # 50 Hz tokens at 25 fps
        assert features["face_crops"].shape[1:] == (96, 96, 3)  # the paper face encoder's input


def test_paper_model_has_the_method_layout_and_speaks(model: Path, data: Path) -> None:
    cfg = json.loads((model / "config.json").read_text())
    assert cfg["preset"] == "paper" and cfg["codec"]["name"] == "dac"
    assert cfg["codec"]["num_codebooks"] == cfg["dit"]["num_codebooks"] == 12  # 12 levels, 12 heads
    assert (cfg["dit"]["hidden_dim"], cfg["dit"]["depth"], cfg["dit"]["num_heads"]) == (768, 12, 12)
    assert not cfg["fine"]["enabled"] and not (model / "fine.safetensors").exists()
    with safe_open(str(model / "dit.safetensors"), "pt") as dit:
        assert dit.get_slice("final_layer.heads.weight").get_shape() == [12 * 1024, 768]
    for run in ("stage1_lip", "stage1_mlm", "stage2", "stage3"):
        log = [
            json.loads(line) for line in (model / "runs" / run / "train_log.jsonl").read_text().splitlines()
        ]
        assert [r["step"] for r in log if r["split"] == "train"] == [1] and np.isfinite(log[0]["loss"])

    video = next((data / "video").glob("*.mp4"))
    wav, summary = data.parent / "speech.wav", data.parent / "speech.json"
    ok("speak", str(video), "-o", str(wav), "--model", str(model), "--steps", "2", "--json", str(summary))
    result = json.loads(summary.read_text())
    samples, rate = sf.read(wav)
    assert rate == 16000 and result["tokens"] == [12, 2 * result["frames"]]
    assert len(samples) == result["frames"] * 640 and np.isfinite(samples).all()
    assert [w["status"] for w in result["windows"]] == ["spoken"]


def test_paper_preset_refuses_a_codec_without_weights(data: Path, tmp_path: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (data / "features").iterdir()}
    assert_refused(cli("prepare", str(data), "--preset", "paper", "--overwrite", "--no-progress"))
    assert {p.name: p.stat().st_mtime_ns for p in (data / "features").iterdir()} == before  # nothing touched
    for stage in ("1", "3"):
        out = tmp_path / f"model{stage}"
        assert_refused(
            cli("train", "--stage", stage, "--preset", "paper", "--data", str(data), "--out", str(out))
        )
        assert not out.exists()
    # a model dir whose config names the DAC without weights: refused before any network loads
    # (this dir holds no weights at all, so loading one would fail differently)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(load_config("paper").to_dict()))
    video = next((data / "video").glob("*.mp4"))
    assert_refused(cli("speak", str(video), "-o", str(tmp_path / "x.wav"), "--model", str(model)))
    assert not (tmp_path / "x.wav").exists()


def test_a_local_codec_dir_satisfies_the_check(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="--codec DIR"):
        load_config("paper").check()
    load_config("paper", overrides=[f"codec.path={tmp_path}"]).check()  # the directory is read later
    load_config("paper", overrides=["codec.allow_random_weights=true"]).check()


def test_a_local_dac_dir_in_save_pretrained_layout_loads_without_the_flag(tmp_path: Path) -> None:
    from transformers import DacConfig, DacModel  # heavy, optional: only where used

    torch.manual_seed(0)
    DacCodec().model.save_pretrained(tmp_path / "dac16")  # the 16 kHz layout (weights: random here)
    codec = load_codec(load_config("paper", overrides=[f"codec.path={tmp_path / 'dac16'}"]))
    assert (codec.name, codec.sample_rate, codec.num_codebooks, codec.cardinality, codec.frame_rate) == (
        "dac", 16000, 12, 1024, 50
    )  # fmt: skip
    # another DAC layout (transformers' default: 9 levels at 31 Hz): refused, saying what it is
    other = DacConfig(n_codebooks=9, encoder_hidden_size=8, decoder_hidden_size=64, hidden_size=64)
    DacModel(other).save_pretrained(tmp_path / "dac_other")
    with pytest.raises(
        CheckpointError,
        match=r"16000 Hz, 9 x 1024 tokens at 31 Hz, but the config asks for 16000 Hz, 12 x 1024 at 50 Hz: "
        r"give a DAC 16 kHz checkpoint",
    ):
        load_codec(load_config("paper", overrides=[f"codec.path={tmp_path / 'dac_other'}"]))


def test_a_fine_level_completer_is_refused_with_the_dac_before_training() -> None:
    asked = ["codec.allow_random_weights=true", "dit.num_codebooks=4", "fine.enabled=true"]
    with pytest.raises(InputError, match=r"code vectors \(world_rvq\), not dac.*dit\.num_codebooks=12"):
        load_config("paper", overrides=asked).check()
    load_config("paper", overrides=asked[:2]).check()  # a coarse DiT alone: decodes its levels only
