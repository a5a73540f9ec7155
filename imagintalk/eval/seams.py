"""Seams between utterance windows: can the joins of long speech be heard?

    python -m imagintalk.eval.seams DATA_DIR [--model DIR] [--limit N] [--max-window-s S]
        [--seconds S] [--mix-speakers] [--steps N] [--seed S] [--controls K] [--json OUT] [--wavs DIR]

A long video is spoken window by window (pipeline.windows) and the windows' speech is joined by
``assemble``. This speaks long inputs made from DATA_DIR's clips (a SynthTalk-style manifest with
``video`` and ``audio``): each speaker's clips are joined in id order into one video of up to
``--seconds`` (``--mix-speakers``: all clips in id order, whoever speaks), with the clips'
ground-truth audio joined the same way. At every window join (``result.windows``) it measures

- ``level_20ms`` / ``level_200ms``: |level before - level after| in dB (RMS of the 20 / 200 ms
  just before the join against the 20 / 200 ms just after);
- ``spectrum_32ms`` / ``spectrum_200ms``: the log-mel distance (40 bands, RMS over bands, dB)
  between the 32 ms frame just before and just after (200 ms: the mean spectra of the spans);
- ``click``: how far the largest sample step within 2.5 ms of the join stands above the typical
  sample step of the 40 ms around it (dB); a click or a broken waveform reads high;
- ``dip``: how far the 10 ms centred on the join lie below the 10 ms on either side (dB): a gap,
  or a fade to silence between two sounds, reads high.

Levels below -60 dBFS count as -60 dB (silence against silence is no seam). The same measures
are taken (a) in the ground-truth audio at the same positions and (b) at ``--controls`` random
positions per join inside the windows (at least 200 ms from any join), in both signals. The
claim "the seams are inaudible" holds for a measure when the generated speech's excess over the
ground truth at the joins (paired, per position) is not larger than its excess inside the
windows by more than two standard errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImaginTalkError, InputError, os_error_text
from ..settings import DEFAULT_MODEL_DIR
from .manifest import read_manifest

FLOOR_DB = -60.0  # quieter than this counts as silence
MEL_BANDS = 40
MEASURES = ("level_20ms", "level_200ms", "spectrum_32ms", "spectrum_200ms", "click", "dip")
GROUPS = ("joins", "within")
SIGNALS = ("generated", "ground_truth")
GUARD_S = 0.2  # control positions keep this far from any join and from the ends


# ---------------------------------------------------------------- the measures


def level_db(segment: np.ndarray) -> float:
    """RMS level of segment [N] in dBFS, floored at FLOOR_DB."""
    power = float(np.mean(np.square(segment, dtype=np.float64))) if len(segment) else 0.0
    return max(10.0 * math.log10(max(power, 1e-30)), FLOOR_DB)


@dataclass
class SeamMeter:
    """The seam measures of one signal at one sample position (NaN where a span leaves the signal)."""

    sample_rate: int
    n_fft: int = 512

    def __post_init__(self) -> None:
        import librosa

        self.mel = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=MEL_BANDS)  # [B, F]
        self.mel /= self.mel.sum(axis=1, keepdims=True)  # each band: a weighted mean of bin powers
        self.window = np.hanning(self.n_fft).astype(np.float64)

    def samples(self, seconds: float) -> int:
        return int(round(seconds * self.sample_rate))

    def mel_db(self, segment: np.ndarray) -> np.ndarray:
        """Mean log-mel spectrum [B] (dB) of segment [N >= n_fft]: n_fft frames, hop n_fft / 2.

        Scaled so that a white signal of level L reads ~L in every band; floored at FLOOR_DB.
        """
        hop = self.n_fft // 2
        starts = range(0, len(segment) - self.n_fft + 1, hop)
        frames = np.stack([segment[s : s + self.n_fft] for s in starts]).astype(np.float64) * self.window
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 / np.sum(self.window**2)  # white: sigma^2 a bin
        bands = self.mel @ power.mean(axis=0)
        return np.maximum(10 * np.log10(np.maximum(bands, 1e-30)), FLOOR_DB)

    def spectral_distance(self, before: np.ndarray, after: np.ndarray) -> float:
        """RMS over bands of the log-mel difference (dB); 0 when both are silent."""
        if max(level_db(before), level_db(after)) <= FLOOR_DB:
            return 0.0
        return float(np.sqrt(np.mean((self.mel_db(before) - self.mel_db(after)) ** 2)))

    def click_db(self, wav: np.ndarray, pos: int) -> float:
        """Largest |sample step| within 2.5 ms of pos against the RMS step of the 40 ms around it
        (the 5 ms centre left out), in dB; steps below FLOOR_DB count as FLOOR_DB."""
        half, context = self.samples(0.0025), self.samples(0.02)
        steps = np.abs(np.diff(wav[pos - context : pos + context].astype(np.float64)))
        centre = steps[context - half : context + half]
        around = np.concatenate([steps[: context - half], steps[context + half :]])
        floor = 10 ** (FLOOR_DB / 20)
        peak = max(float(centre.max()), floor)
        typical = max(float(np.sqrt(np.mean(around**2))), floor)
        return 20 * math.log10(peak / typical)

    def dip_db(self, wav: np.ndarray, pos: int) -> float:
        """How far the 10 ms centred on pos lie below the mean level of the 10 ms on either side
        (dB, 0 when not below): a gap or a fade to silence between two sounds reads high."""
        h = self.samples(0.005)
        centre = level_db(wav[pos - h : pos + h])
        sides = (level_db(wav[pos - 3 * h : pos - h]) + level_db(wav[pos + h : pos + 3 * h])) / 2
        return max(sides - centre, 0.0)

    def measure(self, wav: np.ndarray, pos: int) -> dict[str, float]:
        """Every measure of MEASURES at sample ``pos`` of wav [N]."""
        out = {}
        for name, seconds in (("20ms", 0.02), ("200ms", 0.2)):
            n = self.samples(seconds)
            ok = pos - n >= 0 and pos + n <= len(wav)
            before, after = wav[pos - n : pos], wav[pos : pos + n]
            out[f"level_{name}"] = abs(level_db(before) - level_db(after)) if ok else math.nan
        for name, n in (("32ms", self.n_fft), ("200ms", max(self.samples(0.2), self.n_fft))):
            ok = pos - n >= 0 and pos + n <= len(wav)
            before, after = wav[pos - n : pos], wav[pos : pos + n]
            out[f"spectrum_{name}"] = self.spectral_distance(before, after) if ok else math.nan
        context = self.samples(0.02)
        ok = pos - context >= 0 and pos + context <= len(wav)
        out["click"] = self.click_db(wav, pos) if ok else math.nan
        out["dip"] = self.dip_db(wav, pos) if ok else math.nan
        return out


def control_positions(
    length: int, joins: list[int], guard: int, count: int, rng: np.random.Generator
) -> list[int]:
    """``count`` random sample positions per join in [guard, length - guard), each at least
    ``guard`` from every join (fewer when the signal has too little such room)."""
    allowed = np.ones(length, bool)
    allowed[:guard], allowed[max(length - guard, 0) :] = False, False
    for j in joins:
        allowed[max(j - guard, 0) : j + guard] = False
    candidates = np.flatnonzero(allowed)
    if not len(candidates):
        return []
    take = min(count * len(joins), len(candidates))
    return sorted(int(p) for p in rng.choice(candidates, size=take, replace=False))


# ---------------------------------------------------------------- statistics


def describe(values: list[float]) -> dict[str, float | int | None]:
    """mean, median, p90 and count of the finite values (None where there are none)."""
    v = np.asarray([x for x in values if math.isfinite(x)], np.float64)
    if not len(v):
        return {"mean": None, "median": None, "p90": None, "n": 0}
    return {"mean": float(v.mean()), "median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "n": int(len(v))}  # fmt: skip


def mean_se(values: list[float]) -> tuple[float, float, int]:
    """Mean, standard error and count of the finite values (NaN where undefined)."""
    v = np.asarray([x for x in values if math.isfinite(x)], np.float64)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else math.nan), math.nan, len(v)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))), len(v)


def summarize(points: list[dict[str, Any]]) -> dict[str, Any]:
    """points: {group, generated: {measure: v}, ground_truth: {...}} -> per measure: the four
    distributions, the paired excess (generated - ground truth) at joins and within windows, and
    their difference (join excess - within excess, its s.e. from the two) with a verdict."""
    out: dict[str, Any] = {}
    for m in MEASURES:
        entry: dict[str, Any] = {}
        excess = {}
        for group in GROUPS:
            chosen = [p for p in points if p["group"] == group]
            for signal in SIGNALS:
                entry[f"{group}_{signal}"] = describe([p[signal][m] for p in chosen])
            excess[group] = mean_se([p["generated"][m] - p["ground_truth"][m] for p in chosen])
            entry[f"{group}_excess"] = dict(zip(("mean", "se", "n"), excess[group]))
        (mj, sj, _), (mw, sw, _) = excess["joins"], excess["within"]
        diff, se = mj - mw, math.sqrt(sj**2 + sw**2)
        entry["join_minus_within"] = {"mean": diff, "se": se}
        if not math.isfinite(se):
            entry["verdict"] = "n/a"
        else:
            entry["verdict"] = "worse at the joins" if diff > 2 * se else "not worse at the joins"
        out[m] = entry
    return out


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def markdown(summary: dict[str, Any]) -> str:
    """Two Markdown tables: the distributions, then the paired excesses and the verdicts."""
    lines = [
        "| measure (dB) | joins: generated | joins: ground truth | within: generated | within: ground truth"
        " |",
        "|---|---|---|---|---|",
    ]
    for m in MEASURES:
        cells = []
        for key in ("joins_generated", "joins_ground_truth", "within_generated", "within_ground_truth"):
            d = summary[m][key]
            cells.append(f"{_fmt(d['mean'])} / {_fmt(d['median'])} / {_fmt(d['p90'])} (n={d['n']})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "mean / median / p90 (n positions)",
        "",
        "| measure (dB) | excess at joins (gen - gt) | excess within windows | joins - within | verdict |",
        "|---|---|---|---|---|",
    ]
    for m in MEASURES:
        e = summary[m]
        j, w, d = e["joins_excess"], e["within_excess"], e["join_minus_within"]
        lines.append(
            f"| {m} | {_fmt(j['mean'])} ± {_fmt(j['se'])} | {_fmt(w['mean'])} ± {_fmt(w['se'])} | "
            f"{_fmt(d['mean'])} ± {_fmt(d['se'])} | {e['verdict']} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- long inputs


@dataclass
class LongInput:
    name: str
    clips: list[dict[str, Any]]

    @property
    def frames(self) -> int:
        return sum(int(c["num_frames"]) for c in self.clips)


def long_inputs(
    entries: list[dict[str, Any]], seconds: float, fps: float, mix_speakers: bool
) -> list[LongInput]:
    """Clips joined in id order into inputs of at most ``seconds`` (per speaker unless mixed)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=lambda e: e["id"]):
        if "num_frames" not in entry or "video" not in entry:
            raise InputError(f"manifest entry {entry['id']} needs 'video' and 'num_frames'")
        key = "all" if mix_speakers else str(entry.get("speaker", entry["id"]))
        groups.setdefault(key, []).append(entry)
    out = []
    for key, clips in sorted(groups.items()):
        current: list[dict[str, Any]] = []
        for clip in clips:
            if current and sum(int(c["num_frames"]) for c in [*current, clip]) > seconds * fps:
                out.append(LongInput(f"{key}_{len(out):03d}", current))
                current = []
            current.append(clip)
        if current:
            out.append(LongInput(f"{key}_{len(out):03d}", current))
    return out


