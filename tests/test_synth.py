"""SynthTalk pieces: grammar, split, speaker table, emotions, speech timing, viseme map."""

from __future__ import annotations

import numpy as np
import pytest

from imagintalk.errors import InputError
from imagintalk.settings import preset
from imagintalk.synth import grid
from imagintalk.synth.clip import sample_clip
from imagintalk.synth.emotions import PROSODY, voice_settings
from imagintalk.synth.face import face_style
from imagintalk.synth.speakers import DIMENSIONS, speaker_ids, speaker_params
from imagintalk.synth.speech import synthesize
from imagintalk.synth.visemes import PHONEME_VISEMES, VISEMES, mouth_trajectory, phoneme_visemes


@pytest.fixture(scope="module")
def cfg():
    return preset("synth").synth


def test_sentences_follow_the_grammar_and_the_split(cfg):
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for _ in range(50):
            text = grid.sample_sentence(rng, split)
            assert grid.is_grid_sentence(text)
            assert (grid.sentence_split(text) == "test") == (split == "test")
    assert not grid.is_grid_sentence("bin blue at w two now")


def test_splits_never_share_sentences_or_speakers(cfg):
    seen: dict[str, set] = {"train": set(), "val": set(), "test": set()}
    speakers: dict[str, set] = {"train": set(), "val": set(), "test": set()}
    for split in seen:
        for index in range(60):
            spec, _ = sample_clip(11, split, index, cfg)
            seen[split].add(spec.text)
            speakers[split].add(spec.speaker["speaker"])
    trainval = seen["train"] | seen["val"]
    assert not trainval & seen["test"]
    assert not (speakers["train"] | speakers["val"]) & speakers["test"]
    assert set(speaker_ids("test", cfg)) == set(
        range(cfg.num_speakers - cfg.num_test_speakers, cfg.num_speakers)
    )


def test_speaker_table_is_fixed_rich_and_test_speakers_interpolate(cfg):
    table = [speaker_params(i, cfg) for i in range(cfg.num_speakers)]
    assert table == [speaker_params(i, cfg) for i in range(cfg.num_speakers)]
    voices = {(s["variant"], s["tract_length"], s["pitch"], s["pitch_range"], s["rate"]) for s in table}
    assert len(voices) >= 24
    train, test = table[: -cfg.num_test_speakers], table[-cfg.num_test_speakers :]
    for dim in DIMENSIONS:
        values = [s["unit"][dim] for s in train]
        assert all(min(values) < s["unit"][dim] < max(values) for s in test), dim
    train_variants = {(s["gender"], s["variant"]) for s in train}
    assert all((s["gender"], s["variant"]) in train_variants for s in test)
    with pytest.raises(InputError):
        speaker_params(cfg.num_speakers, cfg)


def test_extra_training_speakers_leave_the_pool_and_the_other_splits_alone(cfg):
    from dataclasses import replace

    more = replace(cfg, extra_train_speakers=30)
    pool = range(cfg.num_speakers)
    assert [speaker_params(i, more) for i in pool] == [speaker_params(i, cfg) for i in pool]
    assert speaker_ids("test", more) == speaker_ids("test", cfg)
    assert speaker_ids("val", more) == speaker_ids("val", cfg)
    extra = set(speaker_ids("train", more)) - set(speaker_ids("train", cfg))
    assert extra == set(range(cfg.num_speakers, cfg.num_speakers + 30))
    new_voices = [speaker_params(i, more) for i in sorted(extra)]
    old_units = {tuple(s["unit"].values()) for s in (speaker_params(i, cfg) for i in pool)}
    assert all(tuple(s["unit"].values()) not in old_units for s in new_voices)  # new identities
    # a train corpus draws them; without extras the train pool is the pool's first part, as before
    drawn = {sample_clip(11, "train", i, more)[0].speaker["index"] for i in range(200)}
    assert drawn & extra
    assert speaker_ids("train", cfg) == list(range(cfg.num_speakers - cfg.num_test_speakers))
    with pytest.raises(InputError):
        speaker_params(cfg.num_speakers + 30, more)
    with pytest.raises(InputError, match="extra_train_speakers"):
        speaker_ids("train", replace(cfg, extra_train_speakers=-1))


def test_face_is_a_smooth_function_of_the_voice_parameters(cfg):
    a, b = speaker_params(0, cfg), speaker_params(0, cfg)
    b["unit"] = {**a["unit"], "tract_length": a["unit"]["tract_length"] + 1e-3}
    fa, fb = face_style(a), face_style(b)
    assert 0 < fb.head_h - fa.head_h < 1e-3  # a longer vocal tract: a slightly longer face
    low, high = dict(a), dict(a)
    low["unit"], high["unit"] = {**a["unit"], "pitch": 0.0}, {**a["unit"], "pitch": 1.0}
    assert face_style(high).eye_size > face_style(low).eye_size


def test_every_emotion_and_many_speakers_are_reachable(cfg):
    emotions, speakers = set(), set()
    for index in range(300):
        spec, _ = sample_clip(5, "train", index, cfg)
        emotions.add(spec.emotion)
        speakers.add(spec.speaker["speaker"])
    assert emotions == {"neutral", "happy", "sad", "angry"}
    assert len(speakers) >= 24


