"""Tiny trees in real datasets' on-disk layouts, built from debug SynthTalk clips (for tests).

``speaking_clips`` renders SynthTalk clips and muxes each clip's speech into its mp4 (as LRS3
and RAVDESS ship them); ``lrs3_tree`` / ``ravdess_tree`` copy those clips under the names and
folders the adapters in ``imagintalk.datasets`` read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from imagintalk.codec.audio import read_audio
from imagintalk.pipeline.mux import mux_speech
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus

SR = 16000


def speaking_clips(root: Path, count: int = 2) -> list[tuple[Path, str]]:
    """``count`` debug SynthTalk clips (~2 s) -> [(mp4 with its speech track, spoken text)]."""
    cfg = load_config("debug")
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
