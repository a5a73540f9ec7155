"""Issue 21, stage 2: speaker-free relative prosody targets, emphasis / question word labels, the
optional heads on c_emo that learn them, their validation metrics, and old models unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imagintalk.data.collate import collate
from imagintalk.data.dataset import add_prosody_targets
from imagintalk.data.extract import word_cues
from imagintalk.errors import CheckpointError, InputError
from imagintalk.features.prosody import (
    cue_labels,
    prosody_contours,
    relative_targets,
    targets_from_contours,
    word_token_index,
)
from imagintalk.models.face_style import CUE_OUTPUTS, OUTPUT_NAMES, RELATIVE_OUTPUTS, FaceStyleAdapter
from imagintalk.settings import DEFAULT_MODEL_DIR
from imagintalk.settings.style import FaceStyleConfig, face_style_preset
from imagintalk.train.stage2 import relative_report, style_targets

SR, RATE = 16000, 50  # token frames: 50 Hz, hop 320


def test_relative_targets_ignore_the_speakers_pitch_and_gain() -> None:
    f0 = np.array([0, 0, 110, 120, 130, 125, 0, 140, 150, 0], np.float32)
    energy = np.array([-80, -70, -30, -28, -25, -27, -60, -24, -22, -90], np.float32)
    base = relative_targets(f0, energy)
    shifted = relative_targets(f0 * 1.7, energy + 12.0)  # another voice, another gain
    np.testing.assert_allclose(shifted["rel_f0"], base["rel_f0"], atol=1e-4)
    np.testing.assert_allclose(shifted["rel_energy"], base["rel_energy"], atol=1e-4)
    voiced = f0 > 0
    assert np.median(base["rel_f0"][voiced]) == pytest.approx(0.0, abs=1e-6)  # median-referenced
    assert np.all(base["rel_f0"][~voiced] == 0)
    median = np.median(12 * np.log2(f0[voiced]))  # between 125 and 130 Hz
    assert base["rel_f0"][8] == pytest.approx(12 * np.log2(150) - median, abs=1e-4)  # semitones
    with pytest.raises(InputError):
        relative_targets(f0, energy[:-1])


def _harmonic_sentence(scale: float, gain: float) -> np.ndarray:
    """1.6 s of a harmonic 'voice' with a rise-fall contour, pauses and an accent at 0.9-1.1 s."""
    t = np.arange(int(1.6 * SR)) / SR
    contour = 120.0 * scale * 2 ** (0.25 * np.sin(2 * np.pi * t / 1.6) + 0.3 * ((t > 0.9) & (t < 1.1)))
    phase = 2 * np.pi * np.cumsum(contour) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = ((t > 0.1) & (t < 0.6)) | ((t > 0.75) & (t < 1.5))  # two phrases and a pause
    return (gain * 0.2 * wave * envelope).astype(np.float64)


def test_the_same_sentence_at_two_pitch_levels_gives_the_same_relative_contour() -> None:
    low = prosody_contours(_harmonic_sentence(1.0, 1.0), SR, RATE, method="dio")
    high = prosody_contours(_harmonic_sentence(1.8, 0.3), SR, RATE, method="dio")
    both = (low.f0_hz > 0) & (high.f0_hz > 0)
    assert both.sum() > 40
    absolute = 12 * np.log2(high.f0_hz[both] / low.f0_hz[both])
    assert np.median(absolute) == pytest.approx(12 * np.log2(1.8), abs=0.5)  # ~10 st apart as voices
    a, b = relative_targets(low.f0_hz, low.energy_db), relative_targets(high.f0_hz, high.energy_db)
    assert np.median(np.abs(a["rel_f0"][both] - b["rel_f0"][both])) < 0.3  # semitones
    assert np.corrcoef(a["rel_f0"][both], b["rel_f0"][both])[0, 1] > 0.95
    speech = low.energy_db > low.energy_db.max() - 30
    assert np.median(np.abs(a["rel_energy"][speech] - b["rel_energy"][speech])) < 1.0  # dB
    # the accent (0.9-1.1 s, +0.3 octave) stands out from its neighbours in either voice's contour
    centres = (np.arange(len(a["rel_f0"])) + 0.5) / RATE
    accent = (centres > 0.92) & (centres < 1.08) & both
    beside = (((centres > 0.78) & (centres < 0.88)) | ((centres > 1.12) & (centres < 1.22))) & both
    for rel in (a["rel_f0"], b["rel_f0"]):
        assert rel[accent].mean() - rel[beside].mean() > 2.5  # semitones (3.6 put in)


WORDS = [
    {"word": "bin", "start": 0.10, "end": 0.30},
    {"word": "blue", "start": 0.30, "end": 0.52},
    {"word": "at", "start": 0.70, "end": 0.80},  # a pause before it
    {"word": "now", "start": 0.80, "end": 1.00},
]


def test_emphasis_and_question_labels_land_on_the_right_tokens() -> None:
    index = word_token_index(WORDS, 55, RATE)  # token j's centre (j + 0.5) / 50 s
    assert index.dtype == np.int16 and len(index) == 55
    assert list(index[:5]) == [-1] * 5  # 0..0.1 s: before the first word
    assert list(index[5:15]) == [0] * 10 and list(index[15:26]) == [1] * 11
    assert list(index[26:35]) == [-1] * 9 and list(index[35:40]) == [2] * 5
    assert list(index[40:50]) == [3] * 10 and list(index[50:]) == [-1] * 5
    labels = cue_labels(index, 1, question=True)
    assert np.flatnonzero(labels["emphasis"]).tolist() == list(range(15, 26))
    assert np.flatnonzero(labels["question"]).tolist() == list(range(40, 50))
    none = cue_labels(index, None, question=False)
    assert not none["emphasis"].any() and not none["question"].any()


def test_expressive_manifest_entries_give_word_cues_and_plain_ones_nothing() -> None:
    entry = {"words": WORDS, "emphasis": 3, "contour": "question"}
    cues = word_cues(entry, 55, RATE)
    assert cues["emphasis_word"] == 3 and cues["is_question"] == 1
    np.testing.assert_array_equal(cues["word_index"], word_token_index(WORDS, 55, RATE))
    assert word_cues({"words": WORDS}, 55, RATE) == {}  # a plain record: the feature file keeps its keys
    assert word_cues({**entry, "emphasis": None, "contour": "statement"}, 55, RATE)["emphasis_word"] == -1
    with pytest.raises(InputError, match="emphasis"):
        word_cues({**entry, "emphasis": 4}, 55, RATE)
    with pytest.raises(InputError, match="start / end"):
        word_cues({"words": [{"word": "x"}], "emphasis": 0}, 55, RATE)


def test_on_an_expressive_synthtalk_clip_the_emphasised_words_tokens_carry_the_pitch_accent(tmp_path) -> None:
    """The labels a prepared expressive clip gets (word_cues -> add_prosody_targets) sit on the
    tokens where its relative F0 is highest (SynthTalk speaks the word ~+4.8 st higher)."""
    import soundfile as sf

    from imagintalk.manifest import read_manifest
    from imagintalk.settings import load_config
    from imagintalk.synth.corpus import generate_corpus

    cfg = load_config("debug")
    cfg.synth.expressive = True
    generate_corpus(tmp_path, 1, seed=5, split="train", cfg=cfg.synth, workers=1, progress=False)
    entry = read_manifest(tmp_path / "manifest.jsonl")[0]
    assert entry["emphasis"] is not None  # seed 5's first clip stresses a word
    wav, sr = sf.read(tmp_path / entry["audio"])
    contours = prosody_contours(np.asarray(wav, np.float64), sr, RATE, method="dio")
    tokens = len(contours.f0_hz)
    data = {"units": np.zeros(tokens, np.int16), "f0_hz": contours.f0_hz, "energy_db": contours.energy_db}
    data.update(word_cues(entry, tokens, RATE))
    add_prosody_targets(data)
    voiced = contours.f0_hz > 0
    stressed = (data["emphasis"] == 1) & voiced
    other = (data["emphasis"] == 0) & (data["word_index"] >= 0) & voiced
    assert stressed.sum() >= 5 and other.sum() >= 20
    assert data["rel_f0"][stressed].mean() - data["rel_f0"][other].mean() > 2.0  # semitones
    assert data["rel_energy"][stressed].mean() > data["rel_energy"][other].mean()


def _item(frames: int, seed: int, cues: dict | None, rng_expression: bool = True, r: int = 2) -> dict:
    """A FeatureDataset-like item (what ``FeatureDataset.__getitem__`` returns), debug sizes."""
    rng = np.random.default_rng(seed)
    tokens = r * frames
    f0 = np.where(np.arange(tokens) % 7 < 5, 100.0 * (1.0 + seed) + 10 * rng.random(tokens), 0.0)
    energy = -30.0 + 5 * rng.standard_normal(tokens)
    data = {
        "units": np.zeros(tokens, np.int16),
        "f0_hz": f0.astype(np.float32),
        "energy_db": energy.astype(np.float32),
        **targets_from_contours(_contours(f0, energy)),
    }
    if cues is not None:
        data.update(cues)
    add_prosody_targets(data)
    return {
        "mouth": rng.integers(0, 255, (frames, 96, 96), dtype=np.uint8),
        "detected": np.ones(frames, bool),
        "expression": rng.random((frames, 7)).astype(np.float32),
        "units": data["units"],
        "codes": np.zeros((2, tokens), np.int16),
        **{k: data[k] for k in ("log_f0", "voiced", "energy", "rel_f0", "rel_energy")},
        **{k: data[k] for k in ("emphasis", "question", "word_index")},
        "face_crops": rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8),
        "identity": rng.standard_normal(128).astype(np.float32),
        "speaker_embedding": rng.standard_normal(256).astype(np.float32),
        "emotion_index": 0,
        "id": f"clip{seed}",
        "speaker": f"spk{seed}",
        "token_rate_factor": r,
    }


def _contours(f0, energy):
    from imagintalk.features.prosody import ProsodyContours

    return ProsodyContours(np.asarray(f0, np.float32), np.asarray(energy, np.float32))


def test_dataset_targets_and_collate_carry_relative_prosody_and_cues() -> None:
    index = word_token_index(WORDS, 50, RATE)
    labelled = _item(25, 0, {"word_index": index, "emphasis_word": 2, "is_question": 0})
    plain = _item(20, 1, None)
    assert set(np.flatnonzero(labelled["emphasis"])) == set(np.flatnonzero(index == 2))
    assert not labelled["question"].any() and (plain["emphasis"] == -1).all()
    batch = collate([labelled, plain])
    assert batch["relative"]["rel_f0"].shape == (2, 50) and batch["cues"]["emphasis"].shape == (2, 50)
    assert (batch["cues"]["emphasis"][1] == -1).all() and (batch["word_index"][1] == -1).all()
    targets = style_targets(batch)
    assert {"rel_f0", "rel_energy", "emphasis", "question"} <= set(targets)
    # files without the absolute contours fall back to the stored (octave, 20 dB unit) targets
    data = {k: labelled[k] for k in ("units", "log_f0", "voiced", "energy")}
    add_prosody_targets(data)
    np.testing.assert_allclose(data["rel_f0"], 12 * labelled["log_f0"] * labelled["voiced"], atol=1e-5)
    assert (data["emphasis"] == -1).all()


def _cfg(**changes) -> FaceStyleConfig:
    cfg = face_style_preset("debug")
    for name, value in changes.items():
        setattr(cfg, name, value)
    return cfg


def _inputs(cfg: FaceStyleConfig, batch: int = 4, frames: int = 12, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {
        "descriptor": F.normalize(torch.randn(batch, cfg.descriptor_dim, generator=gen), dim=-1),
        "expression": torch.softmax(3 * torch.randn(batch, frames, cfg.expression_dim, generator=gen), -1),
        "key_padding_mask": torch.zeros(batch, frames, dtype=torch.bool),
        "face_images": torch.rand(batch, 3, 3, cfg.face_encoder_size, cfg.face_encoder_size, generator=gen),
    }


def test_the_new_heads_exist_only_when_asked_and_old_outputs_stay() -> None:
    plain = FaceStyleAdapter(_cfg())
    assert plain.relative_head is None and plain.cue_head is None
    assert not any(k.startswith(("relative_head", "cue_head")) for k in plain.state_dict())
    assert tuple(plain(**_inputs(plain.cfg))) == OUTPUT_NAMES
    both = FaceStyleAdapter(_cfg(relative_prosody=True, prosody_cues=True))
    out = both(**_inputs(both.cfg))
    assert tuple(out) == (*OUTPUT_NAMES, *RELATIVE_OUTPUTS, *CUE_OUTPUTS)
    assert all(out[k].shape == (4, 24) for k in (*RELATIVE_OUTPUTS, *CUE_OUTPUTS))
    assert float(out["rel_f0"].detach().abs().max()) < 3.0  # small init: the head starts near "the median"
    # the old losses ignore the new targets of a model without the heads
    targets = {"rel_f0": torch.ones(4, 24), "emphasis": torch.zeros(4, 24)}
    assert set(plain.losses(plain(**_inputs(plain.cfg)), targets)) == {"total"}


def test_config_fields_validate_and_default_off() -> None:
    cfg = FaceStyleConfig()
    assert not cfg.relative_prosody and not cfg.prosody_cues
    assert cfg.relative_smooth_tokens == 1
    assert _cfg(relative_smooth_s=0.2).relative_smooth_tokens == 11  # 0.2 s at 50 Hz, odd
    for bad in ({"emphasis_weight": -1.0}, {"relative_f0_weight": float("nan")}, {"relative_smooth_s": -0.1}):
        with pytest.raises(InputError):
            _cfg(**bad).validate()


def test_the_new_heads_learn_a_tiny_batch_and_skip_unlabelled_tokens() -> None:
    torch.manual_seed(0)
    cfg = _cfg(relative_prosody=True, prosody_cues=True, smooth_window_s=0.0)  # per-frame cues
    model = FaceStyleAdapter(cfg)
    x = _inputs(cfg)
    cue = x["expression"][..., 0].repeat_interleave(2, dim=1)  # [4, 24] what the face shows
    targets = {
        "rel_f0": 24.0 * (cue - cue.mean()),  # semitones that follow the face
        "voiced": (torch.arange(24) % 5 != 4).float().expand(4, 24),
        "rel_energy": 10.0 * (cue - cue.mean()),
        "emphasis": (cue > cue.median()).float(),
        "question": (cue < cue.quantile(0.2)).float(),
    }
    targets["emphasis"][3] = -1.0  # a clip without labels
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = {k: float(v.detach()) for k, v in model.losses(model(**x), targets).items()}
    for _ in range(150):
        losses = model.losses(model(**x), targets)
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
    last = {k: float(v.detach()) for k, v in model.losses(model(**x), targets).items()}
    assert {"rel_f0", "rel_energy", "emphasis", "question", "total"} <= set(first)
    for name in ("rel_f0", "rel_energy", "emphasis", "question", "total"):
        assert last[name] < 0.6 * first[name], (name, first[name], last[name])
    # unlabelled tokens (-1) add nothing: changing the logits there leaves the loss as it is
    with torch.no_grad():
        out = model(**x)
    moved = {**out, "emphasis_logit": out["emphasis_logit"].clone()}
    moved["emphasis_logit"][3] += 5.0
    assert float(model.losses(moved, targets)["emphasis"]) == pytest.approx(
        float(model.losses(out, targets)["emphasis"])
    )


def test_smoothed_relative_targets_average_voiced_tokens_only() -> None:
    from imagintalk.models.face_style import smooth_tokens

    values = torch.tensor([[0.0, 3.0, 0.0, 6.0, 9.0, 0.0]])
    voiced = torch.tensor([[0.0, 1.0, 0.0, 1.0, 1.0, 0.0]])
    got = smooth_tokens(values, voiced, 3)
    torch.testing.assert_close(got[0, 1:5], torch.tensor([3.0, 4.5, 7.5, 7.5]))
    assert torch.equal(smooth_tokens(values, voiced, 1), values)
    assert float(got[0, 0]) == 3.0  # an unvoiced token next to a voiced one (masked out by the loss)


def test_relative_report_scores_contours_and_the_emphasised_word() -> None:
    index = word_token_index(WORDS, 50, RATE)
    items = [
        _item(25, k, {"word_index": index, "emphasis_word": k % 4, "is_question": k % 2}) for k in range(4)
    ]
    items.append(_item(20, 9, None))  # an unlabelled clip counts only for the contours
    cfg = _cfg(relative_prosody=True, prosody_cues=True)
    report = relative_report(FaceStyleAdapter(cfg).eval(), items, use_face_encoder=True)
    assert report["emphasis_clips"] == 4 and report["emphasis_chance"] == pytest.approx(0.25)
    assert 0.0 <= report["emphasis_accuracy"] <= 1.0 and 0.0 <= report["question_accuracy"] <= 1.0
    assert -1.0 <= report["rel_f0_correlation"] <= 1.0 and -1.0 <= report["rel_energy_correlation"] <= 1.0

    class Oracle(torch.nn.Module):  # predicts the truth: every score is perfect
        def __init__(self) -> None:
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(()))
            self.k = 0

        def forward(self, **_):
            item = items[self.k]
            self.k += 1
            out = {k: torch.as_tensor(item[k])[None] for k in RELATIVE_OUTPUTS}
            out["emphasis_logit"] = 10 * (torch.as_tensor(item["emphasis"])[None] - 0.5)
            out["question_logit"] = 10 * (torch.as_tensor(item["question"])[None] - 0.5)
            return out

    perfect = relative_report(Oracle(), items, use_face_encoder=False)
    assert perfect["rel_f0_correlation"] == pytest.approx(1.0, abs=1e-5)
    assert perfect["emphasis_accuracy"] == 1.0 and perfect["question_accuracy"] == 1.0
    assert relative_report(FaceStyleAdapter(_cfg()).eval(), items, use_face_encoder=True) == {}


def test_the_shipped_model_has_the_heads_and_an_older_config_loads_without_them() -> None:
    """Since issue 21 the shipped adapter has both heads (trained on expressive SynthTalk); a model
    config written before them (no such keys) still means an adapter without them."""
    from safetensors import safe_open

    from imagintalk.models.bundle import load_bundle
    from imagintalk.settings import config_from_dict

    raw = json.loads((Path(DEFAULT_MODEL_DIR) / "config.json").read_text())
    older = {
        **raw,
        "style": {k: v for k, v in raw["style"].items() if k not in ("relative_prosody", "prosody_cues")},
    }
    assert (
        not config_from_dict(older).style.relative_prosody and not config_from_dict(older).style.prosody_cues
    )
    bundle = load_bundle(DEFAULT_MODEL_DIR, components=("style",))  # strict: same parameter names
    style = bundle.style
    assert style.cfg.relative_prosody and style.cfg.prosody_cues
    with safe_open(str(Path(DEFAULT_MODEL_DIR) / "style.safetensors"), "pt") as stored:
        assert set(style.state_dict()) == set(stored.keys())
    cfg = style.cfg
    x = _inputs(cfg, batch=1, frames=10)
    x["expression"] = torch.rand(1, 10, cfg.expression_dim)
    x.pop("face_images")
    with torch.no_grad():
        assert tuple(style(**x)) == (*OUTPUT_NAMES, *RELATIVE_OUTPUTS, *CUE_OUTPUTS)


def test_stage2_learns_the_new_targets_from_a_prepared_expressive_corpus(tmp_path) -> None:
    """imagintalk prepare stores the word cues of expressive clips; stage 2 with both heads on
    trains on them and records the new validation figures."""
    import argparse

    from imagintalk.codec.train import train_world_rvq
    from imagintalk.commands import train as train_command
    from imagintalk.data.feature_file import read_features
    from imagintalk.data.feature_store import list_clips
    from imagintalk.data.prepare import prepare_dataset
    from imagintalk.manifest import read_manifest, write_manifest
    from imagintalk.models.bundle import load_bundle
    from imagintalk.settings import load_config
    from imagintalk.synth.corpus import generate_corpus

    cfg = load_config("debug")
    cfg.synth.expressive = True
    data_dir = tmp_path / "data"
    generate_corpus(data_dir, 3, seed=5, split="train", cfg=cfg.synth, workers=1, progress=False)
    entries = read_manifest(data_dir / "manifest.jsonl")
    entries[-1]["split"] = "val"
    write_manifest(data_dir / "manifest.jsonl", entries)
    cfg.codec.train_cache = str(tmp_path / "codec_corpus")
    train_world_rvq(cfg.codec, seed=0, progress=False).save(tmp_path / "codec")
    cfg.codec.path = str(tmp_path / "codec")
    assert prepare_dataset(data_dir, cfg, workers=1, progress=False).failed == 0
    by_id = {e["id"]: e for e in entries}
    for ref in list_clips(data_dir, "no clips"):
        clip = read_features(ref)
        entry = by_id[clip["id"]]
        assert clip["emphasis_word"] == (-1 if entry["emphasis"] is None else entry["emphasis"])
        assert clip["is_question"] == int(entry["contour"] == "question")
        assert (
            clip["word_index"].shape == clip["units"].shape
            and clip["word_index"].max() == len(entry["words"]) - 1
        )

    parser = argparse.ArgumentParser()
    train_command.register(parser.add_subparsers())
    model_dir = tmp_path / "model"
    argv = ["train", "--stage", "2", "--preset", "debug", "--data", str(data_dir), "--out", str(model_dir)]
    argv += ["--set", "style.use_expression_encoder=false", "--set", "style.relative_prosody=true"]
    argv += ["--set", "style.prosody_cues=true", "--set", "style.relative_smooth_s=0.1", "--no-progress"]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    val = json.loads((model_dir / "runs" / "stage2" / "val_metrics.json").read_text())
    assert -1.0 <= val["rel_f0_correlation"] <= 1.0 and -1.0 <= val["rel_energy_correlation"] <= 1.0
    assert val["emphasis_clips"] in (0.0, 1.0) and 0.0 <= val["question_accuracy"] <= 1.0
    bundle = load_bundle(model_dir, components=("style",))  # saved and reloaded with its heads
    assert bundle.style.relative_head is not None and bundle.style.cue_head is not None

    # a second stage 2 that starts from it and keeps its identity path: c_id's weights stay bit for
    # bit, the expression path moves (the shipped model's voice map kept while prosody retrains)
    warm_dir = tmp_path / "warm"
    warm = argv[:-1] + ["--out", str(warm_dir), "--init-style", str(model_dir), "--max-steps", "3"]
    warm += ["--set", "train.style_freeze_identity=true", "--set", "train.style.lr=0.01", "--no-progress"]
    args = parser.parse_args(warm)
    assert args.func(args) == 0
    before = bundle.style.state_dict()
    after = load_bundle(warm_dir, components=("style",)).style.state_dict()
    identity = [
        n
        for n in before
        if n.startswith(("descriptor_norm.", "identity_mlp.", "speaker_head.", "face_encoder."))
    ]
    assert identity and all(torch.equal(before[n], after[n]) for n in identity)
    assert not torch.equal(before["expression_mlp.0.weight"], after["expression_mlp.0.weight"])


def test_a_warm_start_refuses_another_presets_adapter_and_keeps_missing_heads_fresh() -> None:
    cfg = face_style_preset("debug")
    plain = FaceStyleAdapter(cfg)
    with_heads = FaceStyleAdapter(FaceStyleConfig(**{**cfg.__dict__, "relative_prosody": True}))
    fresh = with_heads.load_warm_start(plain.state_dict())
    assert fresh == ["relative_head.1.bias", "relative_head.1.weight"]
    assert torch.equal(with_heads.identity_mlp[0].weight, plain.identity_mlp[0].weight)
    wider = FaceStyleAdapter(FaceStyleConfig(**{**cfg.__dict__, "hidden_dim": cfg.hidden_dim * 2}))
    with pytest.raises(CheckpointError, match="cannot start from that style adapter"):
        wider.load_warm_start(plain.state_dict())
