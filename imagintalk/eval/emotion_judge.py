"""The emotion judge: multinomial logistic regression on utterance prosody, trained by the project.

    python -m imagintalk.eval.emotion_judge train --data DIR [DIR ...] --out models/judges/emotion.json
    python -m imagintalk.eval.emotion_judge score --data DIR [--judge FILE]

The judge reads one clip's audio (``utterance_prosody.FEATURES``: F0 level / spread / movement,
loudness, tempo, spectral balance) and names its emotion. It is trained on a SynthTalk split made
for it alone (``imagintalk synth --split val --seed 21``: training voices, never a test sentence
or a test voice) and checked on the test split's unseen voices. Weights are a JSON file (the
standardisation and the class weights), no pickle; ``train`` reproduces it exactly (L-BFGS from
zeros on a convex objective).
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..settings import DEFAULT_MODELS_DIR
from .audio import load_wav
from .judge import ClipPair, Score
from .manifest import manifest_path, read_manifest
from .signal import Signal
from .utterance_prosody import FEATURES, utterance_features

DEFAULT_JUDGE = DEFAULT_MODELS_DIR / "judges" / "emotion.json"
SAMPLE_RATE = 16000
L2 = 1.0  # inverse regularisation C (sklearn's convention): chosen by speaker-grouped CV on the judge split


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_logistic(x: np.ndarray, labels: np.ndarray, c: float = L2) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: minimise sum log-loss + ||W||^2 / (2 c) (bias unpenalised).

    ``x`` [N, D] standardised, ``labels`` int [N] in 0..K-1 -> (weights [K, D], bias [K]).
    """
    from scipy.optimize import minimize

    n, d = x.shape
    k = int(labels.max()) + 1
    onehot = np.eye(k)[labels]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: k * d].reshape(k, d), theta[k * d :]
        p = _softmax(x @ w.T + b)
        value = -np.sum(onehot * np.log(p + 1e-300)) + 0.5 * np.sum(w**2) / c
        g = p - onehot  # [N, K]
        grad_w = g.T @ x + w / c
        return float(value), np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    res = minimize(loss, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    return res.x[: k * d].reshape(k, d), res.x[k * d :]


class EmotionJudge:
    """A trained judge: ``predict(signal, num_words) -> label | None`` (None: silent / unvoiced)."""

    def __init__(self, params: dict[str, Any]) -> None:
        if list(params["features"]) != list(FEATURES):
            raise InputError("emotion judge: its features differ from utterance_prosody.FEATURES; retrain it")
        self.params = params
        self.classes = list(params["classes"])
        self.mean = np.asarray(params["mean"], dtype=np.float64)
        self.scale = np.asarray(params["scale"], dtype=np.float64)
        self.weights = np.asarray(params["weights"], dtype=np.float64)
        self.bias = np.asarray(params["bias"], dtype=np.float64)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_JUDGE) -> EmotionJudge:
        path = Path(path)
        if not path.is_file():
            raise InputError(
                f"no emotion judge at {path}; train one: python -m imagintalk.eval.emotion_judge"
            )
        return cls(json.loads(path.read_text()))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """features [D] or [N, D] -> class probabilities [K] or [N, K] (order: ``classes``)."""
        return _softmax(((features - self.mean) / self.scale) @ self.weights.T + self.bias)

    def predict_features(self, features: np.ndarray) -> str:
        return self.classes[int(np.argmax(self.probabilities(features)))]

    def predict(self, signal: Signal, num_words: int) -> str | None:
        features = utterance_features(signal, num_words)
        return None if features is None else self.predict_features(features)


@functools.cache
def default_judge() -> EmotionJudge:
    return EmotionJudge.load(DEFAULT_JUDGE)


def emotion_judge_metric(pair: ClipPair, judges: Any = None) -> Score:
    """1 when the judge names the manifest's emotion for the output, else 0 (``emo_judge``)."""
    emotion = pair.entry.get("emotion") or None
    if emotion is None:
        return Score.undefined("no emotion label in the manifest")
    judge = judges.emotion_judge if judges is not None else default_judge()
    if emotion not in judge.classes:
        return Score.undefined(f"emotion {emotion!r} is not one the judge knows ({', '.join(judge.classes)})")
    predicted = judge.predict(pair.generated, len(pair.text.split()))
    if predicted is None:
        return Score.undefined("output silent or with fewer than 5 voiced frames")
    return Score(float(predicted == emotion))


