"""``evaluate``: score systems' generated speech against a manifest's ground truth.

Next to every system it always scores two references: ``ground truth`` (the manifest
audio against itself: each metric's ceiling, e.g. its WER is the recogniser's own
error) and ``codec round trip`` (ground truth encoded and decoded: the upper bound of
any model generating in that codec's token space).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..settings.eval import EvalConfig
from .audio import load_wav, match_length, resample
from .judge import ClipPair, Score
from .judges import Judges
from .manifest import manifest_path, read_manifest
from .metrics import CORPUS_METRICS, METRICS, resolve_metrics
from .prosody import NearestProsodyClassifier, prosody_descriptors
from .report import paired_summary, summarize, write_results
from .signal import Signal
from .spectrogram import plot_comparison

if TYPE_CHECKING:
    from ..codec.base import Codec

log = logging.getLogger(__name__)

GROUND_TRUTH = "ground truth"
CODEC_ROUND_TRIP = "codec round trip"
SAMPLE_RATE = 16000
DEFAULT_METRICS = EvalConfig().metrics


def _score(value: Score) -> dict[str, Any]:
    """JSON-safe: NaN becomes null with its reason."""
    return {"value": value.value if value.valid else None, "reason": value.reason}


def codec_round_trip(codec: Codec, wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Encode + decode ``wav [N]`` with the codec at its own rate: -> float32 [N]."""
    import torch

    x = resample(wav, sample_rate, codec.sample_rate)
    with torch.inference_mode():
        y = codec.round_trip(torch.from_numpy(x).float().view(1, 1, -1)).view(-1).numpy()
    return match_length(resample(y, codec.sample_rate, sample_rate), len(wav))


