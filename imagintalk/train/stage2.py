"""Stage 2, acoustic-face alignment: the face-style adapter against targets of the target speech.

Inputs per clip window: the dlib descriptor [B, 128], per-frame expression features
[B, T, E] (E = style.expression_dim: 7 fer probabilities, or 135 with the fer embedding),
the frame padding mask and, with ``style.use_face_encoder``, the aligned face crops
[B, N, 3, S, S]. Targets: the resemblyzer speaker embedding [B, 256], relative log-F0 /
voiced / energy [B, 2T] and the utterance emotion [B]; losses ``FaceStyleAdapter.losses``.
-> OUT/runs/stage2 (checkpoints, TensorBoard, val_metrics.json), OUT/style.safetensors.

Validation (whole clips): cosine of the predicted to the true speaker embedding, emotion
accuracy, F0 correlation on voiced tokens (Pearson, pooled over the clips).

Issue 21 (``style.relative_prosody`` / ``style.prosody_cues``, off by default): the adapter also
learns speaker-free per-token targets from the expression path (F0 in semitones from the
clip's median, energy in dB from its mean; emphasis / question-word labels of expressive
clips), and validation adds ``relative_report``: their correlations with the truth and the
emphasised-word accuracy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..checkpoint import read_weights
from ..data.collate import collate, style_inputs
from ..data.dataset import FeatureDataset
from ..errors import CheckpointError, InputError
from ..eval.style import style_report
from ..models.bundle import weights_file
from ..models.face_style import CUE_OUTPUTS, RELATIVE_OUTPUTS, FaceStyleAdapter
from . import distributed as ddp
from .stages import (
    DataSource,
    StageRun,
    feature_info,
    fit,
    record_validation,
    save_network,
    seed_models,
    training_clips,
)

log = logging.getLogger(__name__)


def check_style_inputs(run: StageRun, source: DataSource) -> None:
    """The prepared features must be what the adapter's config asks for."""
    try:
        run.cfg.style.check_inputs(feature_info(source)["expression_dim"])
    except InputError as exc:
        raise InputError(
            f"{source.data_dir}: {exc} "
            f"(re-run imagintalk prepare {source.data_dir} --overwrite with this preset)"
        ) from None


def style_targets(batch: dict[str, Any]) -> dict[str, Tensor]:
    targets = {"speaker_embedding": batch["speaker_embedding"], **batch["prosody"]}  # [B, 256], 3 x [B, 2T]
    if bool((batch["emotion"] >= 0).any()):  # cross-entropy skips unknown labels (-100)
        targets["emotion"] = batch["emotion"]
    targets.update(batch.get("relative", {}))  # rel_f0 (st), rel_energy (dB) [B, 2T]
    targets.update(batch.get("cues", {}))  # emphasis, question [B, 2T], -1 = no label
    return targets


def make_step(use_face_encoder: bool):
    def step(model: nn.Module, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        outputs = model(**style_inputs(batch, use_face_encoder))
        losses = ddp.unwrap(model).losses(outputs, style_targets(batch))
        # a batch without emotion labels still touches the emotion head: DDP wants every gradient
        total = losses.pop("total") + 0.0 * outputs["emotion_logits"].sum()
        for name in (*RELATIVE_OUTPUTS, *CUE_OUTPUTS):  # the issue-21 heads, likewise
            if name in outputs:
                total = total + 0.0 * outputs[name].sum()
        return total, {k: v.detach() for k, v in losses.items()}

    return step


@torch.no_grad()
def evaluate_style(run: StageRun, adapter: nn.Module) -> dict[str, float]:
    """Validation clips, whole: speaker cosine, emotion accuracy, voiced-token F0 correlation."""
    assert run.val is not None
    dataset = FeatureDataset(run.val.data_dir, run.val.split, None, run.cfg.seed)
    use_face_encoder, max_clips = run.cfg.style.use_face_encoder, run.train_cfg.val_max_clips
    report = style_report(adapter, dataset, use_face_encoder, max_clips)
    report.update(relative_report(adapter, dataset, use_face_encoder, max_clips))
    return report


def _pearson(a: Tensor, b: Tensor) -> float:
    if a.numel() < 2:
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp(min=1e-12))


def _mean(values: list[float]) -> float:
    values = [v for v in values if v == v]  # NaN-free
    return sum(values) / len(values) if values else float("nan")


