"""The node's pipeline for its ``backend`` parameter: torch eager, or the ONNX export under onnxruntime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from imagintalk.export import onnx_bundle
from imagintalk.pipeline import Pipeline
from imagintalk.settings import DEFAULT_MODEL_DIR

from .params import NodeParams


def load_pipeline(p: NodeParams, log: Callable[[str], None]) -> Pipeline:
    """The model of ``p.model_dir`` on ``p.device``; with backend onnx its graphs from ``p.onnx_dir``
    (default MODEL_DIR/onnx), and one ``log`` line naming the execution provider in use."""
    bundle = None
    if p.backend == "onnx":
        model = Path(p.model_dir) if p.model_dir else DEFAULT_MODEL_DIR
        onnx_dir = Path(p.onnx_dir) if p.onnx_dir else model / "onnx"
        bundle, provider = onnx_bundle(model, onnx_dir)  # no export there: CheckpointError naming the command
        log(f"backend: onnxruntime, {provider} ({onnx_dir})")
    pipeline = Pipeline.from_dir(p.model_dir or None, p.speak_options(), device=p.device, bundle=bundle)
    if p.profile:  # not there, damaged or made for another model: the configure transition fails
        profile = pipeline.set_profile(p.profile)
        log(f"profile: {profile.name} ({p.profile})")
    if p.voice_reference:  # after the profile: the parameter wins over the profile's recording
        voice = pipeline.set_voice_reference(p.voice_reference)
        log(f"voice reference: {p.voice_reference} (cosine {voice.cosine:.2f})")
    return pipeline
