"""``imagintalk speak`` against a hostile user (issue 17): bad input is one ``error:`` line on stderr
with a documented exit code, nothing is lost or overwritten, and every path is checked before the
model loads. Each test is named after the defect it pins (its number in the issue).

``NOWHERE`` as the model directory proves that a check runs before the model loads: a check that
ran after loading would meet the missing model first and exit 3 instead of 2.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file
from test_pipeline import make_clips, make_debug_model

from imagintalk.cli import main
from imagintalk.pipeline import mux
from imagintalk.pipeline.result import SpeechResult

FAST = ["--steps", "1", "--seed", "0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cli_safety")
    return {"model": make_debug_model(root), "clip": make_clips(root, 1)[0], "nowhere": root / "no_model"}


def speak(argv: list, capsys) -> tuple[int, str, str]:
    """Run ``imagintalk speak ARGV`` in this process -> (exit code, stdout, stderr)."""
    code = main(["speak", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def one_error(err: str) -> str:
    """The one line a refused call prints on stderr (no traceback, nothing else)."""
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def copies(clip: Path, folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(clip, folder / name)) for name in names]


def spoken(wav: Path) -> bool:
    return wav.is_file() and sf.info(str(wav)).frames > 0


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if "partial" in p.name)


# --- 2: one failed write must not abort the batch -------------------------------------------------
def test_2_failed_write_of_one_video_loses_none_of_the_others(env, tmp_path, capsys, monkeypatch) -> None:
    a, b, c = copies(env["clip"], tmp_path / "in", "a.mp4", "b.mp4", "c.mp4")
    out = tmp_path / "out"
    (out / "b.wav").mkdir(parents=True)  # b's wav cannot be written: a directory is in the way
    real_write = sf.write

    def disk_full_for_a(file, *args, **kwargs) -> None:  # fault injection: a's wav hits a full disk
        if Path(file).name.lstrip(".").startswith("a.wav"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        real_write(file, *args, **kwargs)

    monkeypatch.setattr(sf, "write", disk_full_for_a)
    code, stdout, stderr = speak([a, b, c, "-o", out, "--model", env["model"], *FAST], capsys)
    assert code == 1
    assert spoken(out / "c.wav") and (out / "c.json").is_file()  # c is still spoken
    assert not (out / "a.wav").exists() and not (out / "a.json").exists() and (out / "b.wav").is_dir()
    lines = error_lines(stderr)
    assert any(str(a) in line and "no space left" in line for line in lines), stderr
    assert any(str(b) in line and "is a directory" in line for line in lines), stderr
    assert lines[-1] == "error: 2 of 3 videos failed" and len(lines) == 3
    assert leftovers(out) == []


# --- 3: the same file name in two folders ---------------------------------------------------------
def test_3_same_file_name_in_two_folders_is_refused_before_any_work(env, tmp_path, capsys) -> None:
    (x,) = copies(env["clip"], tmp_path / "x", "a.mp4")
    (y,) = copies(env["clip"], tmp_path / "y", "a.mp4")
    out = tmp_path / "out"
    code, _, stderr = speak([x, y, "-o", out, "--model", env["model"], *FAST], capsys)
    line = one_error(stderr)
    assert code == 2 and str(x) in line and str(y) in line and "a.wav" in line
    assert not out.exists()  # nothing written, nothing spoken


# --- 4: --mux onto the input video ----------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink"])
def test_4_mux_onto_the_input_video_is_refused(env, tmp_path, capsys, spelling) -> None:
    (video,) = copies(env["clip"], tmp_path / "in", "v.mp4")
    before = video.read_bytes()
    target = {
        "same": video,
        "dotdot": tmp_path / "in" / ".." / "in" / "v.mp4",
        "symlink": tmp_path / "link.mp4",
    }[spelling]
    if spelling == "symlink":
        target.symlink_to(video)
    wav = tmp_path / "v.wav"
    code, _, stderr = speak([video, "-o", wav, "--mux", target, "--model", env["model"], *FAST], capsys)
    assert code == 2 and "input" in one_error(stderr)
    assert video.read_bytes() == before and not wav.exists()


# --- 5: a model dir's config.json that is not a usable config -------------------------------------
@pytest.mark.parametrize("case", ["list", "null", "number", "wrong_type", "unknown_key"])
def test_5_unusable_model_config_is_a_checkpoint_error(env, tmp_path, capsys, case) -> None:
    config = json.loads((env["model"] / "config.json").read_text())
    if case == "wrong_type":
        config["dit"]["num_codebooks"] = "four"
    elif case == "unknown_key":
        config["dit"]["no_such_key"] = 1
    text = {"list": "[]", "null": "null", "number": "42"}.get(case, json.dumps(config))
    model = tmp_path / "model"
    shutil.copytree(env["model"], model)
    (model / "config.json").write_text(text)
    wav = tmp_path / "x.wav"
    code, _, stderr = speak([env["clip"], "-o", wav, "--model", model, *FAST], capsys)
    line = one_error(stderr)
    assert code == 3 and "config.json" in line and not wav.exists()


# --- 6: --mux below a file ------------------------------------------------------------------------
def test_6_mux_whose_parent_is_a_file_is_one_line_exit_2(env, tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    wav = tmp_path / "x.wav"
    argv = [env["clip"], "-o", wav, "--mux", tmp_path / "notes.txt" / "x.mp4", "--model", env["model"]]
    code, _, stderr = speak([*argv, *FAST], capsys)
    assert code == 2 and "notes.txt" in one_error(stderr)
    assert not wav.exists()  # refused before the speech was made


# --- 8: several videos: errors go to stderr -------------------------------------------------------
def test_8_errors_of_several_videos_go_to_stderr(env, tmp_path, capsys) -> None:
    missing = [tmp_path / "gone1.mp4", tmp_path / "gone2.mp4"]
    code, stdout, stderr = speak([*missing, "-o", tmp_path / "out", "--model", env["model"]], capsys)
    assert code == 1 and "error" not in stdout
    lines = error_lines(stderr)
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert str(missing[0]) in lines[0] and str(missing[1]) in lines[1] and "2 of 2" in lines[2]


# --- 9: interrupted writes leave no partial file and keep the old one ------------------------------
def test_9_interrupted_mux_leaves_no_partial_file(env, tmp_path, monkeypatch) -> None:
    real_write_audio = mux._write_audio

    def interrupted(container, stream, wav, sample_rate) -> None:  # fault injection: Ctrl-C partway
        real_write_audio(container, stream, wav[: len(wav) // 2], sample_rate)
        raise KeyboardInterrupt

    monkeypatch.setattr(mux, "_write_audio", interrupted)
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / "old.mp4"
    old.write_bytes(b"an earlier result")
    with pytest.raises(KeyboardInterrupt):
        mux.mux_speech(env["clip"], np.zeros(32000, np.float32), 16000, folder / "new.mp4")
    with pytest.raises(KeyboardInterrupt):
        mux.mux_speech(env["clip"], np.zeros(32000, np.float32), 16000, old)
    assert sorted(p.name for p in folder.iterdir()) == ["old.mp4"]
    assert old.read_bytes() == b"an earlier result"


def test_9_interrupted_wav_and_json_writes_keep_the_old_files(tmp_path, monkeypatch) -> None:
    from imagintalk.commands.speak import write_json

    result = SpeechResult(
        wav=np.zeros(6400, np.float32), sample_rate=16000, num_frames=10, fps=25.0,
        tokens=np.zeros((4, 20), np.int64), units=np.zeros(20, np.int64), raw_units=np.zeros(20, np.int64),
        flagged_fraction=0.0, network_calls=1, timings={}, windows=[],
    )  # fmt: skip
    wav, summary = tmp_path / "x.wav", tmp_path / "x.json"
    wav.write_bytes(b"old wav")
    summary.write_text("old json")
    real_write, real_write_text = sf.write, Path.write_text

    def write_then_interrupt(file, *args, **kwargs) -> None:  # fault injection: Ctrl-C mid-write
        real_write(file, *args, **kwargs)
        raise KeyboardInterrupt

    def half_then_interrupt(self: Path, text: str, *args, **kwargs) -> int:
        real_write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(sf, "write", write_then_interrupt)
    monkeypatch.setattr(Path, "write_text", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        result.save_wav(wav)
    with pytest.raises(KeyboardInterrupt):
        write_json(summary, result.summary())
    monkeypatch.undo()
    assert wav.read_bytes() == b"old wav" and summary.read_text() == "old json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.wav"]
    assert result.save_wav(wav) == wav and sf.info(str(wav)).frames == 6400  # and a whole write works


# --- 10: NaN / inf weights --------------------------------------------------------------------------
@pytest.mark.parametrize(("component", "bad"), [("dit", float("nan")), ("lip", float("inf"))])
def test_10_non_finite_weights_are_refused_at_load(env, tmp_path, capsys, component, bad) -> None:
    model = tmp_path / "model"
    shutil.copytree(env["model"], model)
    weights_path = model / f"{component}.safetensors"
    weights = load_file(str(weights_path))
    key = next(k for k, v in weights.items() if v.is_floating_point() and v.numel() > 1)
    weights[key].view(-1)[1] = bad
    save_file(weights, str(weights_path))
    wav = tmp_path / "x.wav"
    code, _, stderr = speak([env["clip"], "-o", wav, "--model", model, *FAST], capsys)
    line = one_error(stderr)
    assert code == 3 and f"{component}.safetensors" in line and key in line and not wav.exists()
    assert torch.isfinite(load_file(str(env["model"] / f"{component}.safetensors"))[key]).all()


# --- 11: --skip-existing and an empty wav -----------------------------------------------------------
def test_11_skip_existing_speaks_an_empty_wav_again(env, tmp_path, capsys) -> None:
    a, b = copies(env["clip"], tmp_path / "in", "a.mp4", "b.mp4")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.wav").write_bytes(b"")  # left by a crash: not a finished result
    sf.write(str(out / "b.wav"), np.zeros(1600, np.float32), 16000)  # finished: kept as it is
    kept = (out / "b.wav").read_bytes()
    code, stdout, _ = speak([a, b, "-o", out, "--model", env["model"], "--skip-existing", *FAST], capsys)
    assert code == 0 and spoken(out / "a.wav") and (out / "a.json").is_file()
    assert (out / "b.wav").read_bytes() == kept and not (out / "b.json").exists()


# --- 12: every output path is checked before the model loads ----------------------------------------
OUTPUT_CASES = {
    # name: (extra arguments, a word the error must hold); {d} = the case's folder, {v} = the video
    "mux_not_a_video_suffix": (["-o", "{d}/x.wav", "--mux", "{d}/x.txt"], ".mp4"),
    "json_equals_wav": (["-o", "{d}/x.wav", "--json", "{d}/x.wav"], "x.wav"),
    "json_suffix": (["-o", "{d}/x.wav", "--json", "{d}/x.txt"], ".json"),
    "wav_is_a_directory": (["-o", "{d}/folder"], "is a directory"),
    "wav_parent_is_a_file": (["-o", "{d}/notes.txt/x.wav"], "notes.txt"),
    "json_parent_is_a_file": (["-o", "{d}/x.wav", "--json", "{d}/notes.txt/x.json"], "notes.txt"),
    "mux_is_a_directory": (["-o", "{d}/x.wav", "--mux", "{d}/dir.mp4"], "is a directory"),
    "wav_is_the_input": (["-o", "{v}"], "input"),
}


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_12_bad_output_targets_are_refused_before_the_model_loads(env, tmp_path, capsys, case) -> None:
    video = tmp_path / "clip.wav" if case == "wav_is_the_input" else tmp_path / "clip.mp4"
    shutil.copy(env["clip"], video)  # a video named .wav: PyAV reads the content, not the name
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    (tmp_path / "folder" / f"{video.stem}.wav").mkdir(parents=True)
    (tmp_path / "dir.mp4").mkdir()
    before = {p: p.read_bytes() if p.is_file() else None for p in tmp_path.rglob("*")}
    extra, word = OUTPUT_CASES[case]
    extra = [arg.format(d=tmp_path, v=video) for arg in extra]
    code, _, stderr = speak([video, *extra, "--model", env["nowhere"], *FAST], capsys)
    assert code == 2 and word in one_error(stderr)
    assert {p: p.read_bytes() if p.is_file() else None for p in tmp_path.rglob("*")} == before


# --- 13: clear words for bad inputs, checked before the model loads --------------------------------
@pytest.mark.parametrize(("case", "word"), [("missing", "not found"), ("directory", "is a directory")])
def test_13_bad_input_video_is_named_before_the_model_loads(env, tmp_path, capsys, case, word) -> None:
    video = tmp_path / "v.mp4"
    if case == "directory":
        video.mkdir()
    code, _, stderr = speak([video, "-o", tmp_path / "x.wav", "--model", env["nowhere"]], capsys)
    line = one_error(stderr)
    assert code == 2 and word in line and str(video) in line


def _without_root_privileges() -> list[str]:
    """A command prefix under which file permissions apply (root reads and writes anything)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be denied")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


