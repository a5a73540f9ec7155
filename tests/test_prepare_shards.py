"""Preparation at scale (issue 18): packs, a resume after a real kill, shards (``--shard`` and
torchrun's RANK / WORLD_SIZE) merged into one dir, and the merge's refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from imagintalk.cli import main
from imagintalk.codec.train import train_world_rvq
from imagintalk.commands.prepare import shard_of
from imagintalk.data.dataset import FeatureDataset
from imagintalk.data.feature_file import read_features
from imagintalk.data.feature_store import list_clips
from imagintalk.errors import InputError
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus

CLIPS = 4
PACK = "data.pack_clips=3"  # 4 clips -> packs of 3 + 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(a data dir of CLIPS debug SynthTalk clips, a debug codec dir)."""
    root = tmp_path_factory.mktemp("shards")
    cfg = load_config("debug")
    generate_corpus(root / "corpus", CLIPS, seed=0, split="train", cfg=cfg.synth, workers=1, progress=False)
    cfg.codec.train_cache = str(root / "codec_corpus")
    train_world_rvq(cfg.codec, seed=0, progress=False).save(root / "codec")
    return root / "corpus", root / "codec"


def fresh(corpus: tuple[Path, Path], dest: Path) -> Path:
    """An unprepared copy of the corpus (manifest copied, media linked)."""
    dest.mkdir(parents=True)
    shutil.copyfile(corpus[0] / "manifest.jsonl", dest / "manifest.jsonl")
    for sub in ("video", "audio"):
        (dest / sub).symlink_to((corpus[0] / sub).resolve())
    return dest


def prepare(data_dir: Path, codec: Path, *more: str) -> int:
    argv = [str(data_dir), "--codec", str(codec), "--workers", "1", "--set", PACK, *more]
    return main(["prepare", *argv, "--preset", "debug", "--no-progress"])


def contents(data_dir: Path) -> dict[str, dict]:
    """Clip id -> every array of the clip, read through the store (loose or packed)."""
    return {ref.clip_id: read_features(ref) for ref in list_clips(data_dir)}


def assert_same(got: dict[str, dict], want: dict[str, dict]) -> None:
    assert sorted(got) == sorted(want)
    for clip_id, arrays in want.items():
        assert arrays.keys() == got[clip_id].keys()
        for key, value in arrays.items():
            assert np.array_equal(value, got[clip_id][key]), (clip_id, key)


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    """The corpus prepared in one uninterrupted run, loose files (--no-pack)."""
    data_dir = fresh(corpus, tmp_path_factory.mktemp("ref") / "data")
    assert prepare(data_dir, corpus[1], "--no-pack") == 0
    assert len(list((data_dir / "features").glob("*.npz"))) == CLIPS
    return data_dir


