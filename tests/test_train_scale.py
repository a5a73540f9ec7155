"""Training at scale: the weighted dataset mix, ``--data DIR:WEIGHT``, and the acceptance run: tiny
LRS3- and RAVDESS-layout trees, prepared by ``imagintalk prepare --dataset``, then one step of each
stage on both under ``torchrun --nproc_per_node 2`` on the CPU (gloo), with gradient accumulation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from dataset_trees import lrs3_tree, ravdess_tree, speaking_clips
from safetensors import safe_open

from imagintalk.cli import main
from imagintalk.codec.train import train_world_rvq
from imagintalk.commands.train import parse_data_arg
from imagintalk.data.dataset import FeatureDataset
from imagintalk.errors import InputError
from imagintalk.models.bundle import load_bundle
from imagintalk.settings import load_config
from imagintalk.train.mixing import MixedDataset, WeightedMixSampler, draw_counts, epoch_order
from imagintalk.train.stages import DataSource, check_mixable

# the debug preset's expression CNN wants per-frame crops that prepared data does not hold
NO_EXPR_CNN = ("--set", "style.use_expression_encoder=false")


# --- the weighted mix -----------------------------------------------------------------------------
def test_each_dataset_gets_its_weighted_share_of_every_epoch() -> None:
    sizes, weights = [30, 500, 70], [2.0, 1.0, 1.0]
    total = sum(sizes)
    for epoch in range(3):
        order = epoch_order(sizes, weights, seed=5, epoch=epoch)
        assert order.shape == (total, 2)
        share = np.bincount(order[:, 0], minlength=3) / total
        np.testing.assert_allclose(share, [0.5, 0.25, 0.25], atol=1 / total)
        for d, size in enumerate(sizes):
            clips = order[order[:, 0] == d, 1]
            assert clips.min() >= 0 and clips.max() < size
            # an up-weighted small set repeats its clips evenly (whole passes, plus a partial one at
            # each end of the epoch); a down-weighted large one repeats none
            counts = np.bincount(clips, minlength=size)
            assert counts.max() - counts.min() <= 2 if len(clips) >= size else counts.max() == 1
    assert list(draw_counts(7, [1, 1, 1])) == [3, 2, 2] and draw_counts(7, [1, 1, 1]).sum() == 7


def test_the_mix_depends_on_seed_and_epoch_only_and_moves_through_a_large_set() -> None:
    sizes, weights = [10, 400], [3.0, 1.0]  # the large set gives 102 draws of its 400 clips per epoch
    first = epoch_order(sizes, weights, seed=1, epoch=0)
    assert np.array_equal(first, epoch_order(sizes, weights, seed=1, epoch=0))
    assert not np.array_equal(first, epoch_order(sizes, weights, seed=2, epoch=0))
    second = epoch_order(sizes, weights, seed=1, epoch=1)
    assert not np.array_equal(first, second)
    seen = [set(o[o[:, 0] == 1, 1].tolist()) for o in (first, second)]
    assert not seen[0] & seen[1]  # epoch 1 goes on through the large set's permutation


def test_ranks_split_the_epoch_and_resume_mid_epoch() -> None:
    sizes, weights = [7, 12], [1.0, 3.0]
    whole = WeightedMixSampler(sizes, weights, 1, 0, seed=3)
    whole.set_epoch(2)
    everything = list(whole)
    shares = []
    for rank in range(3):
        sampler = WeightedMixSampler(sizes, weights, 3, rank, seed=3)
        sampler.set_epoch(2)
        shares.append(list(sampler))
        assert len(sampler) == len(shares[-1]) == 19 // 3
    # round-robin: the ranks' draws interleave back into the single process's epoch (minus its tail)
    assert [shares[i % 3][i // 3] for i in range(18)] == everything[:18]
    positions = [set(range(r, 18, 3)) for r in range(3)]
    assert not positions[0] & positions[1] and not positions[1] & positions[2]
    resumed = WeightedMixSampler(sizes, weights, 3, 1, seed=3)
    resumed.set_epoch(2)
    resumed.skip = 4
    assert list(resumed) == shares[1][4:] and len(resumed) == 2


def test_mixed_dataset_maps_indices_to_its_datasets() -> None:
    mixed = MixedDataset([["a0", "a1"], ["b0", "b1", "b2"]], [1.0, 1.0])
    assert len(mixed) == 5 and [mixed[i] for i in range(5)] == ["a0", "a1", "b0", "b1", "b2"]
    sampler = mixed.sampler(1, 0, True, 0)
    drawn = Counter(mixed[i][0] for i in sampler)
    assert drawn == {"a": 3, "b": 2}  # 5 draws at 1:1: the odd one to the first (largest remainder tie)
    with pytest.raises(ValueError, match="positive"):
        MixedDataset([["a"], ["b"]], [1.0, 0.0])


def test_data_argument_weights_and_colons_in_paths() -> None:
    assert parse_data_arg("data/lrs3") == ("data/lrs3", 1.0)
    assert parse_data_arg("data/lrs3:2.5") == ("data/lrs3", 2.5)
    assert parse_data_arg("/mnt/a:b/mead") == ("/mnt/a:b/mead", 1.0)  # not a number: part of the path
    assert parse_data_arg("/mnt/run:2:1") == ("/mnt/run:2", 1.0)  # a dir named "run:2", weight 1
    assert parse_data_arg(":3") == (":3", 1.0)
    for bad in ("data:0", "data:-1", "data:nan", "data:inf"):
        with pytest.raises(InputError, match="weight must be a positive number"):
            parse_data_arg(bad)


# --- the acceptance run ---------------------------------------------------------------------------
LRS3_LAYOUT = [("trainval", "spkA", "00001"), ("trainval", "spkA", "00002"), ("trainval", "spk-B", "00001")]
# happy (actor 1), neutral (actor 2). RAVDESS's text is the take's statement, which SynthTalk's speech
# does not say: pocketsphinx aligns the second take but not the first, which prepare skips (1 clip left)
RAVDESS_NAMES = ["01-01-03-02-01-01-01", "01-01-01-01-02-01-02"]


def _prepare(dataset: str, root: Path, out: Path, codec: Path, *extra: str) -> None:
    argv = ["prepare", "--dataset", dataset, "--root", str(root), str(out), "--codec", str(codec)]
    argv += ["--preset", "debug", "--val-share", "0", "--workers", "1", "--no-progress", *extra]
    assert main(argv) == 0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, Path]:
    """An LRS3-layout tree (3 clips, 2 speakers) and a RAVDESS-layout one (2 takes), each prepared."""
    root = tmp_path_factory.mktemp("scale")
    clips = speaking_clips(root, 2)
    cfg = load_config("debug")
    cfg.codec.train_cache = str(root / "codec_corpus")
    codec = root / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec)
    lrs3, ravdess = root / "lrs3", root / "ravdess"
    _prepare("lrs3", lrs3_tree(clips, root / "LRS3", LRS3_LAYOUT), lrs3, codec)
    _prepare("ravdess", ravdess_tree(clips, root / "RAVDESS", RAVDESS_NAMES), ravdess, codec)
    assert len(FeatureDataset(ravdess, "train")) >= 1
    return {"clips": clips, "codec": codec, "lrs3": lrs3, "ravdess": ravdess}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
           "127.0.0.1", "--master_port", str(_free_port()), "-m", "imagintalk", "train", *argv]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_every_stage_trains_on_two_prepared_datasets_under_torchrun(prepared, tmp_path) -> None:
    out = tmp_path / "model"
    common = ["--preset", "debug", "--out", str(out), "--max-steps", "1", "--no-progress", *NO_EXPR_CNN]
    data = ["--data", f"{prepared['lrs3']}:3", "--data", str(prepared["ravdess"])]
    # stage 2 accumulates 2 micro-batches of 1 clip per rank (DDP syncs on the second only)
    extra = {1: [], 2: ["--grad-accum", "2", "--set", "train.style.batch_size=1"], 3: []}
    for stage in (1, 2, 3):
        proc = _torchrun("--stage", str(stage), *data, *common, *extra[stage])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.count(f"stage {stage} done") == 1  # rank 0 reports
    bundle = load_bundle(out, components=("lip", "mlm", "style", "dit"))
    assert bundle.cfg.preset == "debug" and bundle.dit is not None
    for run in ("stage1_lip", "stage1_mlm", "stage2", "stage3"):
        meta = json.loads((out / "runs" / run / "checkpoints" / "step_00000001" / "meta.json").read_text())
        assert meta["state"]["data"]["world_size"] == 2
    style = json.loads((out / "runs" / "stage2" / "checkpoints" / "step_00000001" / "meta.json").read_text())
    # two micro-batches per step: the data position is 2 batches into the epoch
    assert style["extra"]["trainer"]["grad_accum"] == 2 and style["state"]["data"]["batch_in_epoch"] == 2
    # stage 3: one condition cache per source, merged from the ranks' parts (none left behind)
    stage3 = out / "runs" / "stage3"
    assert not list(stage3.glob("*.part*")) and not list(stage3.glob("*.tmp"))
    for name, source in (("train", "lrs3"), ("train1", "ravdess")):
        (cache,) = stage3.glob(f"conditions_{name}_*.safetensors")
        with safe_open(str(cache), "pt") as handle:
            clips = sorted({key.split(".")[0] for key in handle.keys()})
        # rank 1 computed the odd clips: a merge that lost its part would miss them
        assert clips == [f"{i:07d}" for i in range(len(FeatureDataset(prepared[source], "train")))]


def test_datasets_of_another_codec_are_not_mixed(prepared, tmp_path, capsys) -> None:
    cfg = load_config("debug")
    cfg.codec.train_cache = str(tmp_path / "codec_corpus")
    other_codec = tmp_path / "codec"
    train_world_rvq(cfg.codec, seed=1, progress=False).save(other_codec)
    other = tmp_path / "lrs3_other_codec"
    _prepare("lrs3", lrs3_tree(prepared["clips"], tmp_path / "LRS3", LRS3_LAYOUT[:1]), other, other_codec)
    with pytest.raises(InputError, match="cannot train together: .*codec"):
        check_mixable([DataSource(prepared["lrs3"], "train"), DataSource(other, "train")])
    check_mixable([DataSource(prepared["lrs3"], "train"), DataSource(prepared["ravdess"], "train")])
    # the command line: one line on stderr, exit code 2 (bad input), nothing trained
    out = tmp_path / "model"
    argv = ["train", "--stage", "1", "--preset", "debug", "--out", str(out), "--no-progress"]
    assert main([*argv, "--data", str(prepared["lrs3"]), "--data", f"{other}:2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --data ") and "cannot train together" in err and err.count("\n") == 1
    assert main([*argv, "--data", str(prepared["lrs3"]), "--grad-accum", "0"]) == 2
    assert capsys.readouterr().err == "error: --grad-accum must be positive\n"
    assert not out.exists()
