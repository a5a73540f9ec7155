"""The shipped default model (models/imagintalk): files, size, and speaking the sample clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagintalk.pipeline import Pipeline
from imagintalk.settings import DEFAULT_MODEL_DIR
from imagintalk.video.io import iter_frames

ROOT = Path(__file__).resolve().parents[1]
MODEL = DEFAULT_MODEL_DIR
EXAMPLES = ROOT / "examples"


def test_shipped_models_are_safetensors_and_json_under_100_mb() -> None:
    files = [p for p in (ROOT / "models").rglob("*") if p.is_file()]
    suffixes = {p.suffix for p in files}
    assert suffixes <= {".safetensors", ".json", ".md"}, suffixes
    assert sum(p.stat().st_size for p in files) < 100e6
    names = ("config.json", "lip.safetensors", "mlm.safetensors", "style.safetensors", "dit.safetensors")
    for name in (*names, "fine.safetensors"):
        assert (MODEL / name).is_file(), name
    config = json.loads((MODEL / "config.json").read_text())
    assert config["mlm"]["tau"] == pytest.approx(0.9)
    assert config["fine"]["enabled"] and config["dit"]["num_codebooks"] < config["codec"]["num_codebooks"]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline.from_dir(steps=8)  # the default: models/imagintalk and the shipped codec


@pytest.mark.parametrize("clip", ["synthtalk_test.mp4", "photo_mouthing.mp4"])
def test_the_default_model_speaks_the_examples_for_their_whole_duration(pipeline, clip) -> None:
    result = pipeline.speak_file(EXAMPLES / clip)
    times = [t for _, t in iter_frames(EXAMPLES / clip)]
    video_s = times[-1] + (times[1] - times[0])  # the last frame lasts one frame interval too
    assert result.duration == pytest.approx(video_s, abs=0.5 / 25 + 1e-6)  # rounded to whole 25 fps frames
    assert result.wav.std() > 1e-3 and all(w.status == "spoken" for w in result.windows)
    assert result.tokens.shape[0] == pipeline.codec.num_codebooks == 12  # the completer adds the fine levels