@torch.no_grad()
def relative_report(
    adapter: nn.Module, dataset, use_face_encoder: bool, max_clips: int | None = None
) -> dict[str, float]:
    """The issue-21 heads on whole clips of ``dataset`` ({} when the adapter has neither):

    rel_f0_correlation: Pearson of predicted and true relative F0 (semitones from the clip's
    median) over the voiced tokens of all clips, pooled; rel_f0_correlation_clip: the mean of
    the per-clip correlations (the within-clip contour alone); rel_energy_correlation: pooled,
    every real token. emphasis_accuracy: over clips labelled with an emphasised word, how often
    the word with the highest mean emphasis probability is that word (emphasis_chance: the mean
    of 1 / words); question_accuracy: over labelled clips, whether the last word's mean
    question probability is above 0.5 exactly when the clip is a question.
    """
    device = next(adapter.parameters()).device
    count = len(dataset) if max_clips is None else min(len(dataset), max_clips)
    pred_f0, true_f0, pred_en, true_en, clip_corr = [], [], [], [], []
    emph_hits, emph_chance, q_hits = [], [], []
    relative = cues = False
    for index in range(count):
        batch = collate([dataset[index]])
        inputs = {
            k: (None if v is None else v.to(device)) for k, v in style_inputs(batch, use_face_encoder).items()
        }
        out = {
            k: v[0].float().cpu()
            for k, v in adapter(**inputs).items()
            if k in (*RELATIVE_OUTPUTS, *CUE_OUTPUTS)
        }
        relative, cues = "rel_f0" in out, "emphasis_logit" in out
        if not (relative or cues):
            return {}
        if relative and "relative" in batch:
            voiced = batch["prosody"]["voiced"][0] > 0.5  # [2T]
            truth = batch["relative"]["rel_f0"][0]
            pred_f0.append(out["rel_f0"][voiced])
            true_f0.append(truth[voiced])
            clip_corr.append(_pearson(out["rel_f0"][voiced], truth[voiced]))
            pred_en.append(out["rel_energy"])
            true_en.append(batch["relative"]["rel_energy"][0])
        if cues and "cues" in batch and bool((batch["cues"]["emphasis"][0] >= 0).all()):
            words = batch["word_index"][0]  # [2T], -1 between words
            num_words = int(words.max()) + 1
            if num_words < 1:
                continue
            emph_prob = torch.sigmoid(out["emphasis_logit"])
            q_prob = torch.sigmoid(out["question_logit"])
            per_word = torch.stack([emph_prob[words == k].mean() for k in range(num_words)])  # [W]
            per_word = torch.nan_to_num(per_word, nan=-1.0)  # a word too short to hold a token
            truth_word = words[batch["cues"]["emphasis"][0] > 0.5]
            if truth_word.numel():  # a clip with an emphasised word
                emph_hits.append(float(int(per_word.argmax()) == int(truth_word[0])))
                emph_chance.append(1.0 / num_words)
            is_question = bool((batch["cues"]["question"][0] > 0.5).any())
            q_hits.append(float((float(q_prob[words == num_words - 1].mean()) > 0.5) == is_question))
    report: dict[str, float] = {}
    if relative and pred_f0:
        report["rel_f0_correlation"] = _pearson(torch.cat(pred_f0), torch.cat(true_f0))
        report["rel_f0_correlation_clip"] = _mean(clip_corr)
        report["rel_energy_correlation"] = _pearson(torch.cat(pred_en), torch.cat(true_en))
    if cues:
        report["emphasis_accuracy"] = _mean(emph_hits)
        report["emphasis_chance"] = _mean(emph_chance)
        report["emphasis_clips"] = float(len(emph_hits))
        report["question_accuracy"] = _mean(q_hits)
    return report


def warm_start(adapter: FaceStyleAdapter, path: Path, freeze_identity: bool) -> None:
    """Start from another adapter's weights (a file or a model dir holding style.safetensors);
    ``freeze_identity``: the identity path stops learning, so c_id stays exactly as it was."""
    weights = weights_file(path, "style")
    if not weights.is_file():
        raise CheckpointError(f"--init-style: no style adapter weights at {weights}")
    fresh = adapter.load_warm_start(read_weights(weights))
    log.info("stage 2 starts from %s%s", weights, f" (new: {', '.join(fresh)})" if fresh else "")
    if freeze_identity:
        for module in adapter.identity_modules():
            module.requires_grad_(False)
        log.info("stage 2 keeps the identity path as it is (train.style_freeze_identity)")


def train_stage2(run: StageRun) -> dict[str, Any]:
    """Train the face-style adapter -> {"files", "val"}; writes OUT/style.safetensors."""
    cfg, stage = run.cfg, run.train_cfg.style
    for source in run.train_sources:
        check_style_inputs(run, source)
    if run.val is not None:
        check_style_inputs(run, run.val)
    dataset = training_clips(run, stage.window_frames or None)
    seed_models(cfg.seed)
    adapter = FaceStyleAdapter.from_config(cfg.style)
    if run.init_style is not None:
        warm_start(adapter, run.init_style, run.train_cfg.style_freeze_identity)
    eval_fn = (lambda model: evaluate_style(run, model)) if run.val is not None else None
    trainer, summary = fit(
        run, stage, "stage2", adapter, make_step(cfg.style.use_face_encoder), dataset, collate, eval_fn
    )
    save_network(run, "style", trainer.model)
    result: dict[str, Any] = {"files": [str(run.model_dir / "style.safetensors")]}
    record_validation(run, "stage2", summary, result)
    return result