def write_long_input(
    item: LongInput, data: Path, out: Path, samples_per_frame: int
) -> tuple[Path, np.ndarray]:
    """The clips' videos joined into out/<name>.mp4 and their ground-truth audio [N] float32."""
    import soundfile as sf

    from ..pipeline.windows import fit_length
    from ..video.io import iter_frames, write_video

    frames, audio = [], []
    size, fps = None, float(item.clips[0].get("fps", 25))
    for clip in item.clips:
        clip_frames = [f for f, _ in iter_frames(data / clip["video"], color="rgb")]
        if size is None:
            size = clip_frames[0].shape
        if clip_frames[0].shape != size:
            raise InputError(f"clip {clip['id']} is {clip_frames[0].shape[:2]}, the others {size[:2]}")
        n = int(clip["num_frames"])
        if len(clip_frames) != n:
            raise InputError(f"clip {clip['id']}: {len(clip_frames)} frames, the manifest says {n}")
        try:
            wav, rate = sf.read(data / clip["audio"], dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as exc:  # soundfile's errors derive from RuntimeError
            raise InputError(f"cannot read {data / clip['audio']}: {exc}") from None
        if rate != samples_per_frame * fps:
            raise InputError(f"{data / clip['audio']} is at {rate} Hz, not {samples_per_frame * fps:g}")
        frames.extend(clip_frames)
        audio.append(fit_length(wav[:, 0], n * samples_per_frame))
    path = write_video(out / f"{item.name}.mp4", frames, fps)
    return path, np.concatenate(audio)


# ---------------------------------------------------------------- the run


def measure_input(
    meter: SeamMeter, generated: np.ndarray, truth: np.ndarray, joins: list[int], controls: int, rng
) -> list[dict[str, Any]]:
    """Seam measures at each join and at the control positions, in both signals."""
    guard = meter.samples(GUARD_S)
    points = []
    for group, positions in (
        ("joins", joins),
        ("within", control_positions(len(generated), joins, guard, controls, rng)),
    ):
        for pos in positions:
            points.append({
                "group": group, "sample": int(pos), "seconds": round(pos / meter.sample_rate, 4),
                "generated": meter.measure(generated, pos), "ground_truth": meter.measure(truth, pos),
            })  # fmt: skip
    return points


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ..pipeline import Pipeline

    if args.seconds <= 0 or args.max_window_s <= 0 or args.controls < 1 or args.limit < 1:
        raise InputError("--seconds and --max-window-s must be positive, --controls and --limit at least 1")
    if args.json is not None and args.json.suffix != ".json":
        raise InputError(f"--json must name a .json file, got {args.json}")
    entries = read_manifest(args.data)
    fps = float(entries[0].get("fps", 25))
    items = [
        item
        for item in long_inputs(entries, args.seconds, fps, args.mix_speakers)
        if item.frames / fps > args.max_window_s  # shorter ones are one window: no join
    ][: args.limit]
    if not items:
        raise InputError(
            f"no input of {args.data} joins to more than --max-window-s {args.max_window_s:g} s "
            f"(raise --seconds, use --mix-speakers or add clips)"
        )
    pipe = Pipeline.from_dir(args.model, steps=args.steps, seed=args.seed, max_window_s=args.max_window_s)
    meter = SeamMeter(pipe.codec.sample_rate)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    points, inputs = [], []
    with tempfile.TemporaryDirectory(prefix="imagintalk-seams-") as tmp:
        for item in items:
            video, truth = write_long_input(item, args.data, Path(tmp), pipe.samples_per_frame)
            result = pipe.speak_file(video)
            if len(result.wav) != len(truth):
                raise ImaginTalkError(f"{item.name}: {len(result.wav)} samples spoken, {len(truth)} true")
            spoken = [w.status == "spoken" for w in result.windows]
            joins = [
                w.start_frame * pipe.samples_per_frame
                for k, w in enumerate(result.windows)
                if k > 0 and spoken[k] and spoken[k - 1]
            ]
            if args.wavs is not None:
                save_wavs(args.wavs, item.name, result.wav, truth, result.sample_rate)
            item_points = measure_input(meter, result.wav, truth, joins, args.controls, rng)
            points.extend(item_points)
            inputs.append({
                "name": item.name, "clips": [c["id"] for c in item.clips], "seconds": item.frames / fps,
                "windows": [w.to_dict() for w in result.windows], "points": item_points,
            })  # fmt: skip
            took = result.timings["total"]
            print(f"{item.name}: {item.frames / fps:.1f} s, {len(result.windows)} windows, "
                  f"{len(joins)} joins ({took:.1f} s)", flush=True)  # fmt: skip
    summary = summarize(points)
    return {
        "data": str(args.data), "model": str(args.model), "steps": args.steps, "seed": args.seed,
        "max_window_s": args.max_window_s, "seconds": args.seconds, "mix_speakers": args.mix_speakers,
        "controls": args.controls, "floor_db": FLOOR_DB, "wall_s": time.perf_counter() - started,
        "summary": summary, "markdown": markdown(summary), "inputs": inputs,
    }  # fmt: skip


def save_wavs(folder: Path, name: str, generated: np.ndarray, truth: np.ndarray, rate: int) -> None:
    """folder/<name>_generated.wav and <name>_truth.wav, to listen to the joins."""
    import soundfile as sf

    try:
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{name}_generated.wav", generated, rate)
        sf.write(folder / f"{name}_truth.wav", truth, rate)
    except (OSError, RuntimeError) as exc:
        raise ImaginTalkError(f"cannot write the wavs of {name} to {folder}: {exc}") from None


def write_json(path: Path, report: dict[str, Any]) -> None:
    from ..pipeline.result import replacing

    try:
        with replacing(path) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    except OSError as exc:
        raise ImaginTalkError(os_error_text(exc, path)) from None


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m imagintalk.eval.seams", description=description)
    parser.add_argument("data", type=Path, help="a data directory with manifest.jsonl, videos and audio")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--limit", type=int, default=8, help="at most N long inputs (default 8)")
    parser.add_argument("--max-window-s", type=float, default=10.0, help="the pipeline's window limit (10)")
    parser.add_argument("--seconds", type=float, default=30.0, help="longest joined input (default 30)")
    parser.add_argument("--mix-speakers", action="store_true", help="join all clips in id order")
    parser.add_argument("--steps", type=int, default=64, help="sampler steps (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--controls", type=int, default=5, help="random within-window positions per join (5)")
    parser.add_argument("--json", type=Path, help="write the figures and every position here")
    parser.add_argument("--wavs", type=Path, help="also write each input's generated and true speech here")
    args = parser.parse_args(argv)
    try:
        report = run(args)
        print(report["markdown"])
        if args.json is not None:
            write_json(args.json, report)
            print(f"wrote {args.json}")
    except ImaginTalkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
