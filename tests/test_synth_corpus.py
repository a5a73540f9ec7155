"""SynthTalk end to end: files, determinism, command errors, and dlib on the rendered faces."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from imagintalk.commands import synth as synth_command
from imagintalk.errors import InputError
from imagintalk.settings import preset
from imagintalk.synth.clip import render_clip
from imagintalk.synth.corpus import generate_corpus
from imagintalk.synth.media import read_video, read_wav

EXPECTED_KEYS = {
    "id", "split", "video", "audio", "text", "speaker", "emotion", "fps", "sample_rate", "num_frames",
    "duration", "phonemes", "words", "speaker_params", "emotion_params", "seed",
}  # fmt: skip
EXPRESSIVE_KEYS = {"emphasis", "contour", "pauses", "prosody_cues", "face_cues"}  # the default since issue 21


@pytest.fixture(scope="module")
def cfg():
    return preset("debug").synth


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, cfg):
    out = tmp_path_factory.mktemp("synth")
    return out, generate_corpus(out, 3, seed=4, split="test", cfg=cfg, workers=1, progress=False)


def test_files_and_manifest(corpus, cfg):
    out, manifest = corpus
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [r["id"] for r in records] == ["test_00000", "test_00001", "test_00002"]
    for record in records:
        assert set(record) == EXPECTED_KEYS | (EXPRESSIVE_KEYS if cfg.expressive else set())
        audio, rate = read_wav(out / record["audio"])
        assert rate == 16000 and len(audio) == record["num_frames"] * 640
        frames = read_video(out / record["video"])
        assert frames.shape == (record["num_frames"], cfg.image_size, cfg.image_size, 3)
        assert record["duration"] == pytest.approx(record["num_frames"] / 25)
        assert len(record["emotion_params"]["intensity_curve"]) == record["num_frames"]


def test_same_seed_same_bytes_whatever_the_worker_count(corpus, tmp_path, cfg):
    out, manifest = corpus
    again = generate_corpus(tmp_path, 3, seed=4, split="test", cfg=cfg, workers=2, progress=False)
    assert again.read_bytes() == manifest.read_bytes()
    for name in ("test_00000", "test_00002"):
        assert (tmp_path / "audio" / f"{name}.wav").read_bytes() == (
            out / "audio" / f"{name}.wav"
        ).read_bytes()
        assert np.array_equal(
            read_video(tmp_path / "video" / f"{name}.mp4"), read_video(out / "video" / f"{name}.mp4")
        )
    # another split into the same directory is merged, sorted, and rerunning changes nothing
    generate_corpus(tmp_path, 1, seed=4, split="val", cfg=cfg, workers=1, progress=False)
    ids = [json.loads(line)["id"] for line in again.read_text().splitlines()]
    assert ids == ["test_00000", "test_00001", "test_00002", "val_00000"]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    synth_command.register(parser.add_subparsers())
    args = parser.parse_args(["synth", *argv])
    return args.func(args)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--clips", "0"], "at least 1"),
        (["--clips", "2", "--split", "dev"], "unknown split"),
        (["--clips", "2", "--out", "FILE"], "not a directory"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    argv = [str(a_file) if a == "FILE" else a for a in argv]
    if "--out" not in argv:
        argv = ["--out", str(tmp_path / "out"), *argv]
    with pytest.raises(InputError, match=message) as info:
        _run(["--preset", "debug", *argv])
    assert "\n" not in str(info.value)


def test_command_prints_a_summary(tmp_path, capsys):
    assert _run(["--out", str(tmp_path), "--clips", "1", "--preset", "debug", "--no-progress"]) == 0
    line = capsys.readouterr().out
    assert "1 clips" in line and "speakers" in line and "emotions" in line


OPEN_VOWELS = {"a", "A:", "aI", "aU", "V", "a#", "A@"}
CLOSURES = {"p", "b", "m"}


def test_dlib_finds_the_faces_and_follows_the_mouth(tmp_path, cfg):
    from imagintalk.synth.quality import DlibFaces, mouth_correlation

    faces = DlibFaces()
    frames_seen = detected = 0
    gap_open, gap_closed, correlations = [], [], []
    for index in range(3):
        record, mouth = render_clip(tmp_path, 9, "train", index, cfg)
        check = faces.check(read_video(tmp_path / record["video"]))
        frames_seen += check.frames
        detected += check.detected
        correlations.append(mouth_correlation(mouth[:, 0], check.lip_gap))
        for i, gap in enumerate(check.lip_gap):
            t = i / 25
            phone = next(p["phoneme"] for p in record["phonemes"] if p["start"] <= t < p["end"])
            if phone in OPEN_VOWELS:
                gap_open.append(gap)
            elif phone in CLOSURES:
                gap_closed.append(gap)
    assert detected / frames_seen >= 0.98
    assert gap_open and gap_closed
    assert np.nanmean(gap_open) > 2 * np.nanmean(gap_closed)
    assert np.nanmean(correlations) > 0.6
