"""The onnxruntime backend: a ``ModelBundle`` whose heavy forwards run exported graphs.

    bundle, provider = onnx_bundle(model_dir, onnx_dir)      # onnx_dir: from ``imagintalk export``
    Pipeline(bundle, codec, options)                          # the pipeline does not know the difference

The bundle is the torch one (its config and small parts: the unit codebook, the MLM's refinement
passes, ``score_fn``, the speaker head a reference voice inverts) with the forward of each exported
network replaced, on that instance, by a call into its onnxruntime session. So sampling, refinement
and every other caller run one code path for both backends; only the graphs differ.

Execution providers are taken in order of preference TensorRT, CUDA, CPU from those this
onnxruntime build offers (``onnxruntime-gpu`` on GPU machines and Jetsons, ``onnxruntime`` on
CPUs); :func:`onnx_bundle` returns the one the sessions actually use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import CheckpointError, DependencyError, InputError
from ..models.bundle import ModelBundle, load_bundle, load_config_of
from ..models.face_style import OUTPUT_NAMES
from .onnx_export import read_manifest

log = logging.getLogger(__name__)

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def choose_providers(available: list[str]) -> list[str]:
    """The preferred providers among ``available``, best first (CPU always ends the list)."""
    chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    return chosen if "CPUExecutionProvider" in chosen else [*chosen, "CPUExecutionProvider"]


class Session:
    """One graph's onnxruntime session, called with torch tensors, answering torch tensors."""

    def __init__(self, path: Path, providers: list[str], threads: int) -> None:
        import onnxruntime  # optional dependency: only the onnx backend needs it

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # the same thread budget torch has (OMP_NUM_THREADS)
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own classes for unreadable or invalid files
            raise CheckpointError(
                f"cannot load {path} as an ONNX graph: {str(exc).splitlines()[0]}"
            ) from None
        self.name = path.stem
        self.inputs = [i.name for i in self.session.get_inputs()]  # graphs drop inputs they do not use
        self.provider = self.session.get_providers()[0]

    def __call__(self, **feeds: Tensor | None) -> list[Tensor]:
        missing = [name for name in self.inputs if feeds.get(name) is None]
        if missing:
            raise InputError(f"the ONNX {self.name} graph needs {', '.join(missing)}")
        device = next(t.device for t in feeds.values() if t is not None)
        arrays = {name: feeds[name].detach().cpu().numpy() for name in self.inputs}
        return [torch.from_numpy(np.asarray(out)).to(device) for out in self.session.run(None, arrays)]


def _no_padding(mask: Tensor | None, what: str) -> None:
    """The graphs take whole clips (the pipeline's calls); padded batches are the torch backend's."""
    if mask is not None and bool(mask.any()):
        raise InputError(f"the ONNX {what} takes unpadded clips; use the torch backend for padded batches")


def _lip(session: Session) -> Callable[..., Tensor]:
    def forward(rois: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        _no_padding(key_padding_mask, "lip aligner")
        return session(mouth=rois.float())[0]  # [B, u T, D_unit]

    return forward


def _mlm(session: Session) -> Callable[..., Tensor]:
    def token_logits(tokens: Tensor, token_mask: Tensor) -> Tensor:
        return session(tokens=tokens.long(), token_mask=token_mask.bool())[0]  # [B, L, U]

    return token_logits


def _style(session: Session) -> Callable[..., dict[str, Tensor]]:
    def forward(
        descriptor: Tensor,
        expression: Tensor,
        key_padding_mask: Tensor | None = None,
        face_images: Tensor | None = None,
        expression_images: Tensor | None = None,
    ) -> dict[str, Tensor]:
        _no_padding(key_padding_mask, "style adapter")
        if expression_images is not None:
            raise InputError("the ONNX style adapter takes no expression images")
        feeds = {"identity": descriptor.float(), "expression": expression.float(), "face_images": face_images}
        return dict(zip(OUTPUT_NAMES, session(**feeds)))  # c_id [B, D_id], c_emo [B, T_tok, D_emo], ...

    return forward


def _dit(session: Session) -> Callable[..., Tensor]:
    def forward(
        x: Tensor,
        sigma: Tensor,
        c_lip: Tensor,
        c_id: Tensor,
        c_emo: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
    ) -> Tensor:
        _no_padding(key_padding_mask, "Style-DiT")
        if c_emo is None and "c_emo" in session.inputs:
            raise InputError("the exported Style-DiT (dual adaLN) needs c_emo [B, T, D_emo]")
        feeds = {
            "x": x.long(),
            "sigma": sigma.float(),
            "c_lip": c_lip.float(),
            "c_id": c_id.float(),
            "c_emo": c_emo,
        }
        return session(**feeds)[0]  # [B, K, T, N]

    return forward


def _fine(session: Session) -> Callable[..., Tensor]:
    def forward(coarse: Tensor, c_id: Tensor, padding: Tensor | None = None) -> Tensor:
        _no_padding(padding, "fine-level completer")
        return session(vectors=coarse.float(), c_id=c_id.float())[0]  # [B, T, D]

    return forward


# network -> (the method the graph replaces, the adapter presenting the session under its signature)
ADAPTERS = {
    "lip": ("forward", _lip),
    "mlm": ("token_logits", _mlm),
    "style": ("forward", _style),
    "dit": ("forward", _dit),
    "fine": ("forward", _fine),
}


def onnx_bundle(
    model_dir: str | Path,
    onnx_dir: str | Path,
    providers: list[str] | None = None,
    threads: int | None = None,
) -> tuple[ModelBundle, str]:
    """The model's bundle running its exported graphs; also the execution provider in use.

    ``providers``: default :func:`choose_providers` of what onnxruntime offers. ``threads``: default
    torch's thread count, so both backends get the same CPU budget. CheckpointError when the export
    is missing or stale (it says which command to run), DependencyError without onnxruntime.
    """
    try:
        import onnxruntime
    except ImportError:
        raise DependencyError(
            "the onnx backend needs onnxruntime: pip install onnxruntime (CPU) "
            "or onnxruntime-gpu (GPU, Jetson)"
        ) from None
    onnx_dir = Path(onnx_dir)
    manifest = read_manifest(onnx_dir, model_dir)
    providers = providers or choose_providers(onnxruntime.get_available_providers())
    bundle = load_bundle(model_dir, cfg=load_config_of(model_dir))
    threads = threads or torch.get_num_threads()
    in_use: set[str] = set()
    for name, entry in manifest["networks"].items():
        session = Session(onnx_dir / entry["file"], providers, threads)
        method, adapter = ADAPTERS[name]
        setattr(bundle.module(name), method, adapter(session))  # this instance only; the class is untouched
        in_use.add(session.provider)
    order = [*PREFERRED_PROVIDERS, *sorted(in_use - set(PREFERRED_PROVIDERS))]
    provider = ", ".join(p for p in order if p in in_use)  # one name unless a graph fell back to another
    log.info("onnxruntime %s: %s execution provider", onnxruntime.__version__, provider)
    return bundle, provider
