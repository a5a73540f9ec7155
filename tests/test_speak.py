"""``imagintalk speak`` through its module's register() / run(): wav, JSON summary, muxed mp4, errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from test_pipeline import make_clips, make_debug_model

from imagintalk.commands import speak
from imagintalk.errors import ImaginTalkError, NoFaceError
from imagintalk.pipeline.mux import stream_durations
from imagintalk.video.io import write_video


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="imagintalk")
    speak.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["speak", *argv])


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("speak_cli")
    return {"root": root, "model": make_debug_model(root), "clip": make_clips(root, 1)[0]}


def test_speak_writes_wav_json_and_muxed_video(env, capsys) -> None:
    root = env["root"]
    out = ["-o", str(root / "out.wav"), "--mux", str(root / "out.mp4"), "--json", str(root / "out.json")]
    args = parse([str(env["clip"]), *out, "--model", str(env["model"]), "--steps", "8", "--seed", "3"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "windows spoken" in printed and "timings" in printed and "out.mp4" in printed
    wav, rate = sf.read(root / "out.wav")
    summary = json.loads((root / "out.json").read_text())
    assert rate == 16000 and len(wav) == summary["frames"] * 640 == summary["samples"]
    durations = stream_durations(root / "out.mp4")
    assert set(durations) == {"video", "audio"}
    assert durations["audio"] == pytest.approx(len(wav) / rate, abs=0.07)
    assert durations["video"] == pytest.approx(len(wav) / rate, abs=0.05)
    with av.open(str(root / "out.mp4")) as container:
        names = sorted(s.codec_context.name for s in container.streams)
    assert names == ["aac", "h264"]


def _wake(module: torch.nn.Module, seed: int) -> None:
    """Seeded random values in the module's all-zero tensors (adaLN-Zero modulation, the DiT's output
    heads, the completer's output layer). Untrained, the DiT's heads are zero: its scores, and so the
    speech, depend on no condition, and no ablation of a condition could change the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in module.parameters():
            if not tensor.any():
                tensor.copy_(0.2 * torch.randn(tensor.shape, generator=generator))


def _speak(env: dict, model: Path, out: Path, flags: list[str]) -> np.ndarray:
    args = parse(
        [str(env["clip"]), "-o", str(out), "--model", str(model), "--steps", "4", "--seed", "0", *flags]
    )
    assert args.func(args) == 0
    return sf.read(out)[0]


@pytest.fixture(scope="module")
def ablation(env) -> dict:
    """The debug model with a DiT of 2 of the codec's 4 levels (a fine-level completer decodes the other
    2), every network awake; a second DiT for --dit-weights; the default's speech (seed 0)."""
    from imagintalk.models.bundle import COMPONENTS, build_bundle, load_config_of, save_component

    root = env["root"] / "ablation"
    cfg = load_config_of(env["model"])  # the debug model: its codec, no expression CNN
    cfg.dit.num_codebooks = 2
    bundle = build_bundle(cfg)
    _wake(bundle.dit, 1)
    _wake(bundle.fine, 2)
    for name in COMPONENTS:
        save_component(root / "model", name, bundle.module(name), cfg)
    other = build_bundle(cfg, seed=3).dit
    _wake(other, 4)
    save_component(root / "other_dit", "dit", other, cfg)
    default = _speak(env, root / "model", root / "default.wav", [])
    again = _speak(env, root / "model", root / "again.wav", [])
    assert np.array_equal(default, again)  # same seed, same speech: a difference below is the flag's
    return {"root": root, "default": default}


# each ablation alone against the default, same seed: fraction of samples that moved by > 1e-4, measured
# 0.94 (--hide-lips), 0.65 (--no-refine: the debug model's tau 0.9 flags units the MLM rewrites),
# 0.99 (--no-fine), 1.00 (--dit-weights)
ABLATIONS = {
    "hide_lips": ["--hide-lips"],
    "no_refine": ["--no-refine"],
    "no_fine": ["--no-fine"],
    "dit_weights": ["--dit-weights", "OTHER_DIT"],
}


@pytest.mark.parametrize("name", ABLATIONS)
def test_each_ablation_changes_the_speech_of_the_same_seed(env, ablation, name) -> None:
    root = ablation["root"]
    flags = [str(root / "other_dit") if flag == "OTHER_DIT" else flag for flag in ABLATIONS[name]]
    wav, default = _speak(env, root / "model", root / f"{name}.wav", flags), ablation["default"]
    assert wav.shape == default.shape  # the video's duration, as always
    assert np.mean(np.abs(wav - default) > 1e-4) > 0.1, name