def test_killed_prepare_resumes_and_packs(corpus, reference, tmp_path, capsys) -> None:
    """A run killed after its first clip file; the rerun prepares only the rest, then packs them all;
    training reads the packs; a third run finds everything done."""
    data_dir = fresh(corpus, tmp_path / "data")
    argv = [str(data_dir), "--codec", str(corpus[1]), "--workers", "1", "--set", PACK]
    command = [sys.executable, "-m", "imagintalk", "prepare", *argv, "--preset", "debug", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not list((data_dir / "features").glob("*.npz")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "no clip file within 300 s"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    done = len(list((data_dir / "features").glob("*.npz")))
    assert 1 <= done < CLIPS and not list((data_dir / "features").glob("pack-*"))
    capsys.readouterr()
    assert prepare(data_dir, corpus[1]) == 0
    out = capsys.readouterr().out
    assert f"{CLIPS} clips: {CLIPS - done} prepared, {done} already done, 0 failed" in out
    features = data_dir / "features"
    assert sorted(p.name for p in features.glob("pack-*")) == ["pack-0of1-0000.zip", "pack-0of1-0001.zip"]
    assert not list(features.glob("*.npz")) and not list(features.glob("*.partial"))
    assert_same(contents(data_dir), contents(reference))
    dataset, loose = FeatureDataset(data_dir), FeatureDataset(reference)
    assert len(dataset) == CLIPS
    assert_same({"item": dataset[1]}, {"item": loose[1]})
    assert prepare(data_dir, corpus[1]) == 0  # packed clips count as done
    assert f"0 prepared, {CLIPS} already done" in capsys.readouterr().out


def test_two_shards_merge_into_one_dir(corpus, reference, tmp_path, capsys, monkeypatch) -> None:
    """Shard 0/2 from torchrun's RANK / WORLD_SIZE, shard 1/2 by --shard, each in its own dir; merged."""
    first, second = fresh(corpus, tmp_path / "a"), fresh(corpus, tmp_path / "b")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert prepare(first, corpus[1]) == 0
    assert "shard 0/2 (from RANK / WORLD_SIZE)" in capsys.readouterr().out
    assert prepare(second, corpus[1], "--shard", "1/2") == 0  # --shard wins over the environment
    monkeypatch.delenv("RANK")
    assert [p.name for p in (first / "features").glob("pack-*")] == ["pack-0of2-0000.zip"]
    assert [p.name for p in (second / "features").glob("pack-*")] == ["pack-1of2-0000.zip"]
    assert (first / "features" / "prepare_report_0of2.json").is_file()
    merged = tmp_path / "merged"
    assert main(["prepare", "--merge", str(first), str(second), str(merged)]) == 0
    assert_same(contents(merged), contents(reference))
    report = json.loads((merged / "features" / "prepare_report.json").read_text())
    assert (report["clips"], report["prepared"], report["failed"]) == (CLIPS, CLIPS, 0)
    assert report["packs"] == ["pack-0of2-0000.zip", "pack-1of2-0000.zip"]
    assert (merged / "manifest.jsonl").read_text() == (corpus[0] / "manifest.jsonl").read_text()
    assert len(FeatureDataset(merged)) == CLIPS
    assert prepare(merged, corpus[1], "--overwrite") == 2  # 0/1 would have to redo half of each pack
    assert "belongs to another shard layout" in capsys.readouterr().err

    # refusals: one line each, nothing written
    capsys.readouterr()
    assert main(["prepare", "--merge", str(first), str(merged), str(tmp_path / "dup")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is in both" in err and "pack-0of2-0000.zip" in err
    other = tmp_path / "other"
    shutil.copytree(second, other, symlinks=True)
    pinned = json.loads((other / "features" / "codec.json").read_text())
    (other / "features" / "codec.json").write_text(json.dumps({**pinned, "fingerprint": "0" * 16}))
    assert main(["prepare", "--merge", str(first), str(other), str(tmp_path / "mixed")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "codecs cannot be mixed" in err
    assert not (tmp_path / "dup").exists() and not (tmp_path / "mixed").exists()


def test_a_clip_stored_twice_is_refused_naming_both(reference, tmp_path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(reference / "features", copy / "features")
    loose = sorted((copy / "features").glob("*.npz"))
    with zipfile.ZipFile(copy / "features" / "pack-0of1-0000.zip", "w") as pack:
        pack.write(loose[0], loose[0].name)
    with pytest.raises(InputError, match=rf"stored twice: .*{loose[0].name} and .*pack-0of1-0000.zip"):
        FeatureDataset(copy)


def test_shard_from_the_environment() -> None:
    assert shard_of(None, {}) == (0, 1)
    assert shard_of(None, {"RANK": "2", "WORLD_SIZE": "3"}) == (2, 3)
    assert shard_of("0/4", {"RANK": "2", "WORLD_SIZE": "3"}) == (0, 4)
    with pytest.raises(InputError, match="RANK=3 WORLD_SIZE=3: need whole numbers, 0 <= RANK < WORLD_SIZE"):
        shard_of(None, {"RANK": "3", "WORLD_SIZE": "3"})
    with pytest.raises(InputError, match="--shard must look like I/N"):
        shard_of("1", {})
