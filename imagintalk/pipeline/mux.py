"""Write the input video with the generated speech as its sound track (PyAV: H.264 + AAC mp4).

OpenCV cannot write H.264 here; PyAV can. The video is re-encoded frame by frame with each
frame's own timestamp (so the original frame rate, constant or variable, is kept) and never
held in memory as a whole. The output is written to a temporary file beside it and renamed
into place, so no half-written video survives an error or an interrupt.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ImaginTalkError, InputError, os_error_text
from .result import replacing

AUDIO_CHUNK = 1024  # samples per AAC frame
# output suffix -> container format; each holds H.264 + AAC
MUX_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
VIDEO_TIME_BASE = Fraction(1, 1000)


def _even(n: int) -> int:
    return max(2, n - n % 2)  # yuv420p needs even sides


def _write_audio(container, stream, wav: np.ndarray, sample_rate: int) -> None:
    import av

    samples = np.clip(np.asarray(wav, np.float32), -1.0, 1.0)
    for start in range(0, len(samples), AUDIO_CHUNK):
        chunk = samples[start : start + AUDIO_CHUNK][None]  # [1, n] planar mono
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def mux_format(out_path: str | Path) -> str:
    """The container format for ``out_path``'s suffix (MUX_FORMATS); InputError for any other."""
    suffix = Path(out_path).suffix.lower()
    if suffix not in MUX_FORMATS:
        raise InputError(f"the video with speech must be a {', '.join(MUX_FORMATS)} file, not {out_path}")
    return MUX_FORMATS[suffix]


def _encode(video_path: Path, target, wav: np.ndarray, sample_rate: int) -> None:
    """Re-encode video_path's frames and encode wav into the open output container ``target``."""
    import av

    with av.open(str(video_path)) as source:
        if not source.streams.video:
            raise InputError(f"{video_path} has no video stream")
        src = source.streams.video[0]
        rate = Fraction(src.average_rate or src.guessed_rate or 25).limit_denominator(1001)
        video = target.add_stream("libx264", rate=rate)
        video.pix_fmt = "yuv420p"
        video.width, video.height = _even(src.codec_context.width), _even(src.codec_context.height)
        video.codec_context.time_base = VIDEO_TIME_BASE
        video.options = {"crf": "20", "preset": "veryfast"}
        audio = target.add_stream("aac", rate=sample_rate, layout="mono")
        last = -1
        for index, frame in enumerate(source.decode(src)):
            time_s = float(frame.pts * src.time_base) if frame.pts is not None else index / float(rate)
            pts = max(round(time_s * 1000), last + 1)  # strictly increasing, as the encoder wants
            out = frame.reformat(width=video.width, height=video.height, format="yuv420p")
            out.pts, out.time_base, last = pts, VIDEO_TIME_BASE, pts
            for packet in video.encode(out):
                target.mux(packet)
        for packet in video.encode(None):
            target.mux(packet)
        _write_audio(target, audio, wav, sample_rate)


def mux_speech(video_path: str | Path, wav: np.ndarray, sample_rate: int, out_path: str | Path) -> Path:
    """video_path's frames (re-encoded H.264, own timestamps) + wav [N] (AAC, mono) -> out_path.

    ``out_path`` ends in .mp4, .mov or .mkv (MUX_FORMATS). It is replaced only by a complete
    file: on any error or interrupt the temporary file is removed and ``out_path`` is untouched.
    """
    import av

    video_path, out_path = Path(video_path), Path(out_path)
    container_format = mux_format(out_path)
    if not video_path.is_file():
        raise InputError(f"video not found: {video_path}")
    try:
        with replacing(out_path) as partial:
            with av.open(str(partial), mode="w", format=container_format) as target:
                _encode(video_path, target, wav, sample_rate)
    except OSError as exc:  # many av.error.* errors are OSErrors too, with an errno
        raise ImaginTalkError(os_error_text(exc, out_path)) from None
    except (av.error.FFmpegError, ValueError) as exc:
        raise ImaginTalkError(f"cannot write {out_path}: {exc}") from None
    return out_path


def stream_durations(path: str | Path) -> dict[str, float]:
    """Seconds of the video and audio streams of a media file (for checks and reports)."""
    import av

    out: dict[str, float] = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            if stream.type in ("video", "audio") and stream.duration is not None:
                out[stream.type] = float(stream.duration * stream.time_base)
    return out
