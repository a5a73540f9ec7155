"""imagintalk prepare on a tiny SynthTalk dir, the feature files, FeatureDataset, collate, unit sequences."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from imagintalk.codec.train import train_world_rvq
from imagintalk.codec.world_rvq import WorldRVQCodec
from imagintalk.commands import prepare as prepare_command
from imagintalk.data.collate import IGNORE_INDEX, collate
from imagintalk.data.dataset import FeatureDataset
from imagintalk.data.feature_file import read_features, write_features
from imagintalk.data.prepare import PrepareReport, prepare_dataset
from imagintalk.data.unit_sequences import UnitSequenceDataset, collate_units
from imagintalk.errors import InputError
from imagintalk.manifest import read_manifest, write_manifest
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.units import NUM_UNITS, units_from_manifest_entry
from imagintalk.video.crops import normalize_mouth

NUM_CLIPS = 3


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, str, PrepareReport]:
    """3 debug SynthTalk clips, a text-only copy of one (val split) and 2 broken manifest entries,
    prepared with a freshly trained debug codec."""
    root = tmp_path_factory.mktemp("prepare")
    cfg = load_config("debug")
    data_dir = root / "data"
    generate_corpus(data_dir, NUM_CLIPS, seed=0, split="train", cfg=cfg.synth, workers=1, progress=False)
    good = read_manifest(data_dir / "manifest.jsonl")[0]
    (data_dir / "video" / "corrupt.mp4").write_bytes(b"\x00 not a video " * 50)
    text_only = {k: v for k, v in good.items() if k != "phonemes"}
    broken = [
        {**good, "id": "zz_missing", "video": "video/missing.mp4"},
        {**good, "id": "zz_corrupt", "video": "video/corrupt.mp4"},
    ]
    write_manifest(
        data_dir / "manifest.jsonl", [{**text_only, "id": "val_text_only", "split": "val"}, *broken]
    )
    cfg.codec.train_cache = str(root / "codec_corpus")
    codec_dir = root / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec_dir)
    cfg.codec.path = str(codec_dir)
    report = prepare_dataset(data_dir, cfg, workers=1, progress=False)
    return data_dir, str(codec_dir), report


def test_prepare_report_counts_failures_without_stopping(prepared) -> None:
    data_dir, _, report = prepared
    assert (report.clips, report.prepared, report.failed) == (NUM_CLIPS + 3, NUM_CLIPS + 1, 2)
    assert set(report.failures) == {"zz_missing", "zz_corrupt"}
    assert report.detection_rate > 0.9 and report.bytes_per_clip > 0
    saved = json.loads((data_dir / "features" / "prepare_report.json").read_text())
    assert saved["failed"] == 2 and saved["codec"]["name"] == "world_rvq"
    names = sorted(p.stem for p in (data_dir / "features").glob("*.npz"))
    assert names == [*(f"train_{i:05d}" for i in range(NUM_CLIPS)), "val_text_only"]


def test_feature_files_have_the_documented_shapes(prepared) -> None:
    data_dir, _, _ = prepared
    entries = {e["id"]: e for e in read_manifest(data_dir / "manifest.jsonl")}
    for path in sorted((data_dir / "features").glob("train_*.npz")):
        f = read_features(path)
        t, k = f["num_frames"], f["codec_num_codebooks"]
        assert t == entries[f["id"]]["num_frames"] and f["token_rate_factor"] == 2
        assert f["mouth"].shape == (t, 96, 96) and f["mouth"].dtype == np.uint8
        assert f["detected"].shape == (t,) and f["detected"].dtype == bool
        assert f["face_crops"].shape == (4, 64, 64, 3) and f["face_crops"].dtype == np.uint8
        assert f["identity"].shape == (128,) and f["speaker_embedding"].shape == (256,)
        assert f["expression"].shape == (t, 7) and np.allclose(f["expression"].sum(1), 1, atol=1e-2)
        assert f["units"].shape == (2 * t,) and f["units"].dtype == np.int16
        assert f["codes"].shape == (k, 2 * t) and f["codes"].dtype == np.int16
        assert 0 <= f["codes"].min() and f["codes"].max() < f["codec_cardinality"]
        for key in ("log_f0", "voiced", "energy", "f0_hz", "energy_db"):
            assert f[key].shape == (2 * t,) and f[key].dtype == np.float32
        assert f["voiced"].any() and f["unit_source"] == "phonemes"
        assert np.array_equal(f["units"], units_from_manifest_entry(entries[f["id"]], 50))
        assert len(f["codec_fingerprint"]) == 16


def test_units_from_a_transcript_alone_follow_the_speech(prepared) -> None:
    """No phonemes in the manifest: pocketsphinx aligns the text; speech / silence agree with espeak's."""
    data_dir, _, _ = prepared
    aligned = read_features(data_dir / "features" / "val_text_only.npz")
    reference = read_features(data_dir / "features" / "train_00000.npz")
    assert aligned["unit_source"] == "alignment" and aligned["units"].shape == reference["units"].shape
    assert np.array_equal(aligned["codes"], reference["codes"])  # same audio, same codec
    assert np.mean((aligned["units"] > 0) == (reference["units"] > 0)) > 0.8


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    prepare_command.register(parser.add_subparsers())
    args = parser.parse_args(["prepare", *argv, "--preset", "debug", "--no-progress"])
    return args.func(args)