def corpus_features(data_dirs: Sequence[Path], limit: int | None = None):
    """Features [N, D], labels [N], speakers [N] and ids of the labelled, voiced clips of manifests."""
    from tqdm import tqdm

    rows, feats, labels, speakers, ids = [], [], [], [], []
    for data in data_dirs:
        entries = read_manifest(data)[: limit if limit else None]
        rows += [(manifest_path(data).parent, e) for e in entries if e.get("emotion")]
    for root, entry in tqdm(rows, desc="prosody features", unit="clip"):
        signal = Signal(load_wav(root / entry["audio"], SAMPLE_RATE), SAMPLE_RATE)
        f = utterance_features(signal, len(str(entry.get("text", "")).split()))
        if f is None:
            continue
        feats.append(f), labels.append(str(entry["emotion"])), speakers.append(entry.get("speaker"))
        ids.append(str(entry["id"]))
    if not feats:
        raise InputError("no labelled, voiced clip in the data")
    return np.stack(feats), np.array(labels), speakers, ids


def train_judge(x: np.ndarray, labels: np.ndarray, c: float = L2, meta: dict | None = None) -> dict:
    """The judge's JSON-able parameters, fitted on features ``x`` [N, D] and string ``labels``."""
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        raise InputError("the judge needs clips of at least two emotions")
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    y = np.array([classes.index(label) for label in labels])
    w, b = fit_logistic((x - mean) / scale, y, c)
    return {
        "kind": "multinomial logistic regression on utterance prosody",
        "features": list(FEATURES),
        "classes": classes,
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "weights": w.round(6).tolist(),
        "bias": b.round(6).tolist(),
        "c": c,
        **(meta or {}),
    }


def grouped_cv_accuracy(
    x: np.ndarray, labels: np.ndarray, groups: list, folds: int = 5, c: float = L2
) -> float:
    """Accuracy with whole speakers held out (speaker k goes to fold k mod folds, sorted names)."""
    names = sorted({str(g) for g in groups})
    fold = np.array([names.index(str(g)) % folds for g in groups])
    hits = 0
    for k in range(folds):
        test = fold == k
        if test.all() or not test.any():
            continue
        judge = EmotionJudge(train_judge(x[~test], labels[~test], c))
        hits += sum(judge.predict_features(f) == t for f, t in zip(x[test], labels[test]))
    return hits / len(labels)


def _confusion(judge: EmotionJudge, x: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, int]]:
    predicted = [judge.predict_features(f) for f in x]
    return {
        t: {p: sum(1 for a, b in zip(labels, predicted) if a == t and b == p) for p in judge.classes}
        for t in judge.classes
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imagintalk.eval.emotion_judge", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="fit the judge on SynthTalk manifests (never the test split)")
    train.add_argument("--data", type=Path, nargs="+", required=True, help="data directories with manifests")
    train.add_argument("--out", type=Path, default=DEFAULT_JUDGE)
    train.add_argument("--c", type=float, default=L2, help="inverse L2 strength")
    score = sub.add_parser("score", help="the judge's accuracy on a manifest's ground-truth audio")
    score.add_argument("--data", type=Path, nargs="+", required=True)
    score.add_argument("--judge", type=Path, default=DEFAULT_JUDGE)
    score.add_argument("--limit", type=int)
    args = parser.parse_args(argv)

    if args.command == "train":
        x, labels, speakers, _ = corpus_features(args.data)
        splits = {str(e.get("split")) for d in args.data for e in read_manifest(d)}
        if "test" in splits:
            raise InputError("the emotion judge never trains on the test split")
        cv = grouped_cv_accuracy(x, labels, speakers, c=args.c)
        params = train_judge(
            x,
            labels,
            args.c,
            {
                "trained_on": [str(d) for d in args.data],
                "clips": len(labels),
                "speakers": len(set(map(str, speakers))),
                "speaker_grouped_cv_accuracy": round(cv, 4),
            },
        )
        judge = EmotionJudge(params)
        params["training_accuracy"] = round(
            float(np.mean([judge.predict_features(f) == t for f, t in zip(x, labels)])), 4
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(params, indent=1) + "\n")
        print(
            f"{len(labels)} clips, {params['speakers']} speakers: speaker-grouped 5-fold CV accuracy "
            f"{cv:.3f}, training accuracy {params['training_accuracy']:.3f} -> {args.out}"
        )
        return 0

    judge = EmotionJudge.load(args.judge)
    x, labels, _, _ = corpus_features(args.data, args.limit)
    accuracy = float(np.mean([judge.predict_features(f) == t for f, t in zip(x, labels)]))
    print(f"{len(labels)} clips: accuracy {accuracy:.3f} (chance {1 / len(judge.classes):.2f})")
    print(json.dumps(_confusion(judge, x, labels)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
