"""The one detector warm-up (imagintalk.video.warmup) shared by the ROS node and the desktop app, and
the claim its docstring makes: dlib works when first used on a worker thread (QThread or plain)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("dlib")

from imagintalk.video import landmarks  # noqa: E402
from imagintalk.video.detectors import DlibHogDetector  # noqa: E402
from imagintalk.video.warmup import warm_up_detector  # noqa: E402


class CountingDetector:
    """A real dlib detector that counts its calls."""

    def __init__(self) -> None:
        self.inner, self.calls = DlibHogDetector(), 0

    def __call__(self, gray: np.ndarray):
        self.calls += 1
        return self.inner(gray)


def test_warm_up_runs_the_detector_and_loads_the_landmark_model_on_this_thread() -> None:
    landmarks._predictor.cache_clear()
    detector = CountingDetector()
    assert warm_up_detector(detector, 320) is detector
    assert detector.calls >= 1
    assert landmarks._predictor.cache_info().currsize == 1  # the shape predictor is loaded now


# dlib (detector + shape predictor) used for the first time in a fresh process, on the given thread
FIRST_USE = textwrap.dedent(
    """
    import sys, threading
    import cv2
    from skimage.data import astronaut
    result = {}

    def work():
        from imagintalk.video.detectors import DlibHogDetector, detect_faces
        from imagintalk.video.landmarks import predict_landmarks
        gray = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)
        boxes, _ = detect_faces(DlibHogDetector(), gray, 320)
        result["landmarks"] = predict_landmarks(gray, boxes[0])

    if sys.argv[1] == "qthread":
        from PyQt6.QtCore import QCoreApplication, QThread

        class Worker(QThread):
            def run(self):
                work()

        app = QCoreApplication([])
        worker = Worker()
        worker.start()
        worker.wait()
    elif sys.argv[1] == "thread":
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    else:
        work()
    print(" ".join(f"{v:.1f}" for v in result["landmarks"].ravel()))
    """
)


def _first_use(where: str) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_USE, where], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"dlib first used on {where}: exit {done.returncode}\n{done.stderr[-2000:]}"
    return [float(v) for v in done.stdout.split()]


@pytest.mark.parametrize("where", ["qthread", "thread"])
def test_dlib_first_used_on_a_worker_thread_works_like_on_the_main_thread(where) -> None:
    """What the warm-up's docstring says: no main-thread first use is needed (the warm-up is for the
    load time and for errors at start-up). A crash or different landmarks would fail here."""
    if where == "qthread":
        pytest.importorskip("PyQt6")
    pytest.importorskip("skimage")
    on_main = _first_use("main")
    assert len(on_main) == 68 * 2
    assert _first_use(where) == on_main


def test_the_node_and_the_app_use_the_shared_warm_up() -> None:
    from imagintalk.video import warmup

    capture = pytest.importorskip("desktop_app.jobs.capture")
    assert capture.warm_up_detector is warmup.warm_up_detector
    assert not hasattr(capture, "warmed_up_detector")  # the app's own copy is gone
    try:
        from imagintalk_ros import speak_node
    except ImportError:  # no ROS 2 here: the app's check above still ran
        return
    assert speak_node.warm_up_detector is warmup.warm_up_detector