def test_prepare_skips_clips_already_done(prepared, capsys) -> None:
    data_dir, codec_dir, _ = prepared
    stamps = {p: p.stat().st_mtime_ns for p in (data_dir / "features").glob("*.npz")}
    assert _cli(str(data_dir), "--codec", codec_dir, "--shard", "0/2", "--no-pack") == 0  # clips 0, 2, 4 of 5
    out = capsys.readouterr().out
    assert "0 prepared, 2 already done, 1 failed" in out
    assert "s/clip" not in out  # no rate when this run prepared nothing
    assert stamps == {p: p.stat().st_mtime_ns for p in (data_dir / "features").glob("*.npz")}


def test_parallel_workers_write_the_same_files(prepared, tmp_path) -> None:
    data_dir, codec_dir, _ = prepared
    copy = tmp_path / "data"
    for sub in ("video", "audio"):
        shutil.copytree(data_dir / sub, copy / sub)
    entries = read_manifest(data_dir / "manifest.jsonl")
    write_manifest(copy / "manifest.jsonl", [e for e in entries if e["id"] in ("train_00001", "train_00002")])
    cfg = load_config("debug")
    cfg.codec.path = codec_dir
    report = prepare_dataset(copy, cfg, workers=2, progress=False)
    assert (report.prepared, report.failed) == (2, 0)
    for name in ("train_00001", "train_00002"):
        serial = read_features(data_dir / "features" / f"{name}.npz")
        parallel = read_features(copy / "features" / f"{name}.npz")
        assert serial.keys() == parallel.keys()
        for key, value in serial.items():
            assert np.array_equal(value, parallel[key]), key


def test_prepare_refuses_another_codec(prepared, tmp_path) -> None:
    data_dir, codec_dir, _ = prepared
    codec = WorldRVQCodec.load(codec_dir)
    codec.mean = codec.mean + 0.01  # another codec: same sizes, other weights
    codec.save(tmp_path / "other")
    with pytest.raises(InputError, match="codecs cannot be mixed"):
        _cli(str(data_dir), "--codec", str(tmp_path / "other"))


def test_dataset_refuses_mixed_codecs(prepared, tmp_path) -> None:
    data_dir, _, _ = prepared
    copy = tmp_path / "data"
    shutil.copytree(data_dir / "features", copy / "features")
    path = copy / "features" / "train_00001.npz"
    write_features(path, {**read_features(path), "codec_fingerprint": "0123456789abcdef"})
    with pytest.raises(InputError, match="codecs cannot be mixed"):
        FeatureDataset(copy)


def test_dataset_windows_are_aligned_and_deterministic(prepared) -> None:
    data_dir, _, _ = prepared
    whole = FeatureDataset(data_dir, split="train")
    windows = FeatureDataset(data_dir, split="train", window_frames=20, seed=3)
    assert len(whole) == NUM_CLIPS
    for i in range(NUM_CLIPS):
        full, item = whole[i], windows[i]
        s = item["window_start"]
        assert item["mouth"].shape == (20, 96, 96) and item["units"].shape == (40,)
        assert np.array_equal(item["mouth"], full["mouth"][s : s + 20])
        assert np.array_equal(item["units"], full["units"][2 * s : 2 * s + 40])
        assert np.array_equal(item["codes"], full["codes"][:, 2 * s : 2 * s + 40])
    again = FeatureDataset(data_dir, window_frames=20, seed=3)
    assert [again[i]["window_start"] for i in range(NUM_CLIPS)] == [
        windows[i]["window_start"] for i in range(NUM_CLIPS)
    ]
    starts = set()
    for epoch in range(6):
        windows.set_epoch(epoch)
        starts.add(windows[0]["window_start"])
    assert len(starts) > 1
    with pytest.raises(InputError, match="split"):
        FeatureDataset(data_dir, split="test")