def test_emotion_prosody_moves_the_voice(cfg):
    speaker = speaker_params(3, cfg)
    neutral, happy, sad, angry = (
        voice_settings(speaker, e, 1.0) for e in ("neutral", "happy", "sad", "angry")
    )
    assert happy["pitch"] > neutral["pitch"] > sad["pitch"]
    assert sad["rate"] < neutral["rate"] < angry["rate"]
    assert angry["volume"] > neutral["volume"] > sad["volume"]
    assert set(PROSODY) >= {"neutral", "happy", "sad", "angry"}


def test_speech_length_and_phoneme_timing(cfg):
    speaker = speaker_params(5, cfg)
    speech = synthesize(
        "place red at a nine soon", speaker, voice_settings(speaker, "sad", 0.8), 16000, 25, 0.25
    )
    assert len(speech.audio) == speech.num_frames * 640
    duration = speech.num_frames / 25
    phonemes = speech.phonemes
    assert phonemes[0]["phoneme"] == "_" and phonemes[0]["start"] == 0
    assert phonemes[0]["end"] >= 0.25 and phonemes[-1]["phoneme"] == "_"
    assert phonemes[-1]["end"] == pytest.approx(duration)
    for prev, nxt in zip(phonemes, phonemes[1:]):
        assert prev["end"] == nxt["start"] and nxt["end"] > nxt["start"]
    assert [w["word"] for w in speech.words] == "place red at a nine soon".split()
    assert all(w["start"] < w["end"] for w in speech.words)
    assert {"p", "l", "eI", "s"} <= {p["phoneme"] for p in phonemes}
    # the letter "a" is said as its name, not as the article
    a_start, a_end = speech.words[3]["start"], speech.words[3]["end"]
    assert [p["phoneme"] for p in phonemes if a_start <= p["start"] < a_end] == ["eI"]
    # energy sits where the phonemes say speech is
    audio = speech.audio.astype(float)
    lead = audio[: int(phonemes[0]["end"] * 16000) - 80]
    voiced = audio[int(speech.words[1]["start"] * 16000) : int(speech.words[1]["end"] * 16000)]
    assert np.abs(lead).max() < 50 < np.sqrt((voiced**2).mean())


def test_viseme_map_is_many_to_one():
    classes = {v for names in PHONEME_VISEMES.values() for v in names}
    assert 10 <= len(VISEMES) <= 16 and classes <= set(VISEMES)
    assert len(PHONEME_VISEMES) > 2 * len(VISEMES)
    assert phoneme_visemes("p") == phoneme_visemes("b") == phoneme_visemes("m") == ("PBM",)
    assert phoneme_visemes("f") == phoneme_visemes("v")
    assert len({phoneme_visemes(p) for p in ("t", "d", "n", "s", "z")}) == 1
    assert len({phoneme_visemes(p) for p in ("k", "g", "N")}) == 1
    assert phoneme_visemes("u:") == phoneme_visemes("w")


def test_mouth_closes_on_bilabials_and_opens_on_open_vowels():
    timeline = [
        {"phoneme": "_", "start": 0.0, "end": 0.25},
        {"phoneme": "b", "start": 0.25, "end": 0.31},
        {"phoneme": "a", "start": 0.31, "end": 0.45},
        {"phoneme": "m", "start": 0.45, "end": 0.52},
        {"phoneme": "u:", "start": 0.52, "end": 0.66},
        {"phoneme": "_", "start": 0.66, "end": 0.9},
    ]
    times = np.array([0.28, 0.38, 0.485, 0.6])
    mouth = mouth_trajectory(timeline, times)
    opening, rounding = mouth[:, 0], mouth[:, 2]
    assert opening[0] < 0.1 and opening[2] < 0.1  # /b/ and /m/ close the lips despite neighbours
    assert opening[1] > 0.6  # /a/ opens the jaw
    assert rounding[3] > 0.7 > rounding[1]  # /u:/ rounds
    # coarticulation: the trajectory is smooth, no jumps between neighbouring 10 ms steps
    dense = mouth_trajectory(timeline, np.arange(0, 0.9, 0.01))
    assert np.abs(np.diff(dense[:, 0])).max() < 0.35


def test_a_process_can_speak_in_more_voices_than_espeak_lists():
    # espeak-ng stops finding variants by name once it lists 349 voice files: only the recently
    # used ones stay on disk, so the 400th distinct voice still speaks
    from imagintalk.synth.espeak import speak_isolated
    from imagintalk.synth.voices import MAX_VARIANT_FILES, private_data_dir, speaker_voice

    names, step = set(), 0
    while len(names) < 400:
        variant = ("m1", "m3", "f2", "f4")[step % 4]
        names.add(voice := speaker_voice(variant, 0.7 + 0.6 * (step % 997) / 997))
        step += 1
    assert len(list((private_data_dir() / "voices" / "!v").iterdir())) <= MAX_VARIANT_FILES
    utterance = speak_isolated(private_data_dir().parent, "bin blue at f two now", voice, rate=160, pitch=50,
                               pitch_range=50, volume=100)  # fmt: skip
    assert len(utterance.samples) > 8000
