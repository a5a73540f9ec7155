"""The front door's pure stages (no video, no detector): gaps, timing, tracking, alignment."""

from __future__ import annotations

import numpy as np
import pytest

from imagintalk.video.canonical import apply_affine, fit_similarity
from imagintalk.video.temporal import (
    fill_gaps,
    interpolate_track,
    nearest_frames,
    output_times,
    smooth_track,
)
from imagintalk.video.tracking import FaceSelector, box_iou, pick_initial


def test_fill_gaps_ends_and_interior():
    times = np.arange(10) / 10
    points = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 68, 2), np.float32)
    detected = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0, 0], bool)
    filled, long_gap = fill_gaps(np.where(detected[:, None, None], points, 0), detected, times, 1.0)
    np.testing.assert_allclose(filled[:, 0, 0], [2, 2, 2, 3, 4, 5, 6, 7, 7, 7])
    assert not long_gap.any()
    held, long_gap = fill_gaps(np.where(detected[:, None, None], points, 0), detected, times, 0.2)
    np.testing.assert_allclose(held[:, 0, 0], [2, 2, 2, 3, 3, 6, 6, 7, 7, 7])
    assert long_gap.tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_output_times_and_nearest_frames():
    src = np.arange(60) / 30 + 5.0  # a stream whose clock started at 5 s
    out = output_times(src, 25)
    assert len(out) == 50 and out[-1] == pytest.approx(49 / 25)
    nearest = nearest_frames(src, out)
    assert nearest[0] == 0 and nearest[-1] == 59 and (np.diff(nearest) >= 1).all()
    track = np.arange(60, dtype=np.float32)[:, None]
    np.testing.assert_allclose(interpolate_track(src, track, out)[:, 0], np.minimum(out * 30, 59), atol=1e-4)


def test_smoothing_keeps_lines_and_removes_jitter():
    line = np.arange(20, dtype=np.float32)[:, None]
    np.testing.assert_allclose(smooth_track(line, 5)[2:-2], line[2:-2], atol=1e-5)
    jitter = np.tile([0.0, 1.0], 10).astype(np.float32)[:, None]
    assert smooth_track(jitter, 5)[2:-2].std() < 0.5 * jitter.std()


def test_tracking_picks_the_largest_then_follows_it():
    small_centre = np.array([[90, 90, 130, 130]], np.float32)
    big_side = np.array([[0, 0, 100, 100]], np.float32)
    boxes = np.concatenate([small_centre, big_side])
    assert pick_initial(boxes, (240, 240)) == 1
    # two equal faces: the more central one
    assert pick_initial(np.array([[0, 0, 50, 50], [95, 95, 145, 145]], np.float32), (240, 240)) == 1
    selector = FaceSelector(min_iou=0.2)
    assert selector.select(boxes, 0.0, (240, 240)) == 1
    # the followed face shrinks below the other one: IoU keeps it
    moved = np.array([[5, 5, 60, 60], [60, 60, 200, 200]], np.float32)
    assert selector.select(moved, 0.04, (240, 240)) == 0
    # only someone else is visible: not taken
    assert selector.select(np.array([[150, 150, 230, 230]], np.float32), 0.08, (240, 240)) is None
    assert box_iou(big_side[0], big_side)[0] == pytest.approx(1.0)


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (11, 2))
    angle, scale, shift = 0.3, 0.01, np.array([0.2, -0.1])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    matrix = fit_similarity(src, dst)
    np.testing.assert_allclose(apply_affine(matrix, src), dst, atol=1e-9)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
