"""RAVDESS: ``ROOT/Actor_XX/MM-VV-EE-II-SS-RR-AA.mp4|.wav`` (speech and song, 24 actors).

Name fields: modality MM (01 audio-visual, 02 video-only, 03 audio-only), vocal channel VV
(01 speech, 02 song: skipped), emotion EE, intensity II (01 normal, 02 strong), statement SS,
repetition RR, actor AA. A take (VV-EE-II-SS-RR-AA) is used once: its audio-visual mp4 (which
carries its audio) when present, else its video-only mp4 paired with the audio-only wav of the
same take. Text is the statement.
"""

from __future__ import annotations

from pathlib import Path

from .base import DEFAULT_VAL_SHARE, ClipEntry, Scan, assign_splits, check_root, drop_duplicate_ids, safe_id

EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
INTENSITIES = {"01": 1, "02": 2}  # normal, strong
AUDIO_VISUAL, VIDEO_ONLY, AUDIO_ONLY = "01", "02", "03"
SUFFIXES = {AUDIO_VISUAL: ".mp4", VIDEO_ONLY: ".mp4", AUDIO_ONLY: ".wav"}


def parse_name(path: Path) -> tuple[str, ...] | None:
    """``MM-VV-EE-II-SS-RR-AA.ext`` -> its seven fields, or None when the name is not one."""
    fields = tuple(path.stem.split("-"))
    if len(fields) != 7 or not all(len(f) == 2 and f.isdigit() for f in fields):
        return None
    modality, channel, emotion, intensity, statement = fields[:5]
    if (
        SUFFIXES.get(modality) != path.suffix.lower()
        or channel not in ("01", "02")
        or emotion not in EMOTIONS
        or intensity not in INTENSITIES
        or statement not in STATEMENTS
    ):
        return None
    return fields


def scan_ravdess(root: str | Path, val_share: float = DEFAULT_VAL_SHARE, **_: object) -> Scan:
    """RAVDESS under ``root`` -> entries (``ravdess-<file name>``) and skipped files."""
    root, scan = check_root(root), Scan()
    takes: dict[tuple[str, ...], dict[str, Path]] = {}  # take fields -> modality -> file
    for actor_dir in sorted(p for p in root.glob("Actor_*") if p.is_dir()):
        for path in sorted(p for p in actor_dir.iterdir() if p.suffix.lower() in (".mp4", ".wav")):
            fields = parse_name(path)
            if fields is None:
                scan.skip(path, "not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA)")
            elif fields[1] == "02":
                scan.skip(path, "song (vocal channel 02)")
            else:
                takes.setdefault(fields[1:], {})[fields[0]] = path
    for take, files in sorted(takes.items()):
        if AUDIO_VISUAL in files:
            video = audio = files[AUDIO_VISUAL]
            for modality in (VIDEO_ONLY, AUDIO_ONLY):
                if modality in files:
                    scan.skip(files[modality], "redundant: the take's audio-visual file is used")
        elif VIDEO_ONLY in files and AUDIO_ONLY in files:
            video, audio = files[VIDEO_ONLY], files[AUDIO_ONLY]
        elif VIDEO_ONLY in files:
            scan.skip(files[VIDEO_ONLY], "video-only take without its audio-only wav")
            continue
        else:
            scan.skip(files[AUDIO_ONLY], "audio-only take without a video")
            continue
        _, emotion, intensity, statement, _, actor = take
        scan.entries.append(
            ClipEntry(
                id=safe_id("ravdess", video.stem),
                video=str(video),
                audio=str(audio),
                speaker=f"Actor_{actor}",
                dataset="ravdess",
                text=STATEMENTS[statement],
                emotion=EMOTIONS[emotion],
                intensity=INTENSITIES[intensity],
            )
        )
    drop_duplicate_ids(scan)
    assign_splits(scan.entries, val_share)
    return scan
