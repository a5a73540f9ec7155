"""Stages 5 and 7: fill face-less frames, resample to the output frame rate, smooth.

All functions work on landmark tracks [N, 68, 2] with per-frame times [N] in seconds.
"""

from __future__ import annotations

import numpy as np


def fill_gaps(
    landmarks: np.ndarray, detected: np.ndarray, times: np.ndarray, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fill frames without a face; returns (filled landmarks [N, 68, 2], long_gap mask [N]).

    A run of missing frames between two detections is linearly interpolated in time when it
    lasts at most ``max_gap_s`` (from the last detection before it to the first after it);
    longer runs, and runs before the first or after the last detection, repeat the nearest
    detection (long_gap marks the interior runs that were too long to interpolate).
    """
    landmarks = landmarks.astype(np.float32, copy=True)
    long_gap = np.zeros(len(times), bool)
    found = np.flatnonzero(detected)
    if len(found) == 0:
        raise ValueError("fill_gaps needs at least one detected frame")
    landmarks[: found[0]] = landmarks[found[0]]
    landmarks[found[-1] + 1 :] = landmarks[found[-1]]
    for left, right in zip(found[:-1], found[1:]):
        if right - left <= 1:
            continue
        inside = np.arange(left + 1, right)
        span = times[right] - times[left]
        if span - 1e-6 <= max_gap_s:
            w = ((times[inside] - times[left]) / span).astype(np.float32)[:, None, None]
            landmarks[inside] = (1 - w) * landmarks[left] + w * landmarks[right]
        else:
            nearer_left = (times[inside] - times[left]) <= (times[right] - times[inside])
            landmarks[inside] = np.where(nearer_left[:, None, None], landmarks[left], landmarks[right])
            long_gap[inside] = True
    return landmarks, long_gap


def output_times(times: np.ndarray, fps: float) -> np.ndarray:
    """Times [T] (from the first frame) of the output frames at ``fps`` covering the clip.

    The clip lasts from the first frame to the end of the last one (its start plus the
    median frame interval), so 60 frames at 30 fps give 2 s and 50 output frames at 25 fps.
    """
    # round half up (Python's round() would take 62.5 frames down to 62)
    return np.arange(int(np.floor(clip_duration(times, fps) * fps + 0.5))) / fps


def clip_duration(times: np.ndarray, fallback_fps: float) -> float:
    """Seconds from the first frame's start to the last frame's end."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / fallback_fps
    return float(times[-1] - times[0]) + step


def nearest_frames(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index [T] of the source frame nearest in time to each target (times relative to times[0])."""
    rel = times - times[0]
    if len(rel) == 1:
        return np.zeros(len(targets), int)
    right = np.clip(np.searchsorted(rel, targets), 1, len(rel) - 1)
    left = right - 1
    return np.where(targets - rel[left] <= rel[right] - targets, left, right).astype(int)


def interpolate_track(times: np.ndarray, track: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Linear interpolation in time of track [N, ...] at targets [T] -> [T, ...] (clamped at the ends)."""
    rel = times - times[0]
    flat = track.reshape(len(track), -1)
    out = np.stack([np.interp(targets, rel, flat[:, k]) for k in range(flat.shape[1])], 1)
    return out.reshape((len(targets),) + track.shape[1:]).astype(np.float32)


def smooth_track(track: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` frames of track [T, ...] (edges repeat the end values)."""
    if window <= 1 or len(track) < 2:
        return track.astype(np.float32, copy=True)
    half = window // 2
    padded = np.concatenate([np.repeat(track[:1], half, 0), track, np.repeat(track[-1:], half, 0)])
    kernel_len = 2 * half + 1
    cumsum = np.cumsum(np.concatenate([np.zeros_like(padded[:1]), padded]).astype(np.float64), 0)
    return ((cumsum[kernel_len:] - cumsum[:-kernel_len]) / kernel_len).astype(np.float32)
