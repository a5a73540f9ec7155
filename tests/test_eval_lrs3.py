"""``imagintalk eval --dataset lrs3 --root TREE``: the test split of a tiny LRS3-layout tree scored with
the ground truth as a system; WER by a Whisper checkpoint from a local folder (a tiny random one
this test saves: it proves loading and decoding, not accuracy); refusals before any scoring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from dataset_trees import lrs3_tree, speaking_clips

from imagintalk.cli import main
from imagintalk.errors import InputError
from imagintalk.eval.audio import load_wav
from imagintalk.eval.metrics import default_metrics
from imagintalk.eval.whisper import WhisperRecognizer, resolve_device
from imagintalk.settings.eval import EvalConfig
from imagintalk.units.sphinx import normalize_text, spell_number

TEST_IDS = ["lrs3-test-spkA-00001", "lrs3-test-spkB-00002"]
LAYOUT = [("test", "spkA", "00001"), ("test", "spkB", "00002"), ("trainval", "spkC", "00001")]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> dict:
    """An LRS3 tree (2 test clips, 1 trainval) and a 'truth' system: each test clip's own speech."""
    root = tmp_path_factory.mktemp("lrs3eval")
    clips = speaking_clips(root, 2)
    dataset = lrs3_tree(clips, root / "LRS3", LAYOUT)
    truth = root / "truth"
    truth.mkdir()
    for clip_id, (_, speaker, clip) in zip(TEST_IDS, LAYOUT):
        sf.write(truth / f"{clip_id}.wav", load_wav(dataset / "test" / speaker / f"{clip}.mp4"), 16000)
    return {"root": root, "dataset": dataset, "truth": truth, "texts": [t for _, t in clips]}


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def tiny_whisper(folder: Path) -> Path:
    """A randomly initialised Whisper (1 layer, d_model 16) with a 32-token byte-level BPE
    vocabulary written here, saved as save_pretrained does: no download, no real weights."""
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    torch = pytest.importorskip("torch")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz'Ġ")}
    vocab.update({"Ġt": len(vocab), "he": len(vocab) + 1})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\nĠ t\nh e\n")
    end = "<|endoftext|>"
    tokenizer = WhisperTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), unk_token=end, bos_token=end, eos_token=end
    )
    prompt = ["<|startoftranscript|>", "<|notimestamps|>"]
    tokenizer.add_special_tokens({"additional_special_tokens": prompt})
    end_id, start_id, plain_id = tokenizer.convert_tokens_to_ids([end, *prompt])
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        d_model=16,
        max_target_positions=32,
        pad_token_id=end_id,
        bos_token_id=end_id,
        eos_token_id=end_id,
        decoder_start_token_id=start_id,
        suppress_tokens=None,
        begin_suppress_tokens=None,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    generation = model.generation_config
    generation.decoder_start_token_id, generation.eos_token_id, generation.pad_token_id = (
        start_id,
        end_id,
        end_id,
    )
    generation.suppress_tokens = [start_id, plain_id]  # so that random weights still write letters
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder


