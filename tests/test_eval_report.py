"""eval/report.py's paired comparison: differences over the clips both systems scored, and the
verdict in each metric's direction (pure arithmetic: no judges, no audio)."""

from __future__ import annotations

import numpy as np
import pytest

from imagintalk.eval.report import paired_differences, paired_summary, verdict


def test_paired_differences_use_only_the_clips_both_scored() -> None:
    def clips(values):  # grammar WER per clip id; None = not scored
        return {f"c{i}": {"wer_grammar": {"value": v, "reason": ""}} for i, v in enumerate(values)}

    scored = {"best": clips([0.2, 0.4, 0.0, 0.5]), "other": clips([0.4, 0.5, 0.3, None])}
    mean, se, n = paired_differences(scored, "best", ["other"])["other"]
    diffs = np.array([0.2, 0.1, 0.3])  # only the clips both scored
    assert n == 3 and mean == pytest.approx(diffs.mean())
    assert se == pytest.approx(diffs.std(ddof=1) / np.sqrt(3))


def test_paired_verdicts_follow_each_metric_direction() -> None:
    def system(wer, stoi):
        return {
            f"c{i}": {"wer_grammar": {"value": w, "reason": ""}, "stoi": {"value": s, "reason": ""}}
            for i, (w, s) in enumerate(zip(wer, stoi, strict=True))
        }

    clips = {
        "ref": system([0.5, 0.4, 0.6, 0.5], [0.6, 0.6, 0.6, 0.6]),
        "good": system([0.3, 0.2, 0.4, 0.35], [0.7, 0.72, 0.69, 0.71]),  # lower WER, higher STOI
        "noise": system([0.7, 0.2, 0.8, 0.3], [0.6, 0.61, 0.59, 0.6]),
    }
    paired = paired_summary(clips, "ref", ["wer_grammar", "stoi"])["systems"]
    assert paired["good"]["wer_grammar"]["verdict"] == "better"  # lower is better
    assert paired["good"]["stoi"]["verdict"] == "better"  # higher is better
    assert paired["noise"]["wer_grammar"]["verdict"] == "within noise"
    assert paired["good"]["wer_grammar"]["mean"] == pytest.approx(-0.1875)
    assert verdict(0.2, 0.05, higher_is_better=False) == "worse"
    assert verdict(0.2, 0.05, higher_is_better=True) == "better"
    assert verdict(0.2, float("nan"), higher_is_better=True) == "n/a"
