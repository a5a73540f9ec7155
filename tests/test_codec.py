"""The codec interface for every backend, the world_rvq codec's storage and its refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from imagintalk.builders import build_codec, resolve_codec_name
from imagintalk.codec.checkpoint import load_tensors
from imagintalk.codec.train import train_world_rvq
from imagintalk.codec.world_features import analyze, mcep_to_spectrum
from imagintalk.codec.world_rvq import WEIGHTS_FILE, WorldRVQCodec
from imagintalk.errors import CheckpointError
from imagintalk.settings import load_config
from imagintalk.settings.codec import CodecConfig

torch.set_num_threads(1)


def _tone_speech(seconds: float, sr: int, f0: float, seed: int) -> np.ndarray:
    """A voiced harmonic sound with a moving formant-like envelope (speech-like enough)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    wav = sum(np.sin(h * phase) / h for h in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    return (0.2 * wav / np.abs(wav).max() + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def debug_codec(tmp_path_factory) -> WorldRVQCodec:
    """The debug preset's world_rvq codec, trained from scratch (seconds)."""
    cfg = load_config("debug").codec
    cfg.train_cache = str(tmp_path_factory.mktemp("corpus"))
    return train_world_rvq(cfg, seed=0, progress=False)


def _check_codes(codec, codes: torch.Tensor, batch: int, num_samples: int) -> None:
    assert codes.dtype == torch.long
    assert codes.shape == (
        batch,
        codec.num_codebooks,
        math.ceil(num_samples * codec.frame_rate / codec.sample_rate),
    )
    assert int(codes.min()) >= 0 and int(codes.max()) < codec.cardinality


@pytest.mark.parametrize("name", ["dac", "encodec"])
def test_hf_codec_shapes(name: str) -> None:
    codec = build_codec(CodecConfig(name=name, allow_random_weights=True))  # shapes only
    assert codec.frame_rate % 25 == 0
    if name == "dac":
        assert (codec.sample_rate, codec.frame_rate, codec.num_codebooks, codec.cardinality) == (
            16000,
            50,
            12,
            1024,
        )
    wav = 0.1 * torch.randn(2, 1, codec.sample_rate // 3 + 17)
    codes = codec.encode(wav)
    _check_codes(codec, codes, 2, wav.shape[-1])
    out = codec.decode(codes)
    assert out.shape == (2, 1, codes.shape[-1] * codec.hop_length) and out.dtype == torch.float32
    coarse = codec.decode(codes[:, :2])  # a prefix of the levels decodes too
    assert coarse.shape == out.shape and torch.isfinite(coarse).all()
    with pytest.raises(ValueError):
        codec.decode(codes[:, :0])


@pytest.mark.parametrize("name", ["dac", "encodec"])
def test_hf_codec_without_weights_is_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match=r"needs its weights.*--set codec\.path=DIR") as info:
        build_codec(CodecConfig(name=name))
    assert "config.json + model.safetensors" in str(info.value)
    assert "allow_random_weights" in str(info.value)


@pytest.mark.parametrize("name", ["dac", "encodec"])
def test_hf_codec_from_local_directory(name: str, tmp_path) -> None:
    from imagintalk.codec.hf import DacCodec, EncodecCodec

    random_codec = {"dac": DacCodec, "encodec": EncodecCodec}[name]()
    random_codec.model.save_pretrained(tmp_path)
    assert resolve_codec_name(str(tmp_path)) == (name, str(tmp_path))
    loaded = build_codec(CodecConfig(path=str(tmp_path)))
    wav = 0.1 * torch.randn(1, 1, loaded.sample_rate // 4)
    # same weights -> same codes
    assert torch.equal(loaded.encode(wav), random_codec.encode(wav))


def test_hf_codec_refuses_pickled_weights(tmp_path) -> None:
    from imagintalk.codec.hf import DacCodec

    DacCodec().model.save_pretrained(tmp_path)
    for file in tmp_path.glob("*.safetensors"):
        file.rename(file.with_suffix(".bin"))
    with pytest.raises(CheckpointError, match="safetensors"):
        DacCodec(tmp_path)


def test_world_rvq_round_trip(debug_codec: WorldRVQCodec) -> None:
    sr = debug_codec.sample_rate
    assert (debug_codec.num_codebooks, debug_codec.cardinality, debug_codec.frame_rate) == (4, 64, 50)
    wav = torch.from_numpy(_tone_speech(0.73, sr, 140.0, 0))[None, None]
    codes = debug_codec.encode(wav)
    _check_codes(debug_codec, codes, 1, wav.shape[-1])
    out = debug_codec.round_trip(wav)
    assert out.shape == wav.shape and torch.isfinite(out).all()
    # the harmonic sound comes back as sound of similar loudness, not silence or blow-up
    rms_in, rms_out = wav.pow(2).mean().sqrt(), out.pow(2).mean().sqrt()
    assert 0.2 < float(rms_out / rms_in) < 5.0


def test_world_rvq_decodes_a_coarse_prefix(debug_codec: WorldRVQCodec) -> None:
    wav = torch.from_numpy(_tone_speech(0.73, debug_codec.sample_rate, 140.0, 0))[None, None]
    codes = debug_codec.encode(wav)  # [1, K, T]
    target = debug_codec.to_space(analyze(wav[0, 0].double().numpy(), debug_codec.spec))  # [T, D]
    errors = []
    for levels in range(1, debug_codec.num_codebooks + 1):
        prefix = codes[0, :levels]  # [K', T]
        expected = debug_codec.rvq.codebooks[torch.arange(levels)[:, None], prefix].sum(0)  # [T, D]
        z = debug_codec.to_space(debug_codec.decode_features(prefix))
        assert torch.allclose(z, expected, atol=1e-4)
        errors.append(float((z - target).pow(2).mean()))
        out = debug_codec.decode(codes[:, :levels])
        assert out.shape == (1, 1, codes.shape[-1] * debug_codec.hop_length)
    assert errors[-1] < errors[0]  # each finer level refines the coarse ones
    assert torch.equal(debug_codec.decode(codes), debug_codec.decode(codes[:, : debug_codec.num_codebooks]))
    for bad in (codes[:, :0], torch.cat([codes, codes[:, :1]], 1)):
        with pytest.raises(ValueError):
            debug_codec.decode(bad)


def test_batch_items_are_coded_independently(debug_codec: WorldRVQCodec) -> None:
    sr = debug_codec.sample_rate
    low = _tone_speech(0.6, sr, 100.0, 1)
    high = _tone_speech(0.6, sr, 220.0, 2) * 0.3
    batch = torch.from_numpy(np.stack([low, high]))[:, None]
    codes = debug_codec.encode(batch)
    assert torch.equal(codes[0], debug_codec.encode(batch[:1])[0])
    assert torch.equal(codes[1], debug_codec.encode(batch[1:])[0])
    assert not torch.equal(codes[0], codes[1])
    wavs = debug_codec.decode(codes)
    assert torch.allclose(wavs[1], debug_codec.decode(codes[1:])[0])


def test_save_load_round_trip(debug_codec: WorldRVQCodec, tmp_path) -> None:
    debug_codec.save(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["codec"] == "world_rvq"
    assert resolve_codec_name(str(tmp_path)) == ("world_rvq", str(tmp_path))
    loaded = build_codec(CodecConfig(path=str(tmp_path)))
    wav = torch.from_numpy(_tone_speech(0.5, 16000, 180.0, 3))[None, None]
    assert torch.equal(loaded.encode(wav), debug_codec.encode(wav))
    assert torch.equal(loaded.decode(debug_codec.encode(wav)), debug_codec.decode(debug_codec.encode(wav)))


def test_refuses_missing_corrupt_and_pickled_checkpoints(debug_codec: WorldRVQCodec, tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no codec"):
        WorldRVQCodec.load(tmp_path / "nowhere")
    debug_codec.save(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        WorldRVQCodec.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).unlink()
    torch.save({"codebooks": debug_codec.rvq.codebooks}, tmp_path / "codec.pt")
    with pytest.raises(CheckpointError, match="pickles are never loaded"):
        WorldRVQCodec.load(tmp_path)
    with pytest.raises(CheckpointError, match="refusing to load pickle"):
        load_tensors(tmp_path / "codec.pt")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="malformed"):
        WorldRVQCodec.load(tmp_path)
    with pytest.raises(CheckpointError):
        build_codec(CodecConfig(path=str(tmp_path / "missing")))


def test_training_is_deterministic(debug_codec: WorldRVQCodec, tmp_path) -> None:
    cfg = load_config("debug").codec
    cfg.train_cache = str(tmp_path)
    again = train_world_rvq(cfg, seed=0, progress=False)
    assert torch.equal(again.rvq.codebooks, debug_codec.rvq.codebooks)


@pytest.mark.parametrize("alpha", [0.0, 0.42, 0.58])
def test_mcep_to_spectrum_equals_pysptk_mc2sp(alpha: float) -> None:
    """The one-matrix-product mel-cepstrum -> spectrum the decoder uses is pysptk's mc2sp, exactly."""
    import pysptk  # the reference implementation (an optional heavy dependency: lazy)

    rng = np.random.default_rng(1)
    mcep = rng.normal(0.0, 0.3, (50, 35))
    mcep[:, 0] -= 5.0
    ours, theirs = mcep_to_spectrum(mcep, alpha, 1024), pysptk.mc2sp(mcep, alpha, 1024)
    assert ours.shape == theirs.shape == (50, 513)
    np.testing.assert_allclose(np.log(ours), np.log(theirs), atol=1e-9, rtol=0)
