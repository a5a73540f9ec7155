"""``imagintalk prepare`` reports every skipped clip by kind (issue 18): one planted bad clip of each
kind next to good SynthTalk clips, prepared with a debug codec through the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_data import _cli

from imagintalk.codec.train import train_world_rvq
from imagintalk.data.extract import (
    CLIPPED_AUDIO,
    LENGTH_MISMATCH,
    NO_FACE,
    SEVERAL_FACES,
    SILENT_AUDIO,
    TOO_SHORT,
    UNREADABLE,
    check_audio,
    skip_kind,
)
from imagintalk.data.feature_store import list_clips
from imagintalk.manifest import read_manifest, write_manifest
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.video.io import iter_frames, write_video

GOOD = 2
PLANTED = {  # clip id -> the kind it must be reported under
    "bad_noface": NO_FACE,
    "bad_twofaces": SEVERAL_FACES,
    "bad_silent": SILENT_AUDIO,
    "bad_clipped": CLIPPED_AUDIO,
    "bad_length": LENGTH_MISMATCH,
    "bad_short": TOO_SHORT,
    "bad_unreadable": UNREADABLE,
}


def _plant(data_dir: Path, good: dict) -> list[dict]:
    """The bad clips of PLANTED, made from the good clip ``good``; returns their manifest entries."""
    rng = np.random.default_rng(0)
    wav, rate = sf.read(str(data_dir / good["audio"]), dtype="float32")
    frames = [f for f, _ in iter_frames(data_dir / good["video"], color="rgb")]
    h, w = frames[0].shape[:2]
    video, audio = data_dir / "video", data_dir / "audio"
    write_video(video / "noface.mp4", [rng.integers(0, 256, (h, w, 3), np.uint8) for _ in frames])
    write_video(video / "twofaces.mp4", [np.concatenate([f, f], axis=1) for f in frames])
    write_video(video / "short.mp4", frames[:5])  # 0.2 s, under video.min_duration_s
    (video / "unreadable.mp4").write_bytes(rng.integers(0, 256, 4096, np.uint8).tobytes())
    sf.write(audio / "silent.wav", np.zeros_like(wav), rate)
    sf.write(audio / "clipped.wav", np.clip(wav * 50, -1, 1), rate)
    sf.write(audio / "long.wav", np.concatenate([wav, wav, wav]), rate)  # 3x the video's length
    own = {
        "bad_noface": ("video/noface.mp4", good["audio"]),
        "bad_twofaces": ("video/twofaces.mp4", good["audio"]),
        "bad_silent": (good["video"], "audio/silent.wav"),
        "bad_clipped": (good["video"], "audio/clipped.wav"),
        "bad_length": (good["video"], "audio/long.wav"),
        "bad_short": ("video/short.mp4", good["audio"]),
        "bad_unreadable": ("video/unreadable.mp4", good["audio"]),
    }
    return [{**good, "id": cid, "video": v, "audio": a} for cid, (v, a) in own.items()]


@pytest.fixture(scope="module")
def skipped(tmp_path_factory) -> tuple[Path, str]:
    """(data dir, the command's output) after ``imagintalk prepare`` on GOOD clips + PLANTED."""
    root = tmp_path_factory.mktemp("skips")
    cfg = load_config("debug")
    data_dir = root / "data"
    generate_corpus(data_dir, GOOD, seed=0, split="train", cfg=cfg.synth, workers=1, progress=False)
    entries = read_manifest(data_dir / "manifest.jsonl")
    write_manifest(data_dir / "manifest.jsonl", [*entries, *_plant(data_dir, entries[0])])
    cfg.codec.train_cache = str(root / "codec_corpus")
    codec_dir = root / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec_dir)
    return data_dir, str(codec_dir)


@pytest.fixture(scope="module")
def report_and_output(skipped) -> tuple[dict, str]:
    import contextlib
    import io

    data_dir, codec_dir = skipped
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert _cli(str(data_dir), "--codec", codec_dir) == 0
    report = json.loads((data_dir / "features" / "prepare_report.json").read_text())
    return report, out.getvalue()


def test_each_planted_clip_is_reported_under_its_kind(report_and_output) -> None:
    report, _ = report_and_output
    kinds = {cid: skip_kind(error) for cid, error in report["failures"].items()}
    assert kinds == PLANTED, report["failures"]
    expected: dict[str, int] = {}
    for kind in PLANTED.values():
        expected[kind] = expected.get(kind, 0) + 1
    assert report["skipped_by_reason"] == expected
    assert report["failed"] == len(PLANTED)


def test_the_good_clips_are_prepared(report_and_output, skipped) -> None:
    data_dir, _ = skipped
    report, _ = report_and_output
    assert report["prepared"] == GOOD
    names = [ref.clip_id for ref in list_clips(data_dir)]  # packed by the command
    assert names == [f"train_{i:05d}" for i in range(GOOD)]


def test_the_command_prints_one_line_per_kind_with_the_ids(report_and_output) -> None:
    _, output = report_and_output
    assert f"{GOOD} prepared" in output and f"{len(PLANTED)} failed" in output
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("skipped ")]
    assert len(lines) == len(set(PLANTED.values()))
    for cid, kind in PLANTED.items():
        assert any(line.startswith(f"skipped 1 ({kind}): ") and cid in line for line in lines), (kind, lines)


def test_synthtalk_audio_passes_the_audio_checks(skipped) -> None:
    """Leading / trailing silence and a length equal to the video's pass; each check can fail."""
    data_dir, _ = skipped
    good = [e for e in read_manifest(data_dir / "manifest.jsonl") if e["id"] not in PLANTED]
    assert len(good) == GOOD
    for entry in good:
        wav, rate = sf.read(str(data_dir / entry["audio"]), dtype="float32")
        check_audio(wav, rate, entry["num_frames"] / 25)
    with pytest.raises(Exception, match=f"^{LENGTH_MISMATCH}: audio 3.10 s, video 2.00 s"):
        check_audio(np.full(3100, 0.1, np.float32), 1000, 2.0)
    check_audio(np.full(2190, 0.1, np.float32), 1000, 2.0)  # within 0.2 s
    with pytest.raises(Exception, match=f"^{SILENT_AUDIO}: "):
        check_audio(np.full(2000, 1e-4, np.float32), 1000, 2.0)
    with pytest.raises(Exception, match=f"^{CLIPPED_AUDIO}: "):
        check_audio(np.where(np.arange(2000) % 50 == 0, 1.0, 0.1).astype(np.float32), 1000, 2.0)
    assert skip_kind("RuntimeError: boom") == "other" and skip_kind(f"{NO_FACE}: x") == NO_FACE
