"""The metric registry: name -> function, direction, unit and definition."""

from __future__ import annotations

from ..errors import InputError
from .contour import f0_correlation_metric, question_rise_metric
from .emotion_judge import emotion_judge_metric
from .emphasis import emphasis_metric
from .intelligibility import estoi_score, stoi_score
from .judge import Metric
from .pitch import f0_rmse_cents, vuv_error
from .prosody import emotion_similarity
from .quality import pesq_score
from .speaker import speaker_similarity
from .wer import wer_grammar, wer_open, wer_whisper

_ALL = (
    Metric("wer_grammar", wer_grammar, False, "ratio", "word error rate, pocketsphinx + GRID JSGF grammar"),
    Metric("wer_open", wer_open, False, "ratio", "word error rate, pocketsphinx open en-US LM"),
    Metric("wer_whisper", wer_whisper, False, "ratio", "word error rate, the user's Whisper (--asr-model)"),
    Metric("stoi", stoi_score, True, "0..1", "short-time objective intelligibility (pystoi)"),
    Metric("estoi", estoi_score, True, "0..1", "extended STOI (pystoi)"),
    Metric("pesq", pesq_score, True, "MOS 1..4.64", "wide-band PESQ, P.862.2 (pesq)"),
    Metric("spk_sim", speaker_similarity, True, "cosine", "resemblyzer speaker-embedding cosine"),
    Metric("f0_rmse", f0_rmse_cents, False, "cents", "F0 RMSE over frames voiced in both (harvest)"),
    Metric("vuv_error", vuv_error, False, "ratio", "voiced/unvoiced decision error rate"),
    Metric("emo_sim", emotion_similarity, True, "0..1", "prosody-descriptor similarity"),
    Metric("f0_corr", f0_correlation_metric, True, "-1..1", "log-F0 Pearson over frames voiced in both"),
    Metric("emo_judge", emotion_judge_metric, True, "ratio", "the emotion judge names the clip's emotion"),
    Metric("emph_acc", emphasis_metric, True, "ratio", "the most prominent word is the emphasised one"),
    Metric("q_rise", question_rise_metric, True, "ratio", "a question ends on an F0 rise >= 1 semitone"),
    # corpus-level: scored after all clips (nearest ground-truth prosody of the split)
    Metric("emo_acc", None, True, "ratio", "emotion agreement of a nearest-reference-prosody classifier"),
)
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}
CORPUS_METRICS = frozenset({"emo_acc"})


GRID_ONLY = frozenset({"wer_grammar"})  # meaningless beyond GRID sentences (SynthTalk)


def default_metrics(configured: list[str], real_data: bool, whisper: bool) -> list[str]:
    """The metrics when none are asked for: the configured ones, without the GRID-grammar WER on
    real data, and with the user's Whisper as the open-vocabulary recogniser when one is given."""
    names = [n for n in configured if not (real_data and n in GRID_ONLY)]
    if whisper:
        names = ["wer_whisper" if n == "wer_open" else n for n in names]
        names = names if "wer_whisper" in names else ["wer_whisper", *names]
    return names


def resolve_metrics(names: list[str] | None, default: list[str]) -> list[str]:
    """Validate metric names (``None`` = ``default``), keeping the registry's order."""
    wanted = list(default if names is None else names)
    unknown = [n for n in wanted if n not in METRICS]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    if not wanted:
        raise InputError("no metric selected")
    return [n for n in METRICS if n in wanted]
