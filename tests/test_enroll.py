"""Enrollment (forced alignment -> adapter -> profile) and typed speech, on real clips and models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysptk
import pytest
import torch
from test_pipeline import SPF, make_clips, make_debug_model

from imagintalk.enroll import clip_from_video, enroll, prompt_units
from imagintalk.enroll.adapt import AdaptSettings, split_holdout
from imagintalk.enroll.targets import align_clip
from imagintalk.errors import CheckpointError, InputError
from imagintalk.models.lip_adapter import AdapterSpec
from imagintalk.pipeline import Pipeline
from imagintalk.pipeline.profile import load_profile
from imagintalk.settings import DEFAULT_MODEL_DIR, load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.synth.speech import typed_speech
from imagintalk.units.forced import boundaries, forced_align
from imagintalk.units.frames import units_from_manifest_entry
from imagintalk.units.inventory import NUM_UNITS, unit_index

CLI = [sys.executable, "-m", "imagintalk"]
REFERENCE_WAV = Path(pysptk.__file__).parent / "example_audio_data" / "arctic_a0007.wav"  # real speech


def posteriors(truth: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    """Log-posteriors [T, U] peaked at ``truth`` with Gaussian noise."""
    scores = np.full((len(truth), NUM_UNITS), np.log(0.01))
    scores[np.arange(len(truth)), truth] = np.log(0.6)
    return scores + np.random.default_rng(seed).normal(0, noise, scores.shape)


def test_forced_alignment_recovers_boundaries_and_skips_silences() -> None:
    b, ih, n = (unit_index(u) for u in ("b", "ih", "n"))
    truth = np.array([0] * 6 + [b] * 4 + [ih] * 7 + [n] * 5 + [0] * 3 + [b] * 4)  # ends without silence
    labels = forced_align(posteriors(truth, 0.5), [0, b, ih, n, 0, b, 0])
    assert np.array_equal(labels, truth)
    assert np.array_equal(boundaries(labels), [6, 10, 17, 22, 25])
    # a pause the prompt allows but the user did not make costs nothing
    no_pause = np.array([b] * 4 + [ih] * 7 + [n] * 5)
    assert np.array_equal(forced_align(posteriors(no_pause, 0.5), [0, b, ih, n, 0]), no_pause)
    with pytest.raises(InputError, match="too few"):
        forced_align(posteriors(truth[:2], 0.1), [b, ih, n])
    with pytest.raises(InputError):
        forced_align(np.zeros((10, 3)), [b])


def test_prompt_units_follow_the_text() -> None:
    names = ["b", "ih", "n", "b", "l", "uw"]
    assert prompt_units("bin blue")[1:-1] == [unit_index(u) for u in names]
    assert prompt_units("bin blue")[0] == 0 and prompt_units("bin blue")[-1] == 0


@pytest.fixture(scope="module")
def shipped() -> dict:
    return {"pipe": Pipeline.from_dir(DEFAULT_MODEL_DIR, steps=4)}


@pytest.fixture(scope="module")
def cartoon_clips(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Three val-split clips of the shipped model's own renderer and speaker pool."""
    root = tmp_path_factory.mktemp("cartoon")
    cfg = load_config("synth").synth
    cfg.num_speakers, cfg.num_test_speakers = 120, 16  # the shipped model's (models/imagintalk/config.json)
    # the plain corpus its lip aligner was trained on (on expressive clips, whose pauses and stretched
    # emphasised words it never saw, step agreement measured 0.885 on these three clips)
    cfg.expressive = False
    generate_corpus(root, 3, seed=5, split="val", cfg=cfg, workers=1, progress=False)
    return root, [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_forced_alignment_finds_the_known_unit_boundaries_of_synthtalk_clips(shipped, cartoon_clips) -> None:
    """Tolerance: >= 90 % of the true unit boundaries within 2 unit steps (40 ms) of an aligned one,
    and >= 90 % of the steps labelled as the corpus's own phoneme timing says (12 clips: 99 % / 96 %)."""
    root, rows = cartoon_clips
    lip, errors, agreement = shipped["pipe"].bundle.lip, [], []
    for row in rows:
        clip = clip_from_video(shipped["pipe"], root / row["video"], row["text"])
        with torch.no_grad():
            features = lip.frame_features(torch.from_numpy(clip.mouth)[None])[0]
        labels = align_clip(lip, features, prompt_units(row["text"]))
        truth = units_from_manifest_entry(row)
        assert labels.shape == truth.shape
        agreement.append(float((labels == truth).mean()))
        found = boundaries(labels)
        errors += [int(np.abs(found - b).min()) for b in boundaries(truth)]
    assert np.mean(np.asarray(errors) <= 2) >= 0.9, errors
    assert np.mean(agreement) >= 0.9, agreement


def test_say_speaks_for_as_long_as_the_text_takes(shipped) -> None:
    pipe = shipped["pipe"]
    face = pipe.describe_face(Path("examples/synthtalk_test.mp4"))
    text = "bin blue at f two now"
    result = pipe.say(text, face)
    frames = typed_speech(text, 16000, 25, 0.25).num_frames
    assert result.num_frames == frames and result.wav.shape == (frames * SPF,)
    assert np.isfinite(result.wav).all() and np.abs(result.wav).max() > 0.01
    assert np.array_equal(result.units, result.raw_units) and (result.units >= 0).all()
    # a long text is cut into windows no longer than max_window_s, in order, with nothing lost
    pipe.max_window_s = 2.5
    try:
        long = pipe.say("set red with a nine please. place green by b one soon", face)
    finally:
        pipe.max_window_s = pipe.options.max_window_s
    assert len(long.windows) >= 2 and all(w.num_frames <= 2.5 * 25 + 1 for w in long.windows)
    assert long.num_frames == sum(w.num_frames for w in long.windows)
    # a voice recording alone: the model's neutral expression (scripts/neutral_expression.py) stands in
    assert pipe.neutral_expression is not None
    pipe.set_voice_reference(REFERENCE_WAV)
    try:
        assert pipe.say(text).num_frames == frames
    finally:
        pipe.set_voice_reference(None)
    with pytest.raises(InputError, match="no text"):
        pipe.say("  ... ", face)
    with pytest.raises(InputError, match="needs a voice"):
        pipe.say(text)


@pytest.fixture(scope="module")
def debug(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("enroll")
    model = make_debug_model(root)
    clips = make_clips(root, count=5)
    pipe = Pipeline.from_dir(model, steps=4)
    rows = [json.loads(line) for line in (root / "synth" / "manifest.jsonl").read_text().splitlines()]
    texts = {row["video"]: row["text"] for row in rows}
    enrolled = [clip_from_video(pipe, clip, texts[f"video/{clip.name}"]) for clip in clips]
    return {"root": root, "model": model, "clips": clips, "pipe": pipe, "enrolled": enrolled}


@pytest.mark.parametrize("spec", [AdapterSpec("lora", rank=4), AdapterSpec("residual", rank=4, renorm=False)])
def test_enrollment_end_to_end_on_a_debug_model(debug, spec, tmp_path) -> None:
    pipe, clip = debug["pipe"], debug["enrolled"][0]
    before = pipe.speak_file(debug["clips"][0])
    settings = AdaptSettings(spec=spec, max_epochs=3, patience=10, lr=1e-2)
    profile = enroll(pipe, debug["enrolled"], name="ada", settings=settings)
    assert profile.report["aligned"] == 5 and profile.report["heldout_clips"] == 1
    assert profile.prompts == [c.text for c in debug["enrolled"]]
    assert profile.face.identity.shape == (pipe.cfg.style.descriptor_dim,)
    assert profile.face.expression.shape == (pipe.cfg.style.expression_dim,)
    assert profile.face.crops.dtype == np.uint8 and profile.face.crops.ndim == 4  # the debug model reads them
    saved = profile.save(tmp_path / "ada")
    loaded = load_profile(saved)
    assert loaded.name == "ada" and loaded.spec == spec
    assert np.array_equal(loaded.face.crops, profile.face.crops)
    pipe.set_profile(saved)
    try:
        with torch.no_grad():
            adapted = pipe.bundle.lip(torch.from_numpy(clip.mouth)[None])
        spoken = pipe.speak_file(debug["clips"][0])
        assert spoken.wav.shape == before.wav.shape and np.isfinite(spoken.wav).all()
        typed = pipe.say(clip.text)  # the profile's face and expression
        assert typed.num_frames == typed_speech(clip.text, 16000, 25, 0.25).num_frames
    finally:
        pipe.set_profile(None)
    with torch.no_grad():
        base = pipe.bundle.lip(torch.from_numpy(clip.mouth)[None])
    if profile.report["best_epoch"] > 0:  # a trained adapter changes what the aligner says
        assert not torch.allclose(adapted, base)
    # off again: exactly the model as shipped
    assert np.array_equal(pipe.speak_file(debug["clips"][0]).wav, before.wav)


def test_a_profile_of_another_model_is_refused(debug, tmp_path) -> None:
    pipe = debug["pipe"]
    profile = enroll(pipe, debug["enrolled"][:2], settings=AdaptSettings(max_epochs=1))
    profile.fingerprint = "0" * 16
    with pytest.raises(CheckpointError, match="another model"):
        pipe.set_profile(profile)
    assert pipe.profile is None
    with pytest.raises(InputError, match="no profile"):
        pipe.set_profile(tmp_path)


def test_holdout_split_keeps_one_share_aside() -> None:
    assert split_holdout(3, 0.2, 0) == ([0, 1, 2], [])
    train, held = split_holdout(25, 0.2, 0)
    assert len(held) == 5 and sorted(train + held) == list(range(25))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600)


def test_cli_enroll_then_say_and_speak_with_the_profile(debug, tmp_path) -> None:
    profile, model = tmp_path / "profiles" / "bo", str(debug["model"])
    done = run_cli(
        "enroll", "--out", str(profile), "--videos", str(debug["root"] / "synth"), "--model", model,
        "--max-minutes", "0.05",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (profile / "profile.json").is_file() and "enrolled 5 of 5 prompts" in done.stdout
    wav = tmp_path / "said.wav"
    common = ["--profile", str(profile), "--model", model, "--steps", "2"]
    done = run_cli("say", "bin blue at f two now", *common, "-o", str(wav))
    assert done.returncode == 0, done.stderr
    import soundfile as sf

    assert sf.info(str(wav)).frames == typed_speech("bin blue at f two now", 16000, 25, 0.25).num_frames * SPF
    out = tmp_path / "spoken.wav"
    done = run_cli("speak", str(debug["clips"][1]), *common, "-o", str(out))
    assert done.returncode == 0, done.stderr and out.is_file()


def test_cli_refuses_bad_enrollment_and_say_input_in_one_line(debug, tmp_path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    cases = [
        (
            ["enroll", "--out", str(tmp_path / "notes"), "--videos", str(debug["root"] / "synth")],
            "not a profile",
        ),
        (["enroll", "--out", str(tmp_path / "p"), "--videos", str(tmp_path / "none")], "not a folder"),
        (["say", "hello", "-o", str(tmp_path / "x.wav")], "needs a voice"),
        (["say", "hello", "--profile", str(tmp_path), "-o", str(tmp_path / "x.wav")], "no profile"),
        (
            ["say", "hello", "--voice-ref", str(tmp_path / "none.wav"), "-o", str(tmp_path / "x.wav")],
            "not found",
        ),
        (["say", "  ", "--face", str(debug["clips"][0]), "-o", str(tmp_path / "x.wav")], "no text"),
        (
            ["speak", str(debug["clips"][0]), "--profile", str(tmp_path), "-o", str(tmp_path / "x.wav")],
            "no profile",
        ),
    ]
    for args, reason in cases:
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], (args, done.stderr)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "x.wav").exists()


def test_the_enrollment_summary_pairs_each_condition_with_the_shipped_model_on_the_same_clips() -> None:
    from imagintalk.eval.enrollment import summarise

    rows = []
    for clip, (base, after) in enumerate([(0.5, 0.2), (0.7, 0.3)]):
        common = {"speaker": 1, "renderer": "portrait", "clip": f"c{clip}", "unit_accuracy": 0.5}
        rows.append({**common, "condition": "shipped", "wer": base, "raw_unit_accuracy": 0.5})
        rows.append({**common, "condition": "enrolled_lora_25", "wer": after, "raw_unit_accuracy": 0.5})
    held = {"heldout_accuracy_before": 0.5, "heldout_accuracy_after": 0.7}
    timing = {"epochs": 9, "seconds": 3.0, "total_seconds": 9.0}
    enrollments = [{"renderer": "portrait", "prompts": 25, "kind": "lora", **held, **timing}]
    text = summarise(rows, enrollments)
    assert "| portrait | shipped | 2 | 0.600 ± 0.100 |" in text
    assert "| portrait | enrolled_lora_25 | -0.350 ± 0.050 | 0.000 ± 0.000 |" in text
    assert "| portrait | 25 | lora | 0.500 ± nan | 0.700 ± nan | 9.0 | 3.0 | 9.0 |" in text
