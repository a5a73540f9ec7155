"""Settings of the training-data preparation (``imagintalk prepare``) and the datasets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    face_crops: int = 4  # evenly spaced aligned face crops kept per clip (identity-CNN input)
    face_crop_size: int = 64  # their side in pixels (downscaled from the front door's face crop)
    identity_samples: int = 8  # frames averaged into the clip's dlib descriptor
    prosody_method: str = "harvest"  # WORLD F0 estimator: harvest (robust) or dio (~25x faster)
    workers: int = 1  # prepare processes (0 = one per CPU core)
    pack_clips: int = 512  # clips per pack file (features/pack-*.zip) when prepare packs a shard
    window_frames: int = 0  # training windows in video frames (0 = whole clips)
