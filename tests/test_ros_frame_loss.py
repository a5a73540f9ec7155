"""Frames lost upstream, estimated from camera stamps (imagintalk_ros.frame_loss); no DDS needed."""

from __future__ import annotations

import numpy as np

from imagintalk_ros.frame_loss import UpstreamLossEstimator


def camera_stamps(
    count: int, fps: float, lost: set[int], jitter_s: float = 0.0, seed: int = 0
) -> list[float]:
    """Capture stamps (s) of frames 0..count-1 at ``fps`` with jitter, without the ``lost`` ones."""
    rng = np.random.default_rng(seed)
    stamps = 100.0 + np.arange(count) / fps + rng.uniform(-jitter_s, jitter_s, count)
    return [float(t) for i, t in enumerate(stamps) if i not in lost]


def test_counts_the_frames_missing_between_stamps_with_jitter() -> None:
    lost = {20, 21, 22, 50, 90, 91}
    estimator = UpstreamLossEstimator()
    for stamp in camera_stamps(120, 30.0, lost, jitter_s=0.004):
        estimator.observe(stamp)
    assert estimator.lost == len(lost)
    assert abs(estimator.interval_s - 1 / 30) < 0.003


def test_stays_right_when_most_frames_are_lost() -> None:
    rng = np.random.default_rng(1)
    lost = {i for i in range(1, 600) if rng.random() < 0.6}  # 40% arrive, like best-effort overflow
    estimator = UpstreamLossEstimator(max_gap_s=2.0)
    for stamp in camera_stamps(600, 30.0, lost, jitter_s=0.002):
        estimator.observe(stamp)
    missed_at_start = sum(1 for i in lost if i < 40)  # nothing is counted before 8 intervals are seen
    assert len(lost) - missed_at_start <= estimator.lost <= len(lost)


def test_a_paused_camera_and_bad_stamps_are_not_losses() -> None:
    estimator = UpstreamLossEstimator(max_gap_s=1.0)
    stamps = camera_stamps(30, 25.0, set())
    for stamp in stamps:
        estimator.observe(stamp)
    assert estimator.observe(stamps[-1]) == 0 and estimator.observe(stamps[-1] - 0.5) == 0  # repeated, back
    assert estimator.observe(stamps[-1] + 3.0) == 0  # a 3 s pause: the camera stopped, nothing lost
    estimator.restart()
    for stamp in camera_stamps(30, 10.0, {12}):  # back at another rate: relearned, then one lost
        estimator.observe(stamp + 200.0)
    assert estimator.lost == 1
    assert abs(estimator.interval_s - 0.1) < 1e-6


def test_delivery_bursts_do_not_shrink_the_frame_interval() -> None:
    estimator = UpstreamLossEstimator()
    stamps = camera_stamps(60, 25.0, {40})
    stamps[10:14] = [stamps[10] + k * 0.002 for k in range(4)]  # a late driver catching up: 2 ms apart
    stamps[14:] = [t + 0.08 for t in stamps[14:]]  # ... then back on its 25 fps grid
    for stamp in stamps:
        estimator.observe(stamp)
    assert abs(estimator.interval_s - 0.04) < 1e-6
