"""``imagintalk prepare --dataset`` on tiny trees in LRS2's, MEAD's and RAVDESS's own layouts
(LRS3's: tests/test_datasets.py and tests/test_train_scale.py): the clips come out prepared with
the labels, splits, audio and unit source each layout implies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from dataset_trees import lrs2_tree, mead_tree, ravdess_pairs_tree, silent_parts, speaking_clips

from imagintalk.cli import main
from imagintalk.codec.audio import read_audio, resample
from imagintalk.codec.train import train_world_rvq
from imagintalk.data.feature_file import read_features
from imagintalk.data.feature_store import list_clips
from imagintalk.settings import load_config
from imagintalk.synth.espeak import speak_isolated

SR = 16000


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> dict:
    """Two SynthTalk clips (with speech muxed in, and as silent mp4 + wav) and a debug codec."""
    root = tmp_path_factory.mktemp("layouts")
    clips = speaking_clips(root, 2)
    cfg = load_config("debug")
    cfg.codec.train_cache = str(root / "codec_corpus")
    train_world_rvq(cfg.codec, seed=0, progress=False).save(root / "codec")
    return {"root": root, "clips": clips, "parts": silent_parts(root), "codec": root / "codec"}


def _prepare(
    material: dict, dataset: str, tree: Path, out: Path, *, out_flag: bool = False
) -> dict[str, dict]:
    """Prepare ``tree`` as ``dataset`` into ``out`` (given as ``--out`` or as DATA_DIR) -> clip id ->
    its feature arrays."""
    target = ["--out", str(out)] if out_flag else [str(out)]
    argv = ["prepare", "--dataset", dataset, "--root", str(tree), *target, "--codec", str(material["codec"])]
    assert main([*argv, "--preset", "debug", "--val-share", "0", "--workers", "1", "--no-progress"]) == 0
    return {ref.clip_id: read_features(ref) for ref in list_clips(out)}


def test_mead_takes_prepare_with_m4a_audio_recognised_units_and_their_emotion(material, tmp_path) -> None:
    takes = [("M003", "happy", 2, "001"), ("W009", "neutral", 1, "003")]
    tree = mead_tree(material["parts"], tmp_path / "MEAD", takes)
    features = _prepare(material, "mead", tree, tmp_path / "mead", out_flag=True)
    assert sorted(features) == ["mead-M003-front-happy-2-001", "mead-W009-front-neutral-1-003"]
    happy = features["mead-M003-front-happy-2-001"]
    assert (happy["emotion"], happy["speaker"], happy["text"]) == ("happy", "M003", "")
    for f in features.values():
        # MEAD has no transcript: the units come from the phone recogniser, two per video frame
        assert f["unit_source"] == "recognised"
        assert len(f["units"]) == 2 * f["num_frames"] and len(np.unique(f["units"])) > 3
        assert f["detected"].mean() > 0.9 and f["voiced"].any()


def test_lrs2_clips_prepare_with_their_transcripts_and_its_test_list(material, tmp_path) -> None:
    layout = [("main", "5535415699068794046", "00001"), ("main", "6330311066473698535", "00011")]
    tree = lrs2_tree(material["clips"], tmp_path / "LRS2", layout, test=["6330311066473698535/00011"])
    features = _prepare(material, "lrs2", tree, tmp_path / "lrs2")
    splits = {cid: f["split"] for cid, f in features.items()}
    assert splits == {
        "lrs2-main-5535415699068794046-00001": "train",
        "lrs2-main-6330311066473698535-00011": "test",
    }
    for f, (_, text) in zip((features[k] for k in sorted(features)), material["clips"]):
        assert f["text"] == text.upper() and f["unit_source"] == "alignment"


def _spoken(text: str, seconds: float, path: Path) -> Path:
    """espeak-ng saying ``text``, padded with silence to ``seconds``, as a 16 kHz wav."""
    said = speak_isolated(None, text, "en-us", rate=160, pitch=50, pitch_range=50, volume=100)
    wav = resample(said.samples.astype(np.float32) / 32768, said.sample_rate, SR)
    out = np.zeros(int(round(seconds * SR)), np.float32)
    out[: min(len(wav), len(out))] = wav[: len(out)]
    sf.write(path, out, SR)
    return path


def test_a_ravdess_take_recorded_apart_prepares_from_its_video_only_mp4_and_audio_only_wav(
    material, tmp_path
) -> None:
    video = material["parts"][0][0]
    # the audio-only take says the statement its name gives (02): forced alignment needs the words
    seconds = len(read_audio(material["parts"][0][1], SR)) / SR
    wav = _spoken("Dogs are sitting by the door", seconds, tmp_path / "take.wav")
    tree = ravdess_pairs_tree([(video, wav)], tmp_path / "RAVDESS", ["06-01-02-02-02"])
    features = _prepare(material, "ravdess", tree, tmp_path / "ravdess")
    ((clip_id, f),) = features.items()
    assert clip_id == "ravdess-02-01-06-01-02-02-02"
    assert (f["emotion"], f["speaker"], f["text"]) == ("fearful", "Actor_02", "Dogs are sitting by the door")
    assert f["unit_source"] == "alignment" and f["detected"].mean() > 0.9
    # the speech is the audio-only wav's (the mp4 is silent): voiced where espeak spoke, then not
    voiced = f["voiced"].astype(bool)
    assert voiced[: len(voiced) // 2].mean() > 0.3 and not voiced[-10:].any()
