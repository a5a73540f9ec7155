"""Settings of the SynthTalk corpus generator."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SynthConfig:
    sample_rate: int = 16000
    fps: int = 25
    image_size: int = 224  # rendered frames are image_size x image_size RGB
    num_speakers: int = 40  # speaker pool; the test split owns its own held-out part
    num_test_speakers: int = 8
    # > 0: the val split owns this many held-out voices (the pool's rows just before the test
    # ones), never in train: choices made on val are made on unseen voices. 0: val shares the
    # training voices (every corpus made before). Test's voices are the same either way.
    num_val_speakers: int = 0
    # more voices for the train split only, after the pool (indices num_speakers...): the pool's
    # speakers, and so the test voices and every corpus made without them, stay the same
    extra_train_speakers: int = 0
    emotions: list[str] = field(default_factory=lambda: ["neutral", "happy", "sad", "angry"])
    noise_std: float = 3.0  # pixel noise (0..255 scale)
    lead_silence_s: float = 0.25  # silence before and after the sentence
    workers: int = 0  # 0 = one per CPU core
    # face renderer: "cartoon" (the training corpus) or "portrait" (photo-textured, never trained
    # on: a stand-in for a new face); see docs/synthtalk.md
    renderer: str = "cartoon"
    # >= 0: every clip of the split is spoken by this speaker index (one identity, e.g. for
    # enrollment); -1: speakers drawn from the split's pool as usual
    only_speaker: int = -1
    # expressive prosody (docs/synthtalk.md, "Expressive prosody"): emphasis on one word, questions,
    # pauses and an emotion intensity that changes across the sentence, in voice and face. Off
    # (`imagintalk synth --plain`): clips byte-identical to those made before the switch existed
    expressive: bool = True
