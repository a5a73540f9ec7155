"""Filling the package's messages: SpeechAudio from a finished SpeechJob, SpeechStatus from counters."""

from __future__ import annotations

import array
import math
import time
from types import ModuleType

import numpy as np

from imagintalk.pipeline import STAGES
from imagintalk.stream import SpeechJob


def stamp_of(seconds: float):
    """Seconds (float) -> builtin_interfaces/Time."""
    from builtin_interfaces.msg import Time

    sec = math.floor(seconds)
    return Time(sec=int(sec), nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


def seconds_of(stamp) -> float:
    """builtin_interfaces/Time -> seconds (float)."""
    return stamp.sec + stamp.nanosec * 1e-9


def typed_array(code: str, values: np.ndarray, dtype: type) -> array.array:
    """numpy -> array.array by bytes (a message setter checks numpy arrays item by item: 30x slower)."""
    out = array.array(code)
    out.frombytes(np.ascontiguousarray(values, dtype).tobytes())
    return out


def start_of(job: SpeechJob) -> float:
    """The speech's stamp (s): the utterance's first frame; typed text without a face: when it was asked."""
    if job.utterance is not None and job.text is None:
        return job.utterance.start_s
    return time.time() - (time.perf_counter() - job.submitted_at)


def speech_audio(msgs: ModuleType, job: SpeechJob, frame_id: str, latency_s: float, steps: int):
    """A SpeechAudio message of a spoken job (job.result set): float32 mono samples and timing."""
    result, utterance = job.result, job.utterance
    msg = msgs.SpeechAudio()
    msg.header.stamp = stamp_of(start_of(job))
    msg.header.frame_id = frame_id
    msg.sample_rate, msg.channels, msg.encoding = int(result.sample_rate), 1, "float32"
    msg.samples = typed_array("f", result.wav, np.float32)
    msg.duration = float(result.duration)
    msg.reason = "text" if job.text is not None else utterance.reason
    msg.video_frames, msg.video_fps = int(result.num_frames), float(result.fps)
    msg.token_frames_per_video_frame = int(len(result.units) // max(result.num_frames, 1))
    msg.units = typed_array("i", result.units, np.int32)
    msg.flagged_fraction = float(result.flagged_fraction)
    msg.diffusion_steps = int(steps)
    msg.latency = float(latency_s)
    names = ["queue", *STAGES]
    seconds = [job.latency_s.get("queue", 0.0), *(result.timings.get(stage, 0.0) for stage in STAGES)]
    msg.stage_names, msg.stage_seconds = names, [float(s) for s in seconds]
    return msg


def speech_status(msgs: ModuleType, now, fields: dict, rejected: dict[str, int]):
    """A SpeechStatus message: ``fields`` by message field name, ``rejected`` counts by kind."""
    msg = msgs.SpeechStatus()
    msg.header.stamp = now
    for name, value in fields.items():
        setattr(msg, name, value)
    kinds = sorted(k for k, n in rejected.items() if n)
    msg.rejected_kinds = kinds
    msg.rejected_counts = [int(rejected[k]) for k in kinds]
    msg.frames_rejected = int(sum(msg.rejected_counts))
    return msg
