"""Dataset adapters (LRS3, LRS2, MEAD, RAVDESS) on tiny trees in each dataset's layout, built from
SynthTalk clips; read_audio on mp4 / m4a tracks; ``imagintalk prepare --dataset lrs3`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dataset_trees import lrs_text, put, write_m4a
from test_pipeline import make_clips

from imagintalk.cli import main
from imagintalk.codec.audio import read_audio
from imagintalk.codec.train import train_world_rvq
from imagintalk.data.feature_file import read_features
from imagintalk.data.feature_store import list_clips
from imagintalk.datasets import ADAPTERS, ClipEntry, assign_splits, build_manifest, get_adapter
from imagintalk.errors import InputError
from imagintalk.manifest import read_manifest
from imagintalk.pipeline.mux import mux_speech
from imagintalk.settings import load_config

SR = 16000


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    """Two SynthTalk clips: silent mp4s, their wavs, their texts, the mp4s with the speech muxed in."""
    root = tmp_path_factory.mktemp("datasets")
    videos = make_clips(root, 2)
    entries = {e["id"]: e for e in read_manifest(root / "synth" / "manifest.jsonl")}
    out = {"root": root, "video": [], "wav_path": [], "wav": [], "text": [], "muxed": []}
    for video in videos:
        entry = entries[video.stem]
        wav_path = root / "synth" / entry["audio"]
        wav = read_audio(wav_path, SR)
        out["video"].append(video)
        out["wav_path"].append(wav_path)
        out["wav"].append(wav)
        out["text"].append(entry["text"])
        out["muxed"].append(mux_speech(video, wav, SR, root / f"muxed_{video.stem}.mp4"))
    return out


def lrs3_tree(clips: dict, root: Path) -> Path:
    muxed, text = clips["muxed"], clips["text"]
    for subset, speaker, clip, k in [
        ("trainval", "spkA_1", "00001", 0),
        ("trainval", "spkA_1", "00002", 1),
        ("trainval", "spk-B", "00001", 1),
        ("pretrain", "spkA_1", "00001", 0),  # same speaker and clip number as trainval: another id
        ("test", "spkC", "00001", 0),
    ]:
        put(muxed[k], root / subset / speaker / f"{clip}.mp4")
        (root / subset / speaker / f"{clip}.txt").write_text(lrs_text(text[k]))
    put(muxed[0], root / "trainval" / "spk-B" / "00003.mp4")  # no transcript
    put(muxed[0], root / "trainval" / "spk-B" / "00004.mp4")
    (root / "trainval" / "spk-B" / "00004.txt").write_text("WORD START END\n")  # not a transcript
    return root


def test_registry_and_unknown_names() -> None:
    assert set(ADAPTERS) == {"lrs3", "lrs2", "mead", "ravdess"}
    assert get_adapter("mead") is ADAPTERS["mead"]
    with pytest.raises(
        InputError, match="unknown dataset 'voxceleb'; choose one of lrs2, lrs3, mead, ravdess"
    ):
        get_adapter("voxceleb")


def test_speaker_disjoint_splits_are_deterministic_and_hold_out_the_share() -> None:
    def entries() -> list[ClipEntry]:
        return [
            ClipEntry(
                f"x-{s}-{c}", "v", "a", speaker=f"s{s:02d}", dataset="x", split="test" if s == 0 else ""
            )
            for s in range(40)
            for c in range(3)
        ]

    first, second = entries(), entries()
    assign_splits(first, 0.1)
    assign_splits(list(reversed(second)), 0.1)  # order of the entries does not matter
    assert [e.split for e in first] == [e.split for e in second]
    by_speaker: dict[str, set[str]] = {}
    for e in first:
        by_speaker.setdefault(e.speaker, set()).add(e.split)
    assert all(len(splits) == 1 for splits in by_speaker.values())
    assert by_speaker["s00"] == {"test"}  # a split the dataset fixed stays
    assert sum(s == {"val"} for s in by_speaker.values()) == 4  # round(0.1 * 39)
    few = entries()[3:9]  # two speakers, 5%: still one held out
    assign_splits(few, 0.05)
    assert sorted({e.split for e in few}) == ["train", "val"]
    none = entries()[3:]
    assign_splits(none, 0.0)
    assert {e.split for e in none} == {"train"}
    with pytest.raises(InputError, match="validation share"):
        assign_splits(entries(), 1.5)


def test_lrs3_entries_texts_splits_and_skips(clips, tmp_path) -> None:
    root = lrs3_tree(clips, tmp_path / "LRS3")
    scan = get_adapter("lrs3")(root, val_share=0.5)
    entries = {e.id: e for e in scan.entries}
    assert sorted(entries) == [
        "lrs3-pretrain-spkA_1-00001",
        "lrs3-test-spkC-00001",
        "lrs3-trainval-spk-B-00001",
        "lrs3-trainval-spkA_1-00001",
        "lrs3-trainval-spkA_1-00002",
    ]
    first = entries["lrs3-trainval-spkA_1-00001"]
    assert first.video == first.audio == str(root / "trainval" / "spkA_1" / "00001.mp4")
    assert Path(first.video).is_absolute() and first.dataset == "lrs3" and first.speaker == "spkA_1"
    assert first.text == clips["text"][0].upper() and first.emotion == "" and first.intensity is None
    assert entries["lrs3-trainval-spkA_1-00002"].text == clips["text"][1].upper()
    assert entries["lrs3-test-spkC-00001"].split == "test"
    # two train/val speakers at 50%: one each, and a speaker's clips share one split
    assert {entries["lrs3-trainval-spkA_1-00001"].split, entries["lrs3-trainval-spk-B-00001"].split} == {
        "train",
        "val",
    }
    assert entries["lrs3-pretrain-spkA_1-00001"].split == entries["lrs3-trainval-spkA_1-00002"].split
    assert scan.skip_counts() == {
        "no transcript (.txt) beside the video": 1,
        "transcript without a 'Text:' first line": 1,
    }
    assert scan.skipped[0][0].endswith("spk-B/00003.mp4") and scan.skipped[1][0].endswith("spk-B/00004.txt")
    assert all(
        e.split == "train" for e in get_adapter("lrs3")(root, val_share=0).entries if e.split != "test"
    )


def test_lrs2_reads_main_and_pretrain_and_its_test_list(clips, tmp_path) -> None:
    root = tmp_path / "LRS2"
    for subset, show, clip, k in [
        ("main", "5535415699068794046", "00001", 0),
        ("main", "6330311066473698535", "00011", 1),
        ("pretrain", "5535415699068794046", "00002", 1),
    ]:
        put(clips["muxed"][k], root / subset / show / f"{clip}.mp4")
        (root / subset / show / f"{clip}.txt").write_text(lrs_text(clips["text"][k]))
    (root / "test.txt").write_text("6330311066473698535/00011 NF\n")
    scan = get_adapter("lrs2")(root, val_share=0.0)
    splits = {e.id: e.split for e in scan.entries}
    assert splits == {
        "lrs2-main-5535415699068794046-00001": "train",
        "lrs2-main-6330311066473698535-00011": "test",
        "lrs2-pretrain-5535415699068794046-00002": "train",
    }
    assert {e.text for e in scan.entries} == {t.upper() for t in clips["text"]} and not scan.skipped


def test_mead_keeps_emotion_and_level_pairs_m4a_and_skips_takes_without_audio(clips, tmp_path) -> None:
    root = tmp_path / "MEAD"
    video, wav = clips["video"], clips["wav"]
    put(video[0], root / "M003" / "video" / "front" / "happy" / "level_2" / "001.mp4")
    put(video[0], root / "M003" / "video" / "left_30" / "happy" / "level_2" / "001.mp4")
    write_m4a(root / "M003" / "audio" / "happy" / "level_2" / "001.m4a", wav[0])
    put(video[1], root / "W009" / "video" / "front" / "neutral" / "level_1" / "003.mp4")
    write_m4a(root / "W009" / "audio" / "neutral" / "level_1" / "003.m4a", wav[1])
    put(video[1], root / "W009" / "video" / "front" / "sad" / "level_3" / "004.mp4")  # no audio
    scan = get_adapter("mead")(root, val_share=0.5)
    entries = {e.id: e for e in scan.entries}
    assert sorted(entries) == ["mead-M003-front-happy-2-001", "mead-W009-front-neutral-1-003"]
    happy = entries["mead-M003-front-happy-2-001"]
    assert (happy.emotion, happy.intensity, happy.text, happy.speaker) == ("happy", 2, "", "M003")
    assert happy.audio == str(root / "M003" / "audio" / "happy" / "level_2" / "001.m4a")
    assert (
        entries["mead-W009-front-neutral-1-003"].emotion,
        entries["mead-W009-front-neutral-1-003"].intensity,
    ) == (
        "neutral",
        1,
    )
    assert {e.split for e in scan.entries} == {"train", "val"}
    assert scan.skip_counts() == {"no audio (.m4a) of the take": 1}
    both = get_adapter("mead")(root, val_share=0.5, angles="front,left_30")
    assert "mead-M003-left_30-happy-2-001" in {e.id for e in both.entries}
    assert both.skip_counts() == {"no audio (.m4a) of the take": 1, "camera angle folder missing": 1}
    # the m4a's AAC track reads back as the speech, resampled like a wav
    back = read_audio(happy.audio, 22050)
    assert abs(len(back) - len(wav[0]) * 22050 / SR) < 0.1 * 22050
    assert np.corrcoef(read_audio(happy.audio, SR)[: len(wav[0])], wav[0])[0, 1] > 0.95


def test_ravdess_pairs_video_only_with_audio_only_and_skips_what_it_cannot_use(clips, tmp_path) -> None:
    root = tmp_path / "RAVDESS"
    muxed, video, wav_path = clips["muxed"], clips["video"], clips["wav_path"]
    put(muxed[0], root / "Actor_01" / "01-01-03-02-01-01-01.mp4")  # audio-visual: happy, strong, kids
    put(video[0], root / "Actor_01" / "02-01-03-02-01-01-01.mp4")  # its video-only twin: redundant
    put(video[1], root / "Actor_02" / "02-01-06-01-02-02-02.mp4")  # video-only ...
    put(wav_path[1], root / "Actor_02" / "03-01-06-01-02-02-02.wav")  # ... and its audio-only take
    put(video[1], root / "Actor_02" / "02-01-04-01-01-01-02.mp4")  # video-only, no audio of the take
    put(wav_path[0], root / "Actor_02" / "03-01-05-01-01-01-02.wav")  # audio-only, no video
    put(muxed[1], root / "Actor_02" / "01-02-03-01-01-01-02.mp4")  # song
    put(muxed[1], root / "Actor_02" / "01-01-09-01-01-01-02.mp4")  # emotion 09 does not exist
    scan = get_adapter("ravdess")(root, val_share=0.5)
    entries = {e.id: e for e in scan.entries}
    assert sorted(entries) == ["ravdess-01-01-03-02-01-01-01", "ravdess-02-01-06-01-02-02-02"]
    av_take, paired = entries["ravdess-01-01-03-02-01-01-01"], entries["ravdess-02-01-06-01-02-02-02"]
    assert av_take.video == av_take.audio == str(root / "Actor_01" / "01-01-03-02-01-01-01.mp4")
    assert (av_take.emotion, av_take.intensity, av_take.text) == ("happy", 2, "Kids are talking by the door")
    assert paired.video.endswith("02-01-06-01-02-02-02.mp4") and paired.audio.endswith(
        "03-01-06-01-02-02-02.wav"
    )
    assert (paired.emotion, paired.intensity, paired.text) == ("fearful", 1, "Dogs are sitting by the door")
    assert (av_take.speaker, paired.speaker) == ("Actor_01", "Actor_02")
    assert {av_take.split, paired.split} == {"train", "val"}
    reasons = {Path(p).name: r for p, r in scan.skipped}
    assert reasons == {
        "02-01-03-02-01-01-01.mp4": "redundant: the take's audio-visual file is used",
        "02-01-04-01-01-01-02.mp4": "video-only take without its audio-only wav",
        "03-01-05-01-01-01-02.wav": "audio-only take without a video",
        "01-02-03-01-01-01-02.mp4": "song (vocal channel 02)",
        "01-01-09-01-01-01-02.mp4": "not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA)",
    }


def test_read_audio_reads_the_audio_track_of_an_mp4(clips) -> None:
    wav = clips["wav"][0]
    back = read_audio(clips["muxed"][0], SR)
    assert back.dtype == np.float32 and abs(len(back) - len(wav)) < 2048
    n = min(len(back), len(wav))
    assert np.corrcoef(back[:n], wav[:n])[0, 1] > 0.95
    with pytest.raises(InputError, match="has no audio stream"):
        read_audio(clips["video"][0], SR)  # SynthTalk's mp4 is silent


def test_build_manifest_refuses_a_tree_with_nothing_usable(tmp_path) -> None:
    root = tmp_path / "LRS3" / "test" / "spk"
    root.mkdir(parents=True)
    (root / "00001.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="no usable lrs3 clip.*no transcript"):
        build_manifest("lrs3", tmp_path / "LRS3", tmp_path / "out")
    with pytest.raises(InputError, match="dataset root not found"):
        build_manifest("mead", tmp_path / "absent", tmp_path / "out")


def test_prepare_runs_on_a_tiny_lrs3_tree(clips, tmp_path, capsys) -> None:
    """``imagintalk prepare --dataset lrs3 --root TREE OUT``: manifest, skip report, feature files."""
    root = tmp_path / "LRS3"
    for subset, speaker, k in [("trainval", "spkA", 0), ("test", "spkB", 1)]:
        put(clips["muxed"][k], root / subset / speaker / "00001.mp4")
        (root / subset / speaker / "00001.txt").write_text(lrs_text(clips["text"][k]))
    put(clips["muxed"][0], root / "trainval" / "spkA" / "00002.mp4")  # no transcript
    cfg = load_config("debug")
    cfg.codec.train_cache = str(tmp_path / "codec_corpus")
    codec_dir = tmp_path / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec_dir)
    out = tmp_path / "out"
    argv = ["prepare", "--dataset", "lrs3", "--root", str(root), str(out), "--codec", str(codec_dir)]
    assert main([*argv, "--preset", "debug", "--no-progress", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "lrs3: 2 clips (1 test, 1 train) of 2 speakers, 1 skipped" in printed
    assert "skipped 1: no transcript (.txt) beside the video (" in printed and "spkA/00002.mp4" in printed
    assert "2 clips: 2 prepared, 0 already done, 0 failed" in printed
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["id"] for m in manifest] == ["lrs3-test-spkB-00001", "lrs3-trainval-spkA-00001"]
    refs = {ref.clip_id: ref for ref in list_clips(out)}  # packed by the command
    for entry, k in zip(manifest, (1, 0)):
        f = read_features(refs[entry["id"]])
        assert f["text"] == clips["text"][k].upper() and f["split"] == entry["split"]
        assert f["unit_source"] == "alignment" and f["voiced"].any() and f["detected"].mean() > 0.9
    assert (
        main(["prepare", str(out), "--root", str(root), "--preset", "debug"]) == 2
    )  # --root without --dataset
    assert main(["prepare", "--dataset", "lrs3", str(out), "--preset", "debug"]) == 2  # no --root
    assert "needs --root" in capsys.readouterr().err
