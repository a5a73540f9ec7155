"""Reading audio files into mono float arrays at a requested sample rate."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from ..errors import InputError


def resample(wav: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """wav [..., N] at src_rate -> [..., N * dst / src] at dst_rate (polyphase, anti-aliased)."""
    if src_rate == dst_rate:
        return wav
    from scipy.signal import resample_poly

    g = gcd(int(src_rate), int(dst_rate))
    return resample_poly(wav, dst_rate // g, src_rate // g, axis=-1).astype(np.float32)


def _decode_with_av(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream of a container (mp4, m4a, ...) -> (wav [N] float32 mono, its rate)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            to_planar = av.AudioResampler(format="fltp")  # keeps the layout and the rate
            chunks, rate = [], stream.codec_context.sample_rate
            for frame in container.decode(stream):
                rate = frame.sample_rate or rate
                for out in to_planar.resample(frame):
                    chunks.append(out.to_ndarray().mean(0))  # [channels, n] -> [n]
            for out in to_planar.resample(None):
                chunks.append(out.to_ndarray().mean(0))
    except av.FFmpegError as exc:
        raise InputError(f"cannot read audio file {path}: {exc}") from None
    if not chunks or not rate:
        raise InputError(f"audio file {path} is empty")
    return np.concatenate(chunks).astype(np.float32), int(rate)


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """An audio file -> wav [N] float32 mono (channels averaged) at ``sample_rate``.

    Anything soundfile reads (wav, flac, ogg) is read by it; anything else, e.g. the audio track
    of an mp4 video or an m4a (AAC) file, is decoded with PyAV. Both are resampled the same way.
    """
    wav, rate = read_audio_native(path)
    return resample(wav, rate, sample_rate).astype(np.float32)


def read_audio_native(path: str | Path) -> tuple[np.ndarray, int]:
    """An audio file -> (wav [N] float32 mono, its own sample rate); see ``read_audio``."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise InputError(f"audio file not found: {path}")
    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
        wav = wav.mean(1)
    except (RuntimeError, sf.LibsndfileError) as exc:
        if path.suffix.lower() in (".wav", ".flac", ".ogg"):  # soundfile's own formats: its error stands
            raise InputError(f"cannot read audio file {path}: {exc}") from None
        wav, rate = _decode_with_av(path)
    if wav.size == 0:
        raise InputError(f"audio file {path} is empty")
    return wav.astype(np.float32), int(rate)