def _cli(argv: list, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [*_without_root_privileges(), sys.executable, "-m", "imagintalk", "speak", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_13_permission_denied_names_the_path(env, tmp_path) -> None:
    a, b = copies(env["clip"], tmp_path / "in", "a.mp4", "b.mp4")
    locked = tmp_path / "locked"
    locked.mkdir()
    a.chmod(0o000)
    locked.chmod(0o555)
    try:  # an unreadable video and a folder that refuses files, in one call: each named
        run = _cli([a, b, "-o", locked, "--model", env["nowhere"]])
    finally:
        a.chmod(0o644)
        locked.chmod(0o755)
    lines = error_lines(run.stderr)
    assert run.returncode == 1 and len(lines) == 3, run.stderr
    assert f"permission denied: {a}" in lines[0]
    assert f"permission denied: {locked / 'b.wav'}" in lines[1] and "2 of 2" in lines[2]
    assert list(locked.iterdir()) == []


def test_13_no_ffmpeg_line_before_the_error(env, tmp_path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    run = _cli([junk, "-o", tmp_path / "x.wav", "--model", env["model"]], environ)
    assert run.returncode == 2 and str(junk) in one_error(run.stderr)


# --- 10 (part): a non-finite temperature (diffusion's check_temperature is being made to refuse it) ---
def test_10_temperature_inf_is_one_line_exit_2(env, tmp_path, capsys) -> None:
    wav = tmp_path / "x.wav"
    code, _, stderr = speak([env["clip"], "-o", wav, "--model", env["model"], "--temperature", "inf"], capsys)
    assert code == 2 and "temperature" in one_error(stderr) and not wav.exists()