def test_collate_pads_with_masks(prepared) -> None:
    data_dir, _, _ = prepared
    ds = FeatureDataset(data_dir, prosody_reference="speaker")
    items = [ds[i] for i in range(len(ds))]
    batch = collate(items)
    lengths = [len(item["mouth"]) for item in items]
    b, t = len(items), max(lengths)
    assert batch["mouth"].shape == (b, t, 88, 88) and batch["mouth"].dtype == torch.float32
    assert batch["codes"].shape == (b, 4, 2 * t) and batch["units"].shape == (b, 2 * t)
    assert (
        batch["face_crops"].shape == (b, 4, 3, 64, 64)
        and 0 <= batch["face_crops"].min() <= batch["face_crops"].max() <= 1
    )
    assert batch["identity"].shape == (b, 128) and batch["speaker_embedding"].shape == (b, 256)
    assert batch["expression"].shape == (b, t, 7) and batch["prosody"]["log_f0"].shape == (b, 2 * t)
    assert batch["frame_mask"].sum(1).tolist() == lengths == batch["lengths"].tolist()
    assert torch.equal(batch["token_mask"], batch["units"] != IGNORE_INDEX)
    assert torch.equal(batch["token_mask"][:, ::2], batch["frame_mask"])
    assert batch["emotion"].tolist() == [ds.emotions.index(item["emotion"]) for item in items]
    for row, item in enumerate(items):
        n = lengths[row]
        assert torch.allclose(batch["mouth"][row, :n], torch.from_numpy(normalize_mouth(item["mouth"])))
        assert not batch["mouth"][row, n:].any() and not batch["codes"][row, :, 2 * n :].any()


def test_unit_sequences_from_clips_and_text(prepared) -> None:
    data_dir, _, _ = prepared
    ds = UnitSequenceDataset(data_dir, "train", extra_text_sequences=3, max_units=60, seed=1, progress=False)
    assert len(ds) == NUM_CLIPS + 3 and ds.num_clip_sequences == NUM_CLIPS
    same = UnitSequenceDataset(None, extra_text_sequences=3, seed=1, progress=False)
    for a, b in zip(ds.sequences[NUM_CLIPS:], same.sequences):
        assert np.array_equal(a, b) and len(a) > 50  # a GRID sentence lasts > 1 s at 50 Hz
        assert (a > 0).sum() > len(a) // 3 and a.max() < NUM_UNITS  # mostly speech, not silence
    batch = collate_units([ds[i] for i in range(len(ds))])
    assert batch["units"].shape == (len(ds), 60)
    assert torch.equal(batch["attention_mask"], batch["units"] != IGNORE_INDEX)
    with pytest.raises(InputError):
        UnitSequenceDataset(None)


def test_trainer_runs_on_feature_batches(prepared, tmp_path) -> None:
    """The generic Trainer over FeatureDataset windows: a per-frame unit classifier from expression."""
    import torch.nn.functional as F

    from imagintalk.train.trainer import Trainer, TrainerOptions

    data_dir, _, _ = prepared
    ds = FeatureDataset(data_dir, split="train", window_frames=20)

    def step_fn(model, batch):
        logits = model(batch["expression"]).repeat_interleave(2, dim=1)  # [B, 2T, U]
        return F.cross_entropy(logits.transpose(1, 2), batch["units"], ignore_index=IGNORE_INDEX), {}

    torch.manual_seed(0)
    opts = TrainerOptions(str(tmp_path), max_steps=4, batch_size=2, log_every=1, ckpt_every=2, progress=False)
    trainer = Trainer(
        nn.Linear(7, NUM_UNITS), lambda m: torch.optim.Adam(m.parameters()), step_fn, ds, collate, opts
    )
    summary = trainer.train()
    assert summary["step"] == 4 and np.isfinite(summary["loss"])
    assert (tmp_path / "checkpoints" / "step_00000004" / "model.safetensors").is_file()
