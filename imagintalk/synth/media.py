"""Writing a clip's files: silent H.264 mp4 (PyAV) and PCM16 mono wav."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import DependencyError


def write_video(path: Path, frames: np.ndarray, fps: int, crf: int = 20) -> None:
    """frames [T, H, W, 3] uint8 RGB -> silent H.264 mp4 (yuv420p, one thread: deterministic bytes)."""
    try:
        import av
    except ImportError:
        raise DependencyError("PyAV is needed to write mp4: pip install av") from None
    tmp = path.with_name(path.name + ".tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        # x264's macroblock-tree rate control gave run-to-run byte differences here: off
        stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "threads=1:mbtree=0"}
        for index, frame in enumerate(frames):
            # convert to I420 here (OpenCV, BT.601 video range) rather than per frame in libswscale
            yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
            picture = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            picture.pts = index  # explicit timestamps: the encoder's rate control sees steady 1/fps steps
            picture.time_base = Fraction(1, fps)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)


def read_video(path: Path) -> np.ndarray:
    """An mp4 -> [T, H, W, 3] uint8 RGB."""
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """audio [N] int16 -> mono PCM16 wav."""
    tmp = path.with_name(path.name + ".tmp.wav")
    with wave.open(str(tmp), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(np.ascontiguousarray(audio, dtype="<i2").tobytes())
    tmp.replace(path)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A PCM16 wav -> ([N] int16, sample rate)."""
    with wave.open(str(path), "rb") as handle:
        data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        return data.astype(np.int16), handle.getframerate()
