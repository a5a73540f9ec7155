"""``imagintalk train-codec`` and ``imagintalk codec`` end to end, and their one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from imagintalk.cli import main


@pytest.fixture(scope="module")
def debug_codec_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("codec")
    cache = tmp_path_factory.mktemp("corpus")
    rc = main(
        [
            "train-codec",
            "--preset",
            "debug",
            "--out",
            str(out),
            "--no-eval",
            "--set",
            f"codec.train_cache={cache}",
        ]
    )
    assert rc == 0
    return out


def test_train_codec_writes_a_loadable_codec(debug_codec_dir, capsys) -> None:
    cfg = json.loads((debug_codec_dir / "config.json").read_text())
    assert cfg["codec"] == "world_rvq" and cfg["num_codebooks"] == 4 and cfg["cardinality"] == 64
    assert (debug_codec_dir / "codec.safetensors").is_file()


def test_codec_command_round_trip_any_rate_and_channels(debug_codec_dir, tmp_path, capsys) -> None:
    # a 22.05 kHz stereo file: the command mixes to mono and resamples to 16 kHz
    t = np.arange(int(0.8 * 22050)) / 22050
    tone = 0.2 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    sf.write(tmp_path / "in.wav", np.stack([tone, tone], 1), 22050)
    args = [
        "codec",
        str(tmp_path / "in.wav"),
        "-o",
        str(tmp_path / "out.wav"),
        "--codec",
        str(debug_codec_dir),
    ]
    rc = main([*args, "--score"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "K=4 T=40" in printed and "bitrate=1.20 kbps" in printed and "stoi=" in printed
    out, rate = sf.read(tmp_path / "out.wav")
    assert rate == 16000 and out.ndim == 1 and len(out) == 12800


@pytest.mark.parametrize("problem", ["missing", "empty", "garbage", "bad_codec"])
def test_codec_command_errors_are_one_line(problem, debug_codec_dir, tmp_path, capsys) -> None:
    audio = tmp_path / "in.wav"
    codec = str(debug_codec_dir)
    if problem == "empty":
        sf.write(audio, np.zeros(0), 16000)
    elif problem == "garbage":
        audio.write_bytes(b"RIFF nonsense")
    elif problem == "bad_codec":
        sf.write(audio, np.zeros(1600), 16000)
        codec = str(tmp_path)  # a directory without config.json
    rc = main(["codec", str(audio), "-o", str(tmp_path / "out.wav"), "--codec", codec])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and err.startswith("error: ") and "\n" not in err
