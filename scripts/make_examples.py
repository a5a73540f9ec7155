"""Make the sample clips in examples/ (run by hand; the outputs are committed, ~0.3 MB).

    .venv/bin/python scripts/make_examples.py [--out examples]

1. ``synthtalk_test.mp4``: one SynthTalk test-split clip (an unseen speaker saying an unseen
   sentence; silent, 25 fps, 224 x 224), made by ``imagintalk synth``.
2. ``photo_mouthing.mp4``: a real photograph (scikit-image's astronaut, Eileen Collins, NASA,
   public domain) whose mouth is opened and closed by a piecewise-affine warp that follows the
   mouth opening of clip 1, frame by frame, at 30 fps and 320 x 320. It is a real face under a
   camera's colours and lighting but not a recorded talking face: the lips move, the
   articulation inside the mouth is only a dark gap. It checks that a face unlike the
   renderer's, at another frame rate and size, goes through the whole pipeline.

The sentence of clip 1 is written to examples/README.md by hand from the printed text.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from imagintalk.settings import load_config
from imagintalk.video.frontdoor import FaceTrack, process_video
from imagintalk.video.io import write_video
from imagintalk.video.mouth import mouth_opening

# 68-point indices that move down when the jaw opens: lower outer lip, lower inner lip, chin
LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]
CHIN = [6, 7, 8, 9, 10]
INNER_LIP = list(range(60, 68))
SIZE, FPS = 320, 30.0


def synth_clip(work: Path, seed: int) -> tuple[Path, dict]:
    """One SynthTalk test clip -> (video path, manifest entry)."""
    cmd = [sys.executable, "-m", "imagintalk.cli", "synth", "--out", str(work), "--clips", "1"]
    cmd += ["--seed", str(seed), "--split", "test", "--preset", "synth", "--no-progress"]
    # the speaker pool of the default model's corpus (scripts/train_default.sh): a held-out voice
    cmd += ["--set", "synth.num_speakers=120", "--set", "synth.num_test_speakers=16"]
    subprocess.run(cmd, check=True)
    entry = json.loads((work / "manifest.jsonl").read_text().splitlines()[0])
    return work / entry["video"], entry


def photo_and_landmarks() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo cropped to SIZE x SIZE around the face (RGB) and its 68 landmarks."""
    from skimage import data

    photo = data.astronaut()  # [512, 512, 3] RGB
    obs = FaceTrack(load_config("synth").video, color="rgb").push(photo, 0.0)
    if not obs.found:
        raise SystemExit("no face found in the astronaut photo")
    centre = obs.landmarks.mean(axis=0)
    x0 = int(np.clip(centre[0] - SIZE / 2, 0, photo.shape[1] - SIZE))
    y0 = int(np.clip(centre[1] - SIZE / 2, 0, photo.shape[0] - SIZE))
    crop = np.ascontiguousarray(photo[y0 : y0 + SIZE, x0 : x0 + SIZE])
    return crop, obs.landmarks - np.array([x0, y0], np.float32)


def openings_at(clip: Path, fps: float) -> np.ndarray:
    """The clip's mouth opening (0..1, its own range) resampled to ``fps`` -> [T]."""
    track = process_video(clip, load_config("synth").video)
    raw = np.array([mouth_opening(p) or 0.0 for p in track.aligned_landmarks])
    raw = (raw - raw.min()) / max(raw.max() - raw.min(), 1e-6)
    times = np.arange(int(track.num_frames / track.fps * fps)) / fps
    return np.interp(times, track.times, raw)


def mouth_frame(photo: np.ndarray, points: np.ndarray, opening: float) -> np.ndarray:
    """The photo with its jaw dropped by ``opening`` (0..1) -> [SIZE, SIZE, 3] RGB."""
    from skimage.transform import PiecewiseAffineTransform, warp

    lip_height = float(np.ptp(points[48:60, 1]))
    moved = points.copy()
    moved[LOWER_LIP, 1] += 0.9 * lip_height * opening
    moved[CHIN, 1] += 0.6 * lip_height * opening
    border = np.array([[x, y] for x in (0, SIZE - 1) for y in (0, SIZE - 1)], np.float32)
    border = np.vstack([border, [[SIZE / 2, 0], [SIZE / 2, SIZE - 1], [0, SIZE / 2], [SIZE - 1, SIZE / 2]]])
    # warp() wants the map from output pixels (moved landmarks) back to input pixels (the photo's)
    source, target = np.vstack([moved, border]), np.vstack([points, border])
    transform = PiecewiseAffineTransform.from_estimate(source, target)
    out = (warp(photo, transform, output_shape=photo.shape[:2]) * 255).astype(np.uint8)
    if opening > 0.05:  # the gap between the lips: the dark of the mouth
        gap = np.round(moved[INNER_LIP]).astype(np.int32)
        cv2.fillPoly(out, [gap], (40, 18, 20), lineType=cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("examples"))
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clip, entry = synth_clip(Path(tmp) / "synth", args.seed)
        shutil.copy(clip, args.out / "synthtalk_test.mp4")
        print(f"synthtalk_test.mp4: {entry['speaker']}, {entry['emotion']}, {entry['text']!r}")
        photo, points = photo_and_landmarks()
        frames = [mouth_frame(photo, points, o) for o in openings_at(clip, FPS)]
    write_video(args.out / "photo_mouthing.mp4", frames, fps=FPS, color="rgb")
    print(f"photo_mouthing.mp4: {len(frames)} frames at {FPS:g} fps, {SIZE} x {SIZE}")


if __name__ == "__main__":
    main()
