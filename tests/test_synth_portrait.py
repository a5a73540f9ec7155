"""The second SynthTalk face renderer ("portrait"), --speaker, and the renderer setting."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import pytest

from imagintalk.commands import synth as synth_command
from imagintalk.errors import InputError
from imagintalk.settings import load_config, preset
from imagintalk.synth.clip import render_clip, render_frames, sample_clip
from imagintalk.synth.corpus import generate_corpus
from imagintalk.synth.emotions import EXPRESSION
from imagintalk.synth.portrait import portrait_style
from imagintalk.synth.portrait_render import render_portrait_frame
from imagintalk.synth.portrait_scene import sample_portrait_scene
from imagintalk.synth.speakers import speaker_params
from imagintalk.synth.speech import Speech

CLOSED = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
OPEN_TEETH = [1.0, 0.2, 0.0, 1.0, 0.4, 0.0]
OPEN_NO_TEETH = [1.0, 0.2, 0.0, 0.0, 0.4, 0.0]


@pytest.fixture(scope="module")
def cfg():
    return preset("debug").synth


def _speech(num_frames: int = 20) -> Speech:
    """A hand-made timeline (no espeak): silence, /b a m a/, silence."""
    marks = [("_", 0.0, 0.2), ("b", 0.2, 0.28), ("a", 0.28, 0.46), ("m", 0.46, 0.54), ("a", 0.54, 0.7)]
    phonemes = [{"phoneme": p, "start": s, "end": e} for p, s, e in marks]
    phonemes.append({"phoneme": "_", "start": 0.7, "end": num_frames / 25})
    return Speech(np.zeros(num_frames * 640, np.int16), num_frames, phonemes, [])


def _frame(cfg, mouth: list[float], size: int = 128) -> np.ndarray:
    """One portrait frame with a fixed scene, camera noise off and a mild JPEG."""
    scene = sample_portrait_scene(np.random.default_rng(0), 1, 25, size)
    scene.camera.noise, scene.camera.jpeg, scene.camera.defocus = 0.0, (95, 95), 0.3
    style = portrait_style(speaker_params(6, cfg))
    return render_portrait_frame(
        style, scene, 0, np.array(mouth), EXPRESSION["neutral"], np.random.default_rng(1)
    ).astype(int)


def test_portrait_draws_other_pixels_than_the_cartoon(cfg):
    small = replace(cfg, image_size=96)
    spec, _ = sample_clip(2, "test", 0, small)
    speech = _speech()
    frames = {}
    for name in ("cartoon", "portrait"):
        _, rng = sample_clip(2, "test", 0, replace(small, renderer=name))
        frames[name], mouth, _ = render_frames(spec, speech, rng, replace(small, renderer=name))
        assert frames[name].shape == (speech.num_frames, 96, 96, 3)
    difference = np.abs(frames["cartoon"].astype(int) - frames["portrait"]).mean()
    assert difference > 20
    # the same portrait clip twice: the same pixels (everything random comes from the clip's generator)
    _, rng = sample_clip(2, "test", 0, replace(small, renderer="portrait"))
    again, _, _ = render_frames(spec, speech, rng, replace(small, renderer="portrait"))
    assert np.array_equal(again, frames["portrait"])


def test_the_mouth_region_follows_the_open_parameter(cfg):
    closed, opened = _frame(cfg, CLOSED), _frame(cfg, OPEN_TEETH)
    changed = np.abs(opened - closed).sum(2) > 30
    ys, xs = np.nonzero(changed)
    assert len(ys) > 150  # a visible opening at 128 px
    # the change sits low in the middle of the face (the mouth), not all over the frame
    assert 0.55 < ys.mean() / 128 < 0.85 and 0.4 < xs.mean() / 128 < 0.7
    assert ys.max() - ys.min() < 0.35 * 128
    # without teeth an open mouth is mostly dark cavity (and tongue)
    darker = closed.mean(2) - _frame(cfg, OPEN_NO_TEETH).mean(2)
    assert (darker > 12).sum() > 60


def test_teeth_show_in_an_open_mouth(cfg):
    closed, teeth, no_teeth = (_frame(cfg, m) for m in (CLOSED, OPEN_TEETH, OPEN_NO_TEETH))
    mouth = np.abs(teeth - closed).sum(2) > 30

    def whitish(frame: np.ndarray) -> int:  # bright, nearly grey pixels in the mouth
        low, high = frame.min(2), frame.max(2)
        return int(((low > 0.75 * high) & (frame.mean(2) > 90) & mouth).sum())

    assert whitish(teeth) >= 20
    assert whitish(teeth) > 4 * whitish(no_teeth) and whitish(closed) == 0


def test_a_portrait_clip_is_found_by_the_dlib_front_door(tmp_path):
    from imagintalk.video.frontdoor import process_video

    cfg = replace(preset("synth").synth, renderer="portrait", image_size=224)
    record, mouth = render_clip(tmp_path, 0, "test", 1, cfg)
    assert record["renderer"] == "portrait"
    track = process_video(tmp_path / record["video"])
    assert track.detected.mean() >= 0.9
    gap = np.linalg.norm(track.aligned_landmarks[:, 66] - track.aligned_landmarks[:, 62], axis=1)
    n = min(len(gap), len(mouth))
    assert np.corrcoef(gap[:n][track.detected[:n]], mouth[:n, 0][track.detected[:n]])[0, 1] > 0.5


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    synth_command.register(parser.add_subparsers())
    args = parser.parse_args(["synth", *argv])
    return args.func(args)


def test_speaker_option_restricts_the_split_to_one_speaker(tmp_path, cfg):
    fixed = replace(cfg, only_speaker=7)
    for index in range(6):  # everything else about a clip is drawn as without the option
        free, _ = sample_clip(1, "test", index, cfg)
        one, _ = sample_clip(1, "test", index, fixed)
        assert one.speaker["index"] == 7 and (one.text, one.emotion) == (free.text, free.emotion)
    argv = ["--out", str(tmp_path), "--clips", "2", "--split", "test", "--preset", "debug", "--no-progress"]
    assert _run([*argv, "--speaker", "7", "--set", "synth.image_size=64"]) == 0
    records = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [r["speaker"] for r in records] == ["spk07", "spk07"]
    assert all("renderer" not in r for r in records)  # cartoon clips keep the old manifest keys
    with pytest.raises(InputError, match="not one of the test split's speakers"):
        _run([*argv, "--speaker", "0"])  # a training speaker


def test_an_unknown_renderer_is_an_input_error(tmp_path, cfg):
    with pytest.raises(InputError, match="unknown renderer 'oil'; choose one of cartoon, portrait"):
        generate_corpus(tmp_path, 1, 0, "test", replace(cfg, renderer="oil"), workers=1, progress=False)
    assert load_config("debug", overrides=["synth.renderer=portrait"]).synth.renderer == "portrait"
