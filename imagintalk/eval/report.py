"""Aggregating per-clip scores (means, paired differences) and writing results.json / results.md."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import METRICS

DECIMALS = {"f0_rmse": 1}  # cents: one decimal is plenty; the rest get 3


def summarize(clips: dict[str, dict[str, Any]], metric_names: list[str]) -> dict[str, Any]:
    """Per-clip results of ONE system -> per metric: mean, std (population), counts, reasons.

    ``clips``: clip id -> {"missing": reason} or {metric: {"value": v or None, "reason": r}}.
    """
    missing = sum(1 for c in clips.values() if "missing" in c)
    out: dict[str, Any] = {"num_clips": len(clips), "num_missing": missing, "metrics": {}}
    for name in metric_names:
        scored = [c[name] for c in clips.values() if "missing" not in c and name in c]
        values = np.array([s["value"] for s in scored if s["value"] is not None], dtype=np.float64)
        reasons = Counter(s["reason"] for s in scored if s["value"] is None)
        out["metrics"][name] = {
            "mean": float(values.mean()) if values.size else None,
            "std": float(values.std()) if values.size else None,
            "num_valid": int(values.size),
            "num_undefined": int(sum(reasons.values())),
            "undefined_reasons": dict(reasons),
        }
    return out


def paired_differences(
    clips: dict[str, dict[str, dict[str, Any]]],
    reference: str,
    others: list[str],
    metric: str = "wer_grammar",
) -> dict[str, tuple[float, float, int]]:
    """Per other system: mean and standard error of (other - reference) over the clips both could
    be scored on, and their count. Paired, because clips differ far more than systems do: a
    difference within ~2 standard errors is noise, not a better system."""
    out = {}
    for name in others:
        diffs = []
        for clip, scores in clips[reference].items():
            a = scores.get(metric, {}).get("value")
            b = clips[name].get(clip, {}).get(metric, {}).get("value")
            if a is not None and b is not None:
                diffs.append(b - a)
        n = len(diffs)
        mean = sum(diffs) / n if n else float("nan")
        var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else float("nan")
        out[name] = (mean, math.sqrt(var / n) if n > 1 else float("nan"), n)
    return out


def verdict(mean: float, se: float, higher_is_better: bool) -> str:
    """better / worse when the paired mean is beyond 2 standard errors of zero, else within noise
    (n/a with fewer than 2 paired clips)."""
    if math.isnan(se):
        return "n/a"
    if abs(mean) <= 2 * se:
        return "within noise"
    return "better" if (mean > 0) == higher_is_better else "worse"


def paired_summary(
    clips: dict[str, dict[str, dict[str, Any]]], reference: str, metric_names: list[str]
) -> dict[str, Any]:
    """Every other system against ``reference``, per metric: mean/se/n of the paired difference
    (other - reference) and its verdict. NaNs become None so the result is strict JSON."""
    others = [s for s in clips if s != reference]
    table: dict[str, dict[str, Any]] = {s: {} for s in others}
    for metric in metric_names:
        for system, (mean, se, n) in paired_differences(clips, reference, others, metric).items():
            table[system][metric] = {
                "mean": None if math.isnan(mean) else mean,
                "se": None if math.isnan(se) else se,
                "num_paired": n,
                "verdict": verdict(mean, se, METRICS[metric].higher_is_better),
            }
    return {"reference": reference, "systems": table}


def paired_markdown(paired: dict[str, Any], metric_names: list[str]) -> str:
    """Rows = systems, cells = mean ± s.e. of (system - reference) and the verdict."""
    header = ["system"] + [f"{n} {'↑' if METRICS[n].higher_is_better else '↓'}" for n in metric_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, row in paired["systems"].items():
        cells = []
        for name in metric_names:
            cell = row[name]
            if cell["se"] is None:
                cells.append("n/a")
                continue
            d = DECIMALS.get(name, 3)
            cells.append(f"{cell['mean']:+.{d}f} ± {cell['se']:.{d}f} {cell['verdict']}")
        lines.append("| " + " | ".join([system, *cells]) + " |")
    return (
        f"Paired against {paired['reference']}: mean ± standard error of (system - "
        f"{paired['reference']}) over the clips both were scored on; better / worse = beyond 2 s.e.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def _cell(name: str, stats: dict[str, Any], num_scored: int) -> str:
    if stats["mean"] is None:
        return "n/a"
    d = DECIMALS.get(name, 3)
    cell = f"{stats['mean']:.{d}f} ± {stats['std']:.{d}f}"
    if stats["num_valid"] < num_scored:
        cell += f" ({stats['num_valid']}/{num_scored})"
    return cell


def markdown_table(summary: dict[str, dict[str, Any]], metric_names: list[str]) -> str:
    """Rows = systems, columns = metrics (↑ higher is better, ↓ lower is better)."""
    header = ["system"] + [f"{n} {'↑' if METRICS[n].higher_is_better else '↓'}" for n in metric_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes = []
    for system, res in summary.items():
        scored = res["num_clips"] - res["num_missing"]
        cells = [_cell(n, res["metrics"][n], scored) for n in metric_names]
        lines.append("| " + " | ".join([system, *cells]) + " |")
        if res["num_missing"]:
            notes.append(f"- {system}: {res['num_missing']} of {res['num_clips']} clips missing")
        for n in metric_names:
            for reason, count in res["metrics"][n]["undefined_reasons"].items():
                notes.append(f"- {system} / {n}: undefined on {count} clip(s): {reason}")
    legend = "\n".join(f"- {n}: {METRICS[n].definition} [{METRICS[n].unit}]" for n in metric_names)
    text = (
        "\n".join(lines)
        + "\n\nmean ± std over the clips where a metric is defined; (k/n) = defined on k of n.\n"
    )
    text += f"\n{legend}\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text


def write_results(results: dict[str, Any], metric_names: list[str], out_dir: Path) -> str:
    """Write results.json and results.md under ``out_dir``; returns the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    table = markdown_table(results["summary"], metric_names)
    if results.get("paired"):
        table += "\n" + paired_markdown(results["paired"], metric_names)
    md = f"# Evaluation of {results['manifest']}\n\n{results['num_clips']} clips.\n\n{table}"
    (out_dir / "results.md").write_text(md, encoding="utf-8")
    return table