def test_lrs3_test_split_scored_with_the_ground_truth_as_a_system(tree, capsys) -> None:
    dataset, out = tree["dataset"], tree["root"] / "out"
    before = files_under(dataset)
    argv = ["eval", "--dataset", "lrs3", "--root", str(dataset), "--out", str(out)]
    argv += ["--system", f"truth={tree['truth']}", "--no-codec", "--preset", "debug"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"lrs3 test: manifest {out / 'manifest.jsonl'}" in printed and "| truth |" in printed
    assert files_under(dataset) == before  # nothing written into the dataset
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [e["id"] for e in manifest] == TEST_IDS and {e["split"] for e in manifest} == {"test"}
    results = json.loads((out / "results.json").read_text())
    # real data: no GRID-grammar WER; pocketsphinx open vocabulary without --asr-model
    assert "wer_grammar" not in results["metrics"] and "wer_open" in results["metrics"]
    assert "wer_whisper" not in results["metrics"] and results["asr_model"] is None
    truth, gt = results["summary"]["truth"]["metrics"], results["summary"]["ground truth"]["metrics"]
    assert truth["stoi"]["num_valid"] == 2 and truth["stoi"]["mean"] == pytest.approx(1.0, abs=1e-3)
    assert truth["estoi"]["mean"] == pytest.approx(1.0, abs=1e-3)
    assert truth["spk_sim"]["mean"] == pytest.approx(1.0, abs=1e-3)
    assert truth["wer_open"]["mean"] == gt["wer_open"]["mean"] and math.isfinite(truth["wer_open"]["mean"])
    clip = results["clips"]["truth"][TEST_IDS[0]]
    assert clip["emo_acc"] == {"value": None, "reason": "no emotion label in the manifest"}


def test_dataset_arguments_are_checked_before_anything_is_written(tree, tmp_path, capsys) -> None:
    dataset, truth = str(tree["dataset"]), f"truth={tree['truth']}"
    cases = [
        (["--dataset", "lrs3", "--root", dataset, "--system", truth], "--dataset needs --out DIR"),
        (["--dataset", "lrs3", "--out", str(tmp_path / "o")], "needs --root DIR"),
        (["--root", dataset, "--out", str(tmp_path / "o")], "--root needs --dataset NAME"),
        ([], "give DATA_DIR, or --dataset NAME --root DIR"),
        (["--dataset", "lrs3", "--root", dataset, "--out", dataset], "is the dataset root"),
        (["--dataset", "voxceleb", "--root", dataset, "--out", str(tmp_path / "o")], "unknown dataset"),
        (
            ["--dataset", "lrs3", "--root", dataset, "--out", str(tmp_path / "o"), "--split", "val"],
            "(found: test 2, train 1)",
        ),
        (
            ["--dataset", "lrs3", "--root", dataset, "--out", str(tmp_path / "o"), "--asr-model", "/no/such"],
            "--asr-model /no/such: not a directory",
        ),
    ]
    for args, message in cases:
        assert main(["eval", *args, "--no-codec", "--preset", "debug"]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (args, err)
    assert not (tmp_path / "o").exists()
    empty = tmp_path / "empty_model"
    empty.mkdir()
    argv = ["eval", "--dataset", "lrs3", "--root", dataset, "--out", str(tmp_path / "o2")]
    assert main([*argv, "--asr-model", str(empty), "--no-codec", "--preset", "debug"]) == 2
    assert "cannot load a Whisper checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()  # refused before the manifest was written


def test_whisper_checkpoint_from_a_local_folder_scores_wer(tree, tmp_path, capsys) -> None:
    model_dir = tiny_whisper(tmp_path / "whisper")
    recogniser = WhisperRecognizer(model_dir, "cpu")
    speech = load_wav(tree["truth"] / f"{TEST_IDS[0]}.wav")
    words = recogniser.transcribe(speech, 16000)
    assert words and all(w == normalize_text(w)[0] for w in words)  # decoded, normalised text
    assert recogniser.transcribe(speech, 16000) == words  # greedy: the same words again
    with pytest.raises(ValueError, match="30 s window"):
        recogniser.transcribe(np.zeros(31 * 16000, dtype=np.float32), 16000)

    out = tmp_path / "out"
    argv = ["eval", "--dataset", "lrs3", "--root", str(tree["dataset"]), "--out", str(out)]
    argv += ["--system", f"truth={tree['truth']}", "--no-codec", "--preset", "debug"]
    assert (
        main([*argv, "--asr-model", str(model_dir), "--asr-device", "cpu", "--metrics", "wer_whisper"]) == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert results["asr_model"] == str(model_dir) and list(results["metrics"]) == ["wer_whisper"]
    for system in ("ground truth", "truth"):
        scores = [c["wer_whisper"]["value"] for c in results["clips"][system].values()]
        assert len(scores) == 2 and all(s is not None and s >= 0 for s in scores)
    assert main([*argv, "--metrics", "wer_whisper"]) == 2  # no checkpoint given
    assert "needs a Whisper checkpoint (--asr-model DIR)" in capsys.readouterr().err


def test_default_metrics_and_number_normalisation() -> None:
    configured = EvalConfig().metrics
    assert default_metrics(configured, real_data=False, whisper=False) == configured
    real = default_metrics(configured, real_data=True, whisper=True)
    assert real[0] == "wer_whisper" and "wer_open" not in real and "wer_grammar" not in real
    assert default_metrics(["stoi"], real_data=True, whisper=True) == ["wer_whisper", "stoi"]
    assert spell_number(2008) == "two thousand eight" and spell_number(40) == "forty"
    assert spell_number(1_000_015) == "one million fifteen" and spell_number(0) == "zero"
    assert normalize_text("In 2008, 1,000 people paid $15!") == (
        "in two thousand eight one thousand people paid fifteen".split()
    )
    with pytest.raises(InputError, match="unknown ASR device 'tpu'"):
        resolve_device("tpu")
