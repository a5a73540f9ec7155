"""evaluate() end to end on a tiny espeak-ng manifest, and the ``imagintalk eval`` CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from imagintalk.eval import CODEC_ROUND_TRIP, GROUND_TRUTH, evaluate
from imagintalk.eval.audio import load_wav

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

CLIPS = [
    ("test_00000", "bin blue at f two now", "en-us", "happy"),
    ("test_00001", "lay red with y zero again", "en-us+f2", "sad"),
    ("test_00002", "place green in d one soon", "en-us", "sad"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 3-clip manifest and a system dir with noisy copies of the first two clips (third missing)."""
    root = tmp_path_factory.mktemp("mini")
    (root / "audio").mkdir()
    system = root / "noisy"
    system.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for clip_id, text, voice, emotion in CLIPS:
        raw = root / f"{clip_id}_22k.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
        wav = load_wav(raw, 16000)
        sf.write(root / "audio" / f"{clip_id}.wav", wav, 16000)
        entry = {"id": clip_id, "audio": f"audio/{clip_id}.wav", "text": text, "emotion": emotion, "fps": 25}
        lines.append(json.dumps(entry))
        if clip_id != "test_00002":
            noisy = wav + 0.03 * rng.standard_normal(len(wav)).astype(np.float32)
            sf.write(system / f"{clip_id}.wav", noisy[: len(wav) - 800], 16000)  # 50 ms short: padded
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root, system


def test_evaluate_end_to_end(corpus, tmp_path: Path) -> None:
    from imagintalk.builders import build_codec
    from imagintalk.settings.codec import CodecConfig

    root, system = corpus
    codec = build_codec(CodecConfig(name="dac", allow_random_weights=True))  # plumbing, noise output
    out = tmp_path / "eval"
    results = evaluate(
        root / "manifest.jsonl", {"noisy": system}, codec, out, spectrograms=True, paired_to=GROUND_TRUTH
    )

    assert (out / "results.json").is_file() and (out / "results.md").is_file()
    saved = json.loads((out / "results.json").read_text())
    assert list(saved["summary"]) == [GROUND_TRUTH, CODEC_ROUND_TRIP, "noisy"]
    gt, rt, noisy = (saved["summary"][s] for s in (GROUND_TRUTH, CODEC_ROUND_TRIP, "noisy"))
    assert gt["metrics"]["stoi"]["mean"] == pytest.approx(1.0, abs=1e-3)
    assert gt["metrics"]["pesq"]["mean"] > 4.5 and gt["metrics"]["f0_rmse"]["mean"] == 0.0
    assert gt["metrics"]["wer_grammar"]["mean"] <= 0.35
    assert noisy["num_missing"] == 1 and saved["clips"]["noisy"]["test_00002"] == {
        "missing": "no file test_00002.wav"
    }
    assert noisy["metrics"]["stoi"]["num_valid"] == 2
    assert gt["metrics"]["pesq"]["mean"] > noisy["metrics"]["pesq"]["mean"] > rt["metrics"]["pesq"]["mean"]
    assert 0.0 <= gt["metrics"]["emo_acc"]["mean"] <= 1.0
    assert sorted(p.name for p in (out / "codec_round_trip").iterdir()) == [f"{c[0]}.wav" for c in CLIPS]
    assert len(list((out / "spectrograms").glob("*.png"))) == 3
    md = (out / "results.md").read_text()
    assert "| system | wer_grammar ↓ |" in md and "stoi ↑" in md and "| noisy |" in md
    assert "noisy: 1 of 3 clips missing" in md and results["markdown"] in md
    assert saved["timing"]["per_clip_s"] > 0
    paired = saved["paired"]
    assert paired["reference"] == GROUND_TRUTH and list(paired["systems"]) == [CODEC_ROUND_TRIP, "noisy"]
    noisy_stoi = paired["systems"]["noisy"]["stoi"]
    assert noisy_stoi["num_paired"] == 2  # the missing clip pairs with nothing
    values = [saved["clips"]["noisy"][c]["stoi"]["value"] - 1.0 for c in ("test_00000", "test_00001")]
    assert noisy_stoi["mean"] == pytest.approx(np.mean(values), abs=1e-3)
    assert paired["systems"][CODEC_ROUND_TRIP]["pesq"]["verdict"] == "worse"  # random codec weights
    assert "Paired against ground truth" in md and "| noisy | " in md.split("Paired against")[1]


def test_eval_cli(corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imagintalk.cli import main

    root, system = corpus
    out = tmp_path / "cli"
    argv = ["eval", str(root), "--system", f"noisy={system}", "--no-codec", "--out", str(out)]
    assert main([*argv, "--metrics", "stoi,pesq,vuv_error", "--limit", "2"]) == 0
    printed = capsys.readouterr().out
    assert "| ground truth |" in printed and "| noisy |" in printed and "pesq ↑" in printed
    assert json.loads((out / "results.json").read_text())["num_clips"] == 2
    assert main([*argv, "--metrics", "nope"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert main([*argv, "--metrics", "stoi", "--paired-to", "nope"]) == 2
    assert "--paired-to 'nope' is not one of the systems: ground truth, noisy" in capsys.readouterr().err
    assert main(["eval", str(root), "--system", "noslash", "--no-codec"]) == 2
    assert main(["eval", str(root), "--system", f"x={tmp_path / 'absent'}", "--no-codec"]) == 2
    assert main(["eval", str(tmp_path / "nothing"), "--no-codec"]) == 2
    assert "no manifest" in capsys.readouterr().err


def test_unreadable_and_silent_outputs_are_counted(corpus, tmp_path: Path) -> None:
    root, _ = corpus
    system = tmp_path / "broken"
    system.mkdir()
    (system / "test_00000.wav").write_bytes(b"RIFF garbage")
    sf.write(system / "test_00001.wav", np.zeros(16000, dtype=np.float32), 16000)
    results = evaluate(root, {"broken": system}, None, tmp_path / "out", metrics=["pesq", "vuv_error"])
    clips, summary = results["clips"]["broken"], results["summary"]["broken"]
    assert "cannot read audio" in clips["test_00000"]["missing"] and "missing" in clips["test_00002"]
    assert summary["num_missing"] == 2
    assert clips["test_00001"]["pesq"] == {
        "value": None,
        "reason": "silent output (PESQ detects no utterance)",
    }
    assert (
        summary["metrics"]["pesq"]["num_undefined"] == 1 and summary["metrics"]["vuv_error"]["num_valid"] == 1
    )
    assert list(results["summary"]) == [GROUND_TRUTH, "broken"]  # no codec: no round-trip row
