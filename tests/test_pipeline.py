"""Pipeline on a debug model (random weights, real debug codec): durations, determinism, windows, errors.

The debug model's speech is noise: these tests check the plumbing, not the voice. Helpers here
(make_debug_model, make_clips) are shared with test_speak.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from imagintalk.codec.train import train_world_rvq
from imagintalk.errors import CheckpointError, InputError, NoFaceError
from imagintalk.models.bundle import COMPONENTS, build_bundle, save_component
from imagintalk.pipeline import STAGES, Pipeline, SpeechResult
from imagintalk.pipeline.windows import WindowCutter, assemble, mouth_opening, split_indices
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.video.frontdoor import process_video
from imagintalk.video.io import iter_frames, write_video

SPF = 640  # samples per 25 fps frame at 16 kHz


def make_debug_model(root: Path, overrides: list[str] | None = None) -> Path:
    """A debug-preset model dir (untrained networks) whose config names a freshly trained debug codec."""
    cfg = load_config("debug", overrides=overrides)
    cfg.codec.train_cache = str(root / "codec_corpus")
    codec_dir = root / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec_dir)
    cfg.codec.path = str(codec_dir)
    # style_condition passes no per-frame expression images (see FaceStyleConfig.check_inputs)
    cfg.style.use_expression_encoder = False
    bundle = build_bundle(cfg)
    model_dir = root / "model"
    for name in COMPONENTS:
        save_component(model_dir, name, bundle.module(name), cfg)
    return model_dir


def make_clips(root: Path, count: int = 2) -> list[Path]:
    """``count`` debug SynthTalk clips (25 fps, ~2 s, 192 x 192)."""
    cfg = load_config("debug")
    generate_corpus(root / "synth", count, seed=0, split="test", cfg=cfg.synth, workers=1, progress=False)
    return sorted((root / "synth" / "video").glob("*.mp4"))


def read_rgb(path: Path) -> list[np.ndarray]:
    return [frame for frame, _ in iter_frames(path, color="rgb")]


def check_length(result: SpeechResult, frames: int) -> None:
    assert result.num_frames == frames
    assert result.wav.shape == (frames * SPF,) and result.wav.dtype == np.float32
    assert result.duration == pytest.approx(frames * SPF / 16000)
    assert np.isfinite(result.wav).all()


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("speak")
    model_dir = make_debug_model(root)
    clips = make_clips(root)
    pipe = Pipeline.from_dir(model_dir, steps=8)
    return {"root": root, "model": model_dir, "clips": clips, "pipe": pipe}


def test_speak_file_duration_equals_the_video(env) -> None:
    pipe, clip = env["pipe"], env["clips"][0]
    result = pipe.speak_file(clip)
    frames = process_video(clip).num_frames
    check_length(result, frames)
    k = pipe.cfg.dit.num_codebooks
    assert result.tokens.shape == (k, 2 * frames) and result.tokens.min() >= 0
    assert result.units.shape == result.raw_units.shape == (2 * frames,)
    assert 0.0 <= result.flagged_fraction <= 1.0 and result.network_calls >= 1
    assert len(result.windows) == 1 and result.windows[0].status == "spoken"
    assert set(result.timings) == {*STAGES, "total"}
    assert result.wav.std() > 0


def test_a_dit_may_generate_only_the_coarse_codec_levels(tmp_path) -> None:
    import torch

    from imagintalk.models.bundle import load_bundle

    model_dir = make_debug_model(tmp_path, ["dit.num_codebooks=2"])  # the debug codec has 4
    bundle = load_bundle(model_dir)
    with torch.no_grad():  # a completer that predicts a residual (the saved one is zero-initialised)
        bundle.fine.output.bias.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    save_component(model_dir, "fine", bundle.fine, bundle.cfg)
    pipe = Pipeline.from_dir(model_dir, steps=4)
    assert (pipe.codec.num_codebooks, pipe.cfg.dit.num_codebooks, pipe.output_levels) == (4, 2, 4)
    clip = make_clips(tmp_path, 1)[0]
    frames = process_video(clip).num_frames
    result = pipe.speak_file(clip)  # the fine-level completer adds levels 2-3
    check_length(result, frames)
    assert result.tokens.shape == (4, 2 * frames) and result.wav.std() > 0
    coarse_only = Pipeline.from_dir(model_dir, steps=4, fine_levels=False).speak_file(clip)
    check_length(coarse_only, frames)
    assert coarse_only.tokens.shape == (2, 2 * frames) and coarse_only.wav.std() > 0
    assert np.array_equal(coarse_only.tokens, result.tokens[:2])  # same DiT draw, same seed
    assert not np.allclose(coarse_only.wav, result.wav)


def test_sampling_temperature_comes_from_the_model_and_can_be_set(env) -> None:
    pipe = env["pipe"]
    assert pipe.temperature == pipe.cfg.sampling.temperature == 1.0
    import copy

    import torch

    bundle = copy.deepcopy(pipe.bundle)  # zero-initialised heads give uniform draws: give them a shape
    heads = bundle.dit.final_layer.heads.weight
    torch.nn.init.normal_(heads, std=0.5, generator=torch.Generator().manual_seed(0))
    track = process_video(env["clips"][0])
    cold = Pipeline(bundle, pipe.codec, steps=8, temperature=0.3)
    first, again = cold.speak_track(track), cold.speak_track(track)
    assert np.array_equal(first.tokens, again.tokens)  # still deterministic for a seed
    assert not np.array_equal(first.tokens, Pipeline(bundle, pipe.codec, steps=8).speak_track(track).tokens)
    with pytest.raises(InputError, match="temperature"):
        Pipeline(pipe.bundle, pipe.codec, temperature=0.0)


def test_guidance_comes_from_the_model_changes_the_draws_and_is_checked(env) -> None:
    import copy

    import torch

    pipe = env["pipe"]
    assert pipe.guidance == pipe.cfg.sampling.guidance == 0.0
    bundle = copy.deepcopy(pipe.bundle)  # give the zero-initialised network a conditional shape
    gen = torch.Generator().manual_seed(0)
    torch.nn.init.normal_(bundle.dit.final_layer.heads.weight, std=0.5, generator=gen)
    for block in bundle.dit.blocks:
        torch.nn.init.normal_(block.adaLN_modulation[-1].weight, std=0.2, generator=gen)
    track = process_video(env["clips"][0])
    plain = Pipeline(bundle, pipe.codec, steps=8).speak_track(track)
    unguided = Pipeline(bundle, pipe.codec, steps=8, guidance=0.0).speak_track(track)
    assert np.array_equal(unguided.tokens, plain.tokens)
    guided = Pipeline(bundle, pipe.codec, steps=8, guidance=2.0)
    first, again = guided.speak_track(track), guided.speak_track(track)
    assert np.array_equal(first.tokens, again.tokens)  # deterministic for a seed
    assert not np.array_equal(first.tokens, plain.tokens)
    assert first.wav.shape == plain.wav.shape
    with pytest.raises(InputError, match="guidance"):
        Pipeline(pipe.bundle, pipe.codec, guidance=-1.0)


def test_sampling_tuning_writes_the_winner(env, tmp_path, capsys) -> None:
    import json
    import shutil

    from imagintalk.eval import tune_sampling

    model_dir = tmp_path / "model"
    shutil.copytree(env["model"], model_dir)
    data = env["root"] / "synth"
    argv = [str(data), "--model", str(model_dir), "--temperatures", "1", "0.4", "--guidance", "0", "1.5"]
    argv += ["--limit", "2", "--steps", "4", "--out", str(tmp_path / "t")]
    assert tune_sampling.main([*argv, "--write"]) == 0
    printed = capsys.readouterr().out
    for name in ("T=1", "T=0.4", "T=1 w=1.5", "T=0.4 w=1.5", "best on 2 clips"):
        assert name in printed
    sampling = json.loads((model_dir / "config.json").read_text())["sampling"]
    assert "2 clips" in sampling["tuned_on"]
    chosen = (sampling["temperature"], sampling["guidance"])
    assert chosen[0] in (1.0, 0.4) and chosen[1] in (0.0, 1.5)
    assert tune_sampling.setting_name(*chosen) in printed.split("best on")[1]
    assert printed.count("(paired s.e., 2 clips)") == 3  # every other setting against the winner
    pipe = Pipeline.from_dir(model_dir)
    assert (pipe.temperature, pipe.guidance) == chosen
    assert len(list((tmp_path / "t" / "T=0.4_w=1.5").glob("*.wav"))) == 2
    assert tune_sampling.main([str(data), "--model", str(model_dir), "--temperatures", "0"]) == 1
    assert tune_sampling.main([str(data), "--model", str(model_dir), "--guidance", "-1"]) == 1


def test_sampling_pick_prefers_low_wer_then_speaker_similarity() -> None:
    from imagintalk.eval.tune_sampling import pick

    def stats(wer, spk):
        return {"metrics": {"wer_grammar": {"mean": wer}, "spk_sim": {"mean": spk}}}

    names = {"T=1": (1.0, 0.0), "T=0.5": (0.5, 0.0), "T=0.5 w=1": (0.5, 1.0)}

    def best(wer_spk):  # (wer, spk) per name, in the order of names
        return pick({name: stats(*values) for name, values in zip(names, wer_spk)}, names)

    assert best([(0.8, 0.7), (0.5, 0.7), (0.6, 0.9)]) == (0.5, 0.0)
    assert best([(0.5, 0.7), (0.5, 0.8), (0.4, 0.6)]) == (0.5, 1.0)
    assert best([(0.5, 0.7), (0.5, 0.8), (0.9, 0.9)]) == (0.5, 0.0)  # a tie goes to the speaker
    assert best([(None, 0.7), (0.9, None), (None, 0.9)]) == (0.5, 0.0)


def test_same_seed_same_wav_other_seed_other_wav(env) -> None:
    pipe = env["pipe"]
    track = process_video(env["clips"][1])
    first, again = pipe.speak_track(track), pipe.speak_track(track)
    assert np.array_equal(first.wav, again.wav) and np.array_equal(first.tokens, again.tokens)
    other = Pipeline(pipe.bundle, pipe.codec, steps=8, seed=1).speak_track(track)
    assert not np.array_equal(first.tokens, other.tokens)
    # one path: the file, the in-memory frames and the track give the same speech
    assert np.array_equal(pipe.speak_file(env["clips"][1]).wav, first.wav)
    frames = read_rgb(env["clips"][1])
    assert np.array_equal(pipe.speak_frames(frames, fps=25.0, color="rgb").wav, first.wav)


@pytest.mark.parametrize("fps", [30.0, 15.0])
def test_other_frame_rates_and_small_frames(env, fps) -> None:
    frames = read_rgb(env["clips"][0])
    if fps == 15.0:  # small frames too
        frames = [cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA) for f in frames]
    path = write_video(env["root"] / f"clip_{int(fps)}.mp4", frames, fps=fps)
    result = env["pipe"].speak_file(path)
    check_length(result, int(np.floor(len(frames) / fps * 25 + 0.5)))


def test_long_input_splits_into_windows_with_a_silent_faceless_stretch(env) -> None:
    a, b = read_rgb(env["clips"][0]), read_rgb(env["clips"][1])
    black = [np.zeros_like(a[0]) for _ in range(100)]  # 4 s without a face: one window at least
    frames = a + b + black + a
    path = write_video(env["root"] / "long.mp4", frames, fps=25.0)
    pipe = Pipeline(env["pipe"].bundle, env["pipe"].codec, steps=8, max_window_s=2.0)
    result = pipe.speak_file(path)
    check_length(result, len(frames))
    windows = result.windows
    assert len(windows) >= 4 and all(w.num_frames <= 50 for w in windows)
    assert [w.start_frame for w in windows] == sorted(w.start_frame for w in windows)
    assert any(w.status == "no_face" for w in windows) and windows[0].status == "spoken"
    assert any("silent" in w for w in result.warnings)
    silent = [w for w in windows if w.status == "no_face"][0]
    span = slice(silent.start_frame * SPF, (silent.start_frame + 25) * SPF)
    assert np.all(result.wav[span] == 0) and np.all(result.tokens[:, 2 * silent.start_frame] == -1)


def test_lost_face_for_some_frames_is_filled(env) -> None:
    frames = read_rgb(env["clips"][0])
    frames[20:28] = [np.zeros_like(frames[0])] * 8
    result = env["pipe"].speak_frames(frames, timestamps=[i / 25 for i in range(len(frames))], color="rgb")
    check_length(result, len(frames))
    assert result.windows[0].filled_frames >= 8 and any("no detected face" in w for w in result.warnings)


def test_steps_without_a_face_are_refined_when_the_model_says_so(env) -> None:
    import copy

    frames = read_rgb(env["clips"][0])
    frames[20:28] = [np.zeros_like(frames[0])] * 8
    times = [i / 25 for i in range(len(frames))]
    bundle = copy.deepcopy(env["pipe"].bundle)
    assert bundle.cfg.mlm is bundle.mlm.cfg  # one config: the switch below reaches the MLM too
    flagged = {}
    for lost in (False, True):
        bundle.cfg.mlm.refine_lost_face = lost
        pipe = Pipeline(bundle, env["pipe"].codec, steps=2, tau=1e-6)  # similarity flags (almost) nothing
        result = pipe.speak_frames(frames, timestamps=times, color="rgb")
        flagged[lost] = (result.flagged_fraction, result.windows[0].filled_frames / result.num_frames)
    assert flagged[False][0] == 0.0
    assert flagged[True][0] == pytest.approx(flagged[True][1]) and flagged[True][0] > 0  # 2 units a frame


def test_ablations_run(env) -> None:
    pipe = env["pipe"]
    track = process_video(env["clips"][0])
    no_refine = Pipeline(pipe.bundle, pipe.codec, steps=4, refine=False).speak_track(track)
    assert no_refine.flagged_fraction == 0.0 and np.array_equal(no_refine.units, no_refine.raw_units)
    hidden = Pipeline(pipe.bundle, pipe.codec, steps=4, hide_lips=True, sampler="analytic").speak_track(track)
    check_length(hidden, track.num_frames)
    alt = Pipeline.from_dir(env["model"], steps=4, dit_weights=env["model"] / "dit.safetensors")
    check_length(alt.speak_track(track), track.num_frames)


def test_errors_are_one_line(env, tmp_path) -> None:
    pipe = env["pipe"]
    noise = np.random.default_rng(0).integers(0, 40, (30, 64, 64, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError, match="no face"):
        pipe.speak_file(write_video(tmp_path / "noface.mp4", list(noise), fps=25.0))
    with pytest.raises(InputError, match="too short"):
        pipe.speak_frames(read_rgb(env["clips"][0])[:5], fps=25.0, color="rgb")
    with pytest.raises(InputError, match="not found"):
        pipe.speak_file(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(InputError):
        pipe.speak_file(tmp_path / "junk.mp4")
    with pytest.raises(CheckpointError, match="no model"):
        Pipeline.from_dir(tmp_path / "nowhere")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError):
        Pipeline.from_dir(tmp_path / "broken")
    with pytest.raises(InputError, match="sampler"):
        Pipeline(pipe.bundle, pipe.codec, sampler="heun")


def test_window_cutter_prefers_quiet_frames_and_respects_the_maximum() -> None:
    times = np.arange(400) / 25.0
    speech = 0.3 * np.abs(np.sin(np.arange(400) * 0.7))  # always moving
    speech[160:164] = 0.0  # a lip closure inside a word at 6.4 s: too short to cut at
    speech[180:190] = 0.0  # a pause at 7.2-7.6 s
    ranges = split_indices(times, list(speech), WindowCutter(10.0, 6.0, 0.04))
    assert ranges[0] == (0, 186)  # ends inside the pause (180-189), after five quiet, still frames
    assert split_indices(times, list(speech), WindowCutter(10.0, 6.0, 0.04, quiet_frames=2))[0] == (0, 163)
    assert all(b - a <= 250 for a, b in ranges) and ranges[-1][1] == 400
    assert [r[0] for r in ranges[1:]] == [r[1] for r in ranges[:-1]]
    assert mouth_opening(None) is None


def test_assemble_places_pieces_at_their_start_with_exact_length() -> None:
    out = assemble([(0, np.ones(700, np.float32)), (640, np.ones(10, np.float32))], 1280, 16000)
    assert out.shape == (1280,) and out[300] == 1.0 and out[:560].min() == 1.0
    assert (out[720:] == 0.0).all()  # the second piece's zero padding, past the 10 ms cross-fade
    # a level sound stays level across the join: no fade to silence there
    level = assemble([(0, np.ones(640, np.float32)), (640, np.ones(640, np.float32))], 1280, 16000)
    assert np.allclose(level, 1.0)
    # a silent window (no wav) stays exactly silent; the spoken one fades out inside its own span
    silent = assemble([(0, np.ones(640, np.float32)), (640, np.zeros(0, np.float32))], 1280, 16000)
    assert (silent[640:] == 0.0).all() and silent[639] < 0.01 and silent[559] == 1.0
