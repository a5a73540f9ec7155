"""Warm up the front door's dlib models at start-up, before a worker thread pushes frames.

Used by the ROS node (activate) and the desktop app (the capture job's construction).
"""

from __future__ import annotations

import numpy as np

from .detectors import FaceDetector, detect_faces
from .landmarks import predict_landmarks


def warm_up_detector(detector: FaceDetector, detect_size: int) -> FaceDetector:
    """Run ``detector`` and the landmark model once on a blank image, on the calling thread; returns
    the detector.

    What it is for: the first landmark call loads dlib's 68-point shape predictor (~0.8 s on the
    shared build machine; later calls take ~2 ms). Done at start-up, that wait is not added to the
    first camera frame on the worker thread, and a missing or broken model file is an error at
    start-up (where the node's activate and the app's construction report it), not on the worker.

    What it is not for: dlib does not need its first use on the main thread. First used on a QThread
    or on a plain Python thread, in a fresh process, it gives the same landmarks as on the main
    thread (tried in tests/test_detector_warmup.py). The desktop-app crash once blamed on it was Qt
    aborting when a QThread object died while its thread still ran (see AppController.shutdown).
    """
    gray = np.zeros((96, 96), np.uint8)
    detect_faces(detector, gray, detect_size)
    predict_landmarks(gray, np.array([16, 16, 80, 80], np.float32))
    return detector