def _save_wav(path: Path, wav: np.ndarray, sample_rate: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16")


class _Timer:
    """Seconds spent per metric (summed over clips and systems)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def run(self, name: str, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[name] += time.perf_counter() - start


def evaluate(
    manifest: Path,
    systems: dict[str, Path],
    codec: Codec | None,
    out_dir: Path,
    metrics: list[str] | None = None,
    spectrograms: bool = False,
    limit: int | None = None,
    paired_to: str | None = None,
    asr_model: str | Path | None = None,
    asr_device: str = "auto",
    judges: Judges | None = None,
) -> dict[str, Any]:
    """Score each system's ``<dir>/<id>.wav`` against the manifest; write results.json/.md.
    ``paired_to`` names a system (or reference) the others are compared with clip by clip:
    ``paired`` holds each one's mean ± standard error of the difference and a verdict.
    ``asr_model``: a local Whisper checkpoint folder for ``wer_whisper`` (loaded before any clip
    is scored, so a bad one fails at once); ``judges``: judges already built (else new ones).

    Returns the results dict: ``summary`` (system -> metric -> mean/std/counts),
    ``clips`` (system -> clip id -> per-metric value/reason, or ``missing``), ``metrics``
    (definitions) and ``timing``.
    """
    from tqdm import tqdm

    entries = read_manifest(manifest)[: limit if limit else None]
    data_dir = manifest_path(manifest).parent
    names = resolve_metrics(metrics, DEFAULT_METRICS)
    clip_metrics = [n for n in names if n not in CORPUS_METRICS]
    for name, folder in systems.items():
        if name in (GROUND_TRUTH, CODEC_ROUND_TRIP):
            raise InputError(f"system name {name!r} is reserved for a reference")
        if not Path(folder).is_dir():
            raise InputError(f"system {name!r}: {folder} is not a directory")
    system_names = [GROUND_TRUTH] + ([CODEC_ROUND_TRIP] if codec is not None else []) + list(systems)
    if paired_to is not None and paired_to not in system_names:
        raise InputError(f"--paired-to {paired_to!r} is not one of the systems: {', '.join(system_names)}")
    out_dir = Path(out_dir)
    judges, timer = judges if judges is not None else Judges(asr_model, asr_device), _Timer()
    if "wer_whisper" in names and judges.asr_model is None:
        raise InputError("metric wer_whisper needs a Whisper checkpoint (--asr-model DIR)")
    if judges.asr_model is not None:
        judges.whisper  # noqa: B018 - load (or refuse) the checkpoint now, not after half the clips
    clips: dict[str, dict[str, dict]] = {s: {} for s in system_names}
    descriptors: dict[str, dict[str, np.ndarray | None]] = {s: {} for s in system_names}
    start = time.perf_counter()

    for entry in tqdm(entries, desc="evaluating", unit="clip"):
        clip_id, text = str(entry["id"]), str(entry.get("text", ""))
        try:
            reference = Signal(load_wav(data_dir / entry["audio"], SAMPLE_RATE), SAMPLE_RATE)
        except InputError as exc:
            log.warning("clip %s: ground truth unreadable (%s); skipped for every system", clip_id, exc)
            for s in system_names:
                clips[s][clip_id] = {"missing": f"ground truth unreadable: {exc}"}
            continue
        outputs: dict[str, Signal | str] = {GROUND_TRUTH: reference}
        if codec is not None:
            wav = timer.run("codec", codec_round_trip, codec, reference.wav, SAMPLE_RATE)
            _save_wav(out_dir / "codec_round_trip" / f"{clip_id}.wav", wav, SAMPLE_RATE)
            outputs[CODEC_ROUND_TRIP] = Signal(wav, SAMPLE_RATE)
        for name, folder in systems.items():
            outputs[name] = _system_output(Path(folder) / f"{clip_id}.wav", len(reference.wav))

        for name, output in outputs.items():
            if isinstance(output, str):
                clips[name][clip_id] = {"missing": output}
                continue
            pair = ClipPair(clip_id, reference, output, text, entry)
            clips[name][clip_id] = {
                m: _score(timer.run(m, _safe_metric, m, pair, judges)) for m in clip_metrics
            }
            if "emo_acc" in names:
                descriptors[name][clip_id] = prosody_descriptors(output)
        if spectrograms:
            shown = {n: s.wav for n, s in outputs.items() if isinstance(s, Signal)}
            plot_comparison(clip_id, shown, SAMPLE_RATE, out_dir / "spectrograms" / f"{clip_id}.png", text)

    if "emo_acc" in names:
        _score_emotion_agreement(entries, clips, descriptors)
    elapsed = time.perf_counter() - start
    results = {
        "manifest": str(manifest_path(manifest)),
        "num_clips": len(entries),
        "systems": {s: str(systems.get(s, "")) for s in system_names},
        "codec": getattr(codec, "name", None) if codec is not None else None,
        "asr_model": str(judges.asr_model) if judges.asr_model is not None else None,
        "metrics": {
            n: {
                "higher_is_better": METRICS[n].higher_is_better,
                "unit": METRICS[n].unit,
                "definition": METRICS[n].definition,
            }
            for n in names
        },
        "summary": {s: summarize(clips[s], names) for s in system_names},
        "clips": clips,
        "paired": paired_summary(clips, paired_to, names) if paired_to is not None else None,
        "timing": {
            "total_s": elapsed,
            "per_clip_s": elapsed / max(len(entries), 1),
            "per_metric_s": dict(timer.seconds),
        },
    }
    results["markdown"] = write_results(results, names, out_dir)
    return results


def _system_output(path: Path, length: int) -> Signal | str:
    """A system's wav trimmed / zero-padded to the reference ``length``, or why it is missing."""
    if not path.is_file():
        return f"no file {path.name}"
    try:
        wav = load_wav(path, SAMPLE_RATE)
    except InputError as exc:
        return str(exc)
    # generated speech should have the video's duration; frames line up with the reference's
    return Signal(match_length(wav, length), SAMPLE_RATE)


def _safe_metric(name: str, pair: ClipPair, judges: Judges) -> Score:
    """One metric on one clip; a failure of an outside tool becomes NaN with its reason."""
    try:
        return METRICS[name].fn(pair, judges)
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        log.warning("%s failed on %s: %s", name, pair.clip_id, exc)
        return Score.undefined(f"{name} failed: {type(exc).__name__}: {exc}")


def _score_emotion_agreement(entries, clips, descriptors) -> None:
    """Corpus-level ``emo_acc``: references = the ground-truth clips of the evaluated split."""
    emotions = {str(e["id"]): e.get("emotion") or None for e in entries}  # "" = no label (LRS3)
    speakers = {str(e["id"]): e.get("speaker") for e in entries}
    refs = {
        cid: (d, emotions[cid], speakers[cid])
        for cid, d in descriptors[GROUND_TRUTH].items()
        if d is not None and emotions.get(cid) is not None
    }
    if not refs:  # e.g. LRS3: no labels at all; the classifier needs at least one reference
        labelled = any(e is not None for e in emotions.values())
        why = (
            "no voiced ground-truth clip with an emotion label"
            if labelled
            else "no emotion label in the manifest"
        )
        for system, per_clip in descriptors.items():
            for cid in per_clip:
                clips[system][cid]["emo_acc"] = _score(Score.undefined(why))
        return
    classifier = NearestProsodyClassifier(refs)
    for system, per_clip in descriptors.items():
        for cid, desc in per_clip.items():
            clips[system][cid]["emo_acc"] = _score(
                classifier.score(cid, desc, emotions.get(cid), speakers.get(cid))
            )
