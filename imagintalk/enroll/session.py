"""``enroll``: mouthed prompts -> a user's Profile (alignment, adaptation, face and voice)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..models.lip_adapter import LipAdapter
from ..pipeline import Pipeline
from ..pipeline.profile import Profile, SpeakerFace
from ..pipeline.voice import load_reference_audio
from .adapt import AdaptSettings, Progress, adapt_lip, renormalise
from .clips import EnrollmentClip
from .targets import align_clip, prompt_units

log = logging.getLogger(__name__)


def face_summary(pipe: Pipeline, clips: list[EnrollmentClip]) -> SpeakerFace:
    """The user's face over all clips: the mean identity (L2-normalised), the mean expression over
    every frame, and the first clip's face crops."""
    faces = [pipe.describe_track(clip.track, clip.identity) for clip in clips]
    frames = np.array([clip.track.num_frames for clip in clips], dtype=np.float64)
    identity = np.mean([f.identity for f in faces], axis=0)
    identity = identity / max(float(np.linalg.norm(identity)), 1e-8)
    expression = np.average([f.expression for f in faces], axis=0, weights=frames)
    return SpeakerFace(identity.astype(np.float32), expression.astype(np.float32), faces[0].crops)


def enroll(
    pipe: Pipeline,
    clips: list[EnrollmentClip],
    name: str = "user",
    settings: AdaptSettings | None = None,
    voice: str | Path | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Profile:
    """Adapt ``pipe``'s lip aligner to the user of ``clips`` -> their Profile (not saved, not set).

    Any profile set on ``pipe`` is taken off first: enrollment starts from the model as shipped.
    ``voice``: a recording of the user's voice to keep in the profile (checked here).
    """
    settings = settings or AdaptSettings()
    settings.spec.validate()
    if not clips:
        raise InputError("enrollment needs at least one mouthed prompt")
    if voice is not None:
        load_reference_audio(voice)  # unreadable or silent -> InputError before any work
    started = time.perf_counter()
    pipe.set_profile(None)
    fingerprint = pipe.model_fingerprint
    lip = pipe.bundle.lip.eval()
    adapter = LipAdapter(lip, settings.spec)
    mouths = [torch.from_numpy(clip.mouth).to(pipe.device) for clip in clips]
    if progress:
        progress("aligning the prompts", 0.0)
    if settings.spec.renorm:
        renormalise(lip, adapter, mouths)
    adapter.attach(lip)
    try:
        with torch.no_grad():
            features = [lip.frame_features(mouth[None])[0] for mouth in mouths]  # [T, C] each
        kept, targets = [], []
        for clip, feats in zip(clips, features):
            try:
                targets.append(align_clip(lip, feats, prompt_units(clip.text)))
                kept.append(feats)
            except InputError as exc:
                log.warning("skipping prompt %r (%s): %s", clip.text, clip.source, exc)
        if not kept:
            raise InputError("none of the prompts could be aligned to its recording")
        report = adapt_lip(lip, adapter, kept, targets, settings, progress, should_stop)
    finally:
        adapter.detach()
    face = face_summary(pipe, clips)
    summary = {
        **report.to_dict(),
        "prompts": len(clips),
        "aligned": len(kept),
        "total_seconds": round(time.perf_counter() - started, 2),
        "settings": {k: v for k, v in settings.__dict__.items() if k != "spec"},
    }
    return Profile(
        name=name, spec=settings.spec, adapter_state=adapter.adapter_state(), fingerprint=fingerprint,
        face=face, prompts=[clip.text for clip in clips], report=summary,
        voice=Path(voice) if voice is not None else None,
    )  # fmt: skip
