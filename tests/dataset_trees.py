"""Tiny trees in real datasets' on-disk layouts, built from debug SynthTalk clips (for tests).

``speaking_clips`` renders SynthTalk clips and muxes each clip's speech into its mp4 (as LRS3,
LRS2 and RAVDESS ship them); ``silent_parts`` gives the same clips' silent mp4 and wav (as MEAD
and RAVDESS's takes recorded apart ship them). The ``*_tree`` functions copy them under the
names and folders the adapters in ``imagintalk.datasets`` read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np

from imagintalk.codec.audio import read_audio
from imagintalk.pipeline.mux import mux_speech
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus

SR = 16000


def speaking_clips(root: Path, count: int = 2) -> list[tuple[Path, str]]:
    """``count`` debug SynthTalk clips (~2 s) -> [(mp4 with its speech track, spoken text)]."""
    cfg = load_config("debug")
    cfg.synth.expressive = False  # the adapters' fixtures as written: plain clips, no pauses
    synth = root / "synth"
    generate_corpus(synth, count, seed=0, split="test", cfg=cfg.synth, workers=1, progress=False)
    lines = (synth / "manifest.jsonl").read_text().splitlines()
    out = []
    for entry in sorted((json.loads(line) for line in lines if line.strip()), key=lambda e: e["id"]):
        wav = read_audio(synth / entry["audio"], SR)
        muxed = mux_speech(synth / entry["video"], wav, SR, root / f"muxed_{entry['id']}.mp4")
        out.append((Path(muxed), entry["text"]))
    return out


def put(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def lrs_text(words: str) -> str:
    """An LRS2/LRS3 transcript file: the text line, then word timings."""
    return f"Text:  {words.upper()}\nConf:  4\n\nWORD START END ASDSCORE\nBIN 0.26 0.53 1.2\n"


def lrs3_tree(clips: list[tuple[Path, str]], root: Path, layout: list[tuple[str, str, str]]) -> Path:
    """``root/<subset>/<speaker>/<clip>.mp4`` + ``.txt`` for each (subset, speaker, clip) of ``layout``
    (clip k of the layout is ``clips[k % len(clips)]``)."""
    for k, (subset, speaker, clip) in enumerate(layout):
        video, text = clips[k % len(clips)]
        put(video, root / subset / speaker / f"{clip}.mp4")
        (root / subset / speaker / f"{clip}.txt").write_text(lrs_text(text))
    return root


def ravdess_tree(clips: list[tuple[Path, str]], root: Path, names: list[str]) -> Path:
    """Audio-visual takes ``root/Actor_AA/01-01-EE-II-SS-RR-AA.mp4`` named by ``names`` ("01-01-...")
    (the actor folder from the name's last field; take k is ``clips[k % len(clips)]``)."""
    for k, name in enumerate(names):
        put(clips[k % len(clips)][0], root / f"Actor_{name.split('-')[-1]}" / f"{name}.mp4")
    return root


def silent_parts(root: Path) -> list[tuple[Path, Path]]:
    """The clips ``speaking_clips(root)`` rendered, as shipped apart: [(silent mp4, wav)] by id."""
    synth = root / "synth"
    lines = (synth / "manifest.jsonl").read_text().splitlines()
    entries = sorted((json.loads(line) for line in lines if line.strip()), key=lambda e: e["id"])
    return [(synth / e["video"], synth / e["audio"]) for e in entries]


def write_m4a(path: Path, wav: np.ndarray, sample_rate: int = SR) -> Path:
    """wav [N] -> an AAC .m4a file (as MEAD ships its audio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout="mono")
        for start in range(0, len(wav), 1024):
            chunk = np.ascontiguousarray(wav[start : start + 1024][None], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def mead_tree(parts: list[tuple[Path, Path]], root: Path, takes: list[tuple[str, str, int, str]]) -> Path:
    """``root/<speaker>/video/front/<emotion>/level_<n>/<take>.mp4`` + ``audio/.../<take>.m4a`` for
    each (speaker, emotion, level, take) of ``takes`` (take k is ``parts[k % len(parts)]``)."""
    for k, (speaker, emotion, level, take) in enumerate(takes):
        video, wav = parts[k % len(parts)]
        put(video, root / speaker / "video" / "front" / emotion / f"level_{level}" / f"{take}.mp4")
        write_m4a(root / speaker / "audio" / emotion / f"level_{level}" / f"{take}.m4a", read_audio(wav, SR))
    return root


def ravdess_pairs_tree(parts: list[tuple[Path, Path]], root: Path, names: list[str]) -> Path:
    """Each take of ``names`` ("EE-II-SS-RR-AA") as RAVDESS ships a take recorded apart: the
    video-only ``02-01-<name>.mp4`` and the audio-only ``03-01-<name>.wav`` (take k: ``parts[k]``)."""
    for k, name in enumerate(names):
        video, wav = parts[k % len(parts)]
        actor = root / f"Actor_{name.split('-')[-1]}"
        put(video, actor / f"02-01-{name}.mp4")
        put(wav, actor / f"03-01-{name}.wav")
    return root


def lrs2_tree(
    clips: list[tuple[Path, str]], root: Path, layout: list[tuple[str, str, str]], test: list[str]
) -> Path:
    """``root/{main,pretrain}/<programme>/<clip>.mp4`` + ``.txt`` as ``lrs3_tree``, and
    ``root/test.txt`` listing the ``<programme>/<clip>`` of ``test``."""
    lrs3_tree(clips, root, layout)
    (root / "test.txt").write_text("".join(f"{name} NF\n" for name in test))
    return root
