"""Speed of the whole front door (decode -> detect -> landmarks -> crops -> result), one thread.

    python -m imagintalk.video.benchmark                 # astronaut test videos (needs scikit-image)
    python -m imagintalk.video.benchmark clip.mp4 ...    # your own videos

Prints source frames per second for each video and detector interval; the shape
predictor's one-off load (~0.5 s) is excluded by a warm-up run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ..settings.video import VideoConfig
from .detectors import DlibHogDetector
from .frontdoor import process_video
from .io import write_video


def astronaut_video(path: Path, height: int, width: int, frames: int = 100, fps: float = 25.0) -> Path:
    """A moving, zooming, tilting real face (scikit-image's astronaut photo) as an mp4."""
    import cv2
    from skimage.data import astronaut

    photo = astronaut()
    centre = np.array([222.0, 126.0])  # the face in the photo; its dlib box is 87 px
    images = []
    for i in range(frames):
        scale = 0.45 * min(height, width) / 87.0 * (1 + 0.1 * np.sin(i / 11))
        m = cv2.getRotationMatrix2D(tuple(centre), 8 * np.sin(i / 6), scale)
        m[:, 2] += np.array([width / 2 + 0.05 * width * np.sin(i / 7), height / 2]) - centre
        images.append(cv2.warpAffine(photo, m, (width, height), borderMode=cv2.BORDER_REFLECT))
    return write_video(path, images, fps=fps)


def measure(path: Path, detect_every: int, repeats: int = 3) -> tuple[float, float]:
    """(source frames per second, detection rate) of process_video on one video, best of ``repeats``."""
    cfg = VideoConfig(detect_every=detect_every)
    detector = DlibHogDetector(cfg.upsample)
    process_video(path, cfg, detector)  # warm-up: loads the shape predictor
    best = float("inf")
    for _ in range(repeats):  # the best of a few runs: the build machines are shared
        start = time.perf_counter()
        result = process_video(path, cfg, detector)
        best = min(best, time.perf_counter() - start)
    return result.num_source_frames / best, result.detection_rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--detect-every", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        videos = args.videos or [
            astronaut_video(Path(tmp) / f"astronaut_{w}x{h}.mp4", h, w) for w, h in ((224, 224), (640, 480))
        ]
        for video in videos:
            for every in args.detect_every:
                fps, rate = measure(video, every)
                print(f"{video.name}: detect every {every}: {fps:.1f} frames/s (face in {100 * rate:.0f}%)")


if __name__ == "__main__":
    main()