def test_analytic_sampler_runs(env, ablation) -> None:
    # For the log-linear schedule its exact step P(mask -> y) = s_y (e^(sigma_t - sigma_s) - 1) equals
    # Euler's dt * dsigma * s_y (both (t - s) / t of the clean conditional), so it speaks as Euler does.
    root = ablation["root"]
    wav = _speak(env, root / "model", root / "analytic.wav", ["--sampler", "analytic"])
    assert wav.shape == ablation["default"].shape and np.abs(wav).max() > 0


def test_confidence_sampler_runs_and_every_registered_sampler_is_offered(env) -> None:
    from imagintalk.diffusion import SAMPLERS

    root = env["root"]
    # the CLI's choices are the registry's: an unknown name is refused naming every registered one
    args = parse([str(env["clip"]), "-o", str(root / "none.wav"), "--sampler", "ddim"])
    with pytest.raises(ImaginTalkError, match="unknown sampler 'ddim'") as refused:
        args.func(args)
    assert all(name in str(refused.value) for name in SAMPLERS) and not (root / "none.wav").exists()
    flags = ["--sampler", "confidence", "--steps", "4", "--seed", "1"]
    outs = [root / "conf_a.wav", root / "conf_b.wav"]
    for out in outs:
        args = parse([str(env["clip"]), "-o", str(out), "--model", str(env["model"]), *flags])
        assert args.func(args) == 0
    (a, _), (b, _) = sf.read(outs[0]), sf.read(outs[1])
    assert len(a) > 0 and np.array_equal(a, b)  # deterministic for a seed


def test_no_face_video_fails_with_one_line_and_nonzero_exit(env) -> None:
    root = env["root"]
    noise = np.random.default_rng(1).integers(0, 40, (25, 64, 64, 3), dtype=np.uint8)
    video = write_video(root / "noface.mp4", list(noise), fps=25.0)
    args = parse([str(video), "-o", str(root / "x.wav"), "--model", str(env["model"]), "--steps", "2"])
    with pytest.raises(NoFaceError) as caught:
        args.func(args)
    assert caught.value.exit_code != 0 and "\n" not in str(caught.value)
    assert not (root / "x.wav").exists()


def test_bad_options_are_one_line_errors(env) -> None:
    root = env["root"]
    for extra in (["--steps", "0"], ["--device", "tpu"], ["--model", str(root / "nowhere")]):
        args = parse([str(env["clip"]), "-o", str(root / "y.wav"), "--model", str(env["model"]), *extra])
        with pytest.raises(ImaginTalkError):
            args.func(args)
    args = parse([str(env["clip"]), "-o", str(root / "speech"), "--model", str(env["model"])])
    with pytest.raises(ImaginTalkError, match="names a .wav file or an existing folder"):
        args.func(args)  # no extension: refused before any work, nothing written
    assert not (root / "speech").exists()


def test_one_video_into_an_existing_folder_takes_its_name(env) -> None:
    folder = env["root"] / "one"
    folder.mkdir()
    args = parse([str(env["clip"]), "-o", str(folder), "--model", str(env["model"]), "--steps", "2"])
    assert args.func(args) == 0
    assert sf.info(folder / f"{env['clip'].stem}.wav").frames > 0


def test_several_videos_go_to_a_folder_and_a_bad_one_loses_nothing(env, capsys) -> None:
    root = env["root"]
    noise = np.random.default_rng(2).integers(0, 40, (25, 64, 64, 3), dtype=np.uint8)
    bad = write_video(root / "faceless.mp4", list(noise), fps=25.0)
    folder = root / "batch"
    argv = [str(env["clip"]), str(bad), "-o", str(folder), "--model", str(env["model"]), "--steps", "2"]
    args = parse(argv)
    assert args.func(args) == 1  # the faceless video fails ...
    printed = capsys.readouterr()
    assert "faceless.mp4" in printed.err and "1 of 2 videos failed" in printed.err  # errors: stderr
    good = folder / f"{env['clip'].stem}.wav"  # ... the good one is spoken, with its summary
    assert good.is_file() and good.with_suffix(".json").is_file()
    assert not (folder / "faceless.wav").exists()
    stamp = good.stat().st_mtime_ns
    args = parse([*argv, "--skip-existing"])
    args.func(args)
    assert good.stat().st_mtime_ns == stamp  # kept, not spoken again
    args = parse([str(env["clip"]), str(bad), "-o", str(root / "x.wav")])
    with pytest.raises(ImaginTalkError):  # several videos need a folder, not a wav
        args.func(args)
