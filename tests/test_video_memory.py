"""Memory of the front door on a high-resolution file: the frames are read at the working size.

Full-size 4K frames (24.9 MB each, plus an 8.3 MB gray copy) made the process follow glibc's heap
fragmentation: ``imagintalk speak`` on a 10 s 4K clip peaked at 4.7 GB. The figures for whole runs
come from ``scripts/frame_memory_bench.py``; here, one short 4K clip through ``process_video`` in a
fresh process, whose peak resident memory may grow by at most GROWTH_BOUND_MB while it reads.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dlib")

from imagintalk.settings.video import VideoConfig  # noqa: E402
from imagintalk.video.frontdoor import working_max_side  # noqa: E402
from imagintalk.video.io import iter_frames, working_size, write_video  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "photo_mouthing.mp4"
FACE_SQUARE = (84, 46, 160)  # x, y, side of the square around the example's face (its box is 87 px)
UHD = (3840, 2160)
# What may stay: the decoder's own 4K pictures (~12 MB each in yuv420p; measured growth with the
# working size ~90 MB) and frames at the working size (0.7 MB each). Read at 3840x2160 (before the
# cap) the same run grew by 720 and 1340 MB in two tries (two frames and their gray copies alone
# are 66 MB, and the rest is glibc's heap fragmenting around them).
GROWTH_BOUND_MB = 150

CHILD = """
import resource, sys
from imagintalk.video.frontdoor import FaceTrack, process_video
from imagintalk.video.warmup import warm_up_detector
track = FaceTrack()
warm_up_detector(track.detector, track.cfg.detect_size)  # the models' own memory is not counted
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = process_video(sys.argv[1], track.cfg, track.detector)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024, result.source_size[0], result.source_size[1], result.detection_rate)
"""


@pytest.fixture(scope="module")
def uhd_clip(tmp_path_factory) -> Path:
    """2.5 s at 25 fps, 3840x2160: the example's face filling ~55 % of the frame height."""
    import cv2

    x, y, side = FACE_SQUARE
    faces = [frame[y : y + side, x : x + side] for frame, _ in iter_frames(EXAMPLE, color="rgb")]
    width, height = UHD
    pad = (width - height) // 2

    def frames():
        for i in range(63):
            big = cv2.resize(faces[i % len(faces)], (height, height), interpolation=cv2.INTER_CUBIC)
            yield cv2.copyMakeBorder(big, 0, 0, pad, width - height - pad, cv2.BORDER_REPLICATE)

    return write_video(tmp_path_factory.mktemp("uhd") / "uhd.mp4", frames(), fps=25.0)


def test_a_4k_file_is_read_at_the_working_size(uhd_clip) -> None:
    side = working_max_side(VideoConfig())  # the front door's size for the default detector: 640
    frame, _ = next(iter_frames(uhd_clip, max_side=side))
    assert frame.shape == (360, 640, 3) and max(frame.shape) == side == 640
    full, _ = next(iter_frames(uhd_clip))  # by default, as stored
    assert full.shape == (2160, 3840, 3)


def test_working_size_keeps_small_frames_and_the_aspect() -> None:
    assert working_size(640, 480, 640) is None and working_size(3840, 2160, None) is None
    assert working_size(3840, 2160, 640) == (640, 360)
    assert working_size(1080, 1920, 640) == (360, 640)  # portrait
    assert working_size(1366, 768, 640) == (640, 360)  # both sides even


def test_front_door_memory_on_a_4k_file_stays_bounded(uhd_clip) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(uhd_clip)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    growth_mb, height, width, detected = (float(v) for v in done.stdout.split())
    assert (height, width) == (360, 640) and detected > 0.9  # the face is still found in every frame
    assert growth_mb < GROWTH_BOUND_MB, f"peak RSS grew by {growth_mb:.0f} MB reading a 2.5 s 4K clip"
