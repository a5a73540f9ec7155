"""LipStream + visual VAD on real debug SynthTalk clips: utterance spans, cuts, push-to-talk,
bounded memory and bad input on a long-running stream.

Clips are held still for PAD_S before and after (a face waiting, then done): the VAD must end
the utterance by itself, not by the end of the clip.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from test_pipeline import make_clips

from imagintalk.errors import InputError
from imagintalk.settings import load_config
from imagintalk.stream import LipStream, VadConfig, VisualVAD
from imagintalk.video.io import iter_frames

PAD_S = 1.0
T0 = 100.0  # stream clocks rarely start at 0


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[dict]:
    """Two debug clips: frames (BGR, 25 fps) and the speech span from the manifest's word times."""
    root = tmp_path_factory.mktemp("stream")
    paths = make_clips(root, 2)
    manifest = {}
    for line in (root / "synth" / "manifest.jsonl").read_text().splitlines():
        item = json.loads(line)
        manifest[item["id"]] = item
    out = []
    for path in paths:
        words = manifest[path.stem]["words"]
        frames = [frame for frame, _ in iter_frames(path, color="bgr")]
        out.append({"frames": frames, "speech": (words[0]["start"], words[-1]["end"])})
    return out


@pytest.fixture(scope="module")
def cfg():
    return load_config("debug")


def padded(
    frames: list[np.ndarray], fps: float = 25.0, pad_s: float = PAD_S
) -> list[tuple[np.ndarray, float]]:
    """(frame, time) at ``fps``: the first frame held pad_s, the clip (nearest frame), the last held."""
    count = int(round((len(frames) / 25.0 + 2 * pad_s) * fps))
    out = []
    for i in range(count):
        t = i / fps - pad_s  # clip time: 0 at the clip's first frame
        source = min(max(int(np.floor(t * 25.0 + 1e-9)), 0), len(frames) - 1)
        out.append((frames[source], T0 + t))
    return out


def run(stream: LipStream, pairs) -> tuple[list, list[str]]:
    utterances, states = [], []
    for frame, t in pairs:
        update = stream.push(frame, t)
        assert update.rejected is None and update.observation is not None
        states.append(update.state)
        if update.utterance:
            utterances.append(update.utterance)
    return utterances, states


@pytest.mark.parametrize("index", [0, 1])
def test_a_spoken_sentence_is_one_utterance_covering_it(clips, cfg, index) -> None:
    clip = clips[index]
    stream = LipStream(cfg)
    utterances, states = run(stream, padded(clip["frames"]))
    assert len(utterances) == 1 and stream.flush() is None
    utterance = utterances[0]
    speech_start, speech_end = (T0 + t for t in clip["speech"])
    assert utterance.reason == "vad"
    # covers the sentence, and not much more (the clip has ~0.25 s of silence at each end)
    assert speech_start - 0.45 <= utterance.start_s <= speech_start
    assert speech_end <= utterance.end_s <= speech_end + 0.4
    track = utterance.track
    assert track.fps == 25.0 and track.mouth.shape[1:] == (96, 96)
    assert abs(utterance.duration_s - (utterance.end_s - utterance.start_s + 0.04)) <= 0.04 + 1e-6
    assert states[0] == "ready" and "listening" in states and states[-1] == "ready"
    counters = stream.counters
    assert counters["utterances"] == 1 and counters["frames_accepted"] == counters["frames_in"]


def test_thirty_fps_640x480_gives_a_25_fps_utterance(clips, cfg) -> None:
    def big(frame: np.ndarray) -> np.ndarray:  # the 192 px clip as a 640 x 480 camera frame
        return cv2.copyMakeBorder(cv2.resize(frame, (480, 480)), 0, 0, 80, 80, cv2.BORDER_CONSTANT, value=40)

    clip = clips[0]
    pairs = [(big(frame), t) for frame, t in padded(clip["frames"], fps=30.0)]
    stream = LipStream(cfg)
    utterances, _ = run(stream, pairs)
    assert len(utterances) == 1
    utterance = utterances[0]
    assert T0 + clip["speech"][0] - 0.45 <= utterance.start_s <= T0 + clip["speech"][0]
    assert T0 + clip["speech"][1] <= utterance.end_s
    assert utterance.track.fps == 25.0 and utterance.track.source_size == (480, 640)
    span = utterance.end_s - utterance.start_s + 1 / 30
    assert utterance.track.num_frames == int(np.floor(span * 25 + 0.5))


@pytest.mark.parametrize("where", ["closed", "open"])
def test_a_still_face_gives_no_utterance(clips, cfg, where) -> None:
    frames = clips[0]["frames"]
    # mid-sentence the mouth is open: held still it is a resting, parted mouth, not speech
    still = frames[0] if where == "closed" else frames[len(frames) // 2]
    stream = LipStream(cfg)
    utterances, states = run(stream, [(still, T0 + i / 25) for i in range(75)])
    assert utterances == [] and stream.flush() is None
    assert set(states) == {"ready"} and stream.counters["discarded_short"] == 0
    # a sentence right after the held open mouth is still found
    utterances, _ = run(stream, [(frame, t + 4.0) for frame, t in padded(frames)])
    assert len(utterances) == 1


def test_no_face_state_and_no_utterance_on_blank_frames(cfg) -> None:
    stream = LipStream(cfg)
    blank = np.zeros((120, 160, 3), np.uint8)
    utterances, states = run(stream, [(blank, i / 25) for i in range(20)])
    assert utterances == [] and set(states) == {"no_face"}
    assert stream.counters["frames_no_face"] == 20 and stream.speak_last(0.5) is None


def test_max_utterance_cuts_and_continues(clips, cfg) -> None:
    stream = LipStream(cfg, VadConfig(max_utterance_s=1.0, min_utterance_s=0.2))
    utterances, _ = run(stream, padded(clips[1]["frames"]))
    assert len(utterances) >= 2 and all(u.reason == "max_length" for u in utterances[:-1])
    assert all(u.duration_s <= 1.0 + 1e-6 for u in utterances)
    # together they still cover the sentence (a quiet remainder after the last cut is discarded)
    assert (
        utterances[0].start_s <= T0 + clips[1]["speech"][0]
        and utterances[-1].end_s >= T0 + clips[1]["speech"][1]
    )
    for before, after in zip(utterances, utterances[1:]):  # the next one starts at the next frame
        assert after.start_s - before.end_s == pytest.approx(0.04, abs=1e-6)


def test_min_utterance_discards_short_bursts(clips, cfg) -> None:
    stream = LipStream(cfg, VadConfig(min_utterance_s=4.0))
    utterances, _ = run(stream, padded(clips[0]["frames"]))
    assert utterances == [] and stream.counters["discarded_short"] == 1


def test_push_to_talk_returns_the_last_seconds(clips, cfg) -> None:
    stream = LipStream(cfg)
    assert stream.speak_last(1.0) is None  # nothing pushed yet
    pairs = padded(clips[0]["frames"])
    run(stream, pairs)
    utterance = stream.speak_last(1.5)
    assert utterance.reason == "push_to_talk" and utterance.end_s == pairs[-1][1]
    assert utterance.track.num_frames == 38 and utterance.end_s - utterance.start_s == pytest.approx(1.48)
    assert stream.counters["push_to_talk"] == 1
    with pytest.raises(InputError):
        stream.speak_last(0.0)


def test_flush_returns_the_open_utterance(clips, cfg) -> None:
    stream = LipStream(cfg)
    pairs = padded(clips[0]["frames"])[:-25]  # the stream ends right after the sentence
    utterances, states = run(stream, pairs)
    assert utterances == [] and states[-1] == "listening"
    last = stream.flush()
    assert last.reason == "end_of_stream" and last.end_s == pairs[-1][1]
    assert stream.state == "ready" and stream.flush() is None


def test_memory_stays_bounded_over_2000_frames(clips, cfg) -> None:
    vad = VadConfig(max_utterance_s=1.0, hangover_s=0.3)
    stream = LipStream(cfg, vad, buffer_s=1.5)
    frames = clips[1]["frames"]
    for i in range(2000):
        update = stream.push(frames[i % len(frames)], i / 25.0)
        assert update.rejected is None
        assert stream.buffered_frames <= 1.5 * 25 + 1 and stream.buffered_s < 1.5  # frames in (t - 1.5, t]
    counters = stream.counters
    assert counters["frames_accepted"] == 2000 and counters["utterances"] >= 20


def test_bad_frames_are_rejected_and_counted_without_breaking_the_stream(clips, cfg) -> None:
    stream = LipStream(cfg)
    pairs = padded(clips[0]["frames"])
    good = pairs[0][0]
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20000, 20000, 3))  # a view: no 1.2 GB allocated
    bad = [
        (good.astype(np.float32), "bad_frame"),
        (good[:, :, :2], "bad_frame"),
        (good[:, :, 0].ravel(), "bad_frame"),
        (np.zeros((0, 0, 3), np.uint8), "bad_frame"),
        (np.zeros((4, 4, 3), np.uint8), "bad_frame"),
        ("not a frame", "bad_frame"),
        (None, "bad_frame"),
        (huge, "huge_frame"),
    ]
    utterances = []
    for i, (frame, t) in enumerate(pairs):
        update = stream.push(frame, t)
        assert update.rejected is None
        utterances += [update.utterance] if update.utterance else []
        if i % 6 == 5:  # bad frames, bad stamps in between the good ones
            for thing, kind in bad:
                assert stream.push(thing, t + 0.01).rejected == kind
            assert stream.push(good, float("nan")).rejected == "bad_stamp"
            assert stream.push(good, "soon").rejected == "bad_stamp"
            assert stream.push(good, t).rejected == "repeated_stamp"
            assert stream.push(good, t - 0.5).rejected == "out_of_order"
    assert len(utterances) == 1 and utterances[0].reason == "vad"
    counters, rounds = stream.counters, len(pairs) // 6
    assert counters["frames_accepted"] == len(pairs)
    assert (
        counters["frames_rejected_bad_frame"] == 7 * rounds
        and counters["frames_rejected_huge_frame"] == rounds
    )
    assert counters["frames_rejected_bad_stamp"] == 2 * rounds
    assert counters["frames_rejected_repeated_stamp"] == counters["frames_rejected_out_of_order"] == rounds
    assert counters["frames_in"] == len(pairs) + 12 * rounds


def test_gray_and_bgra_frames_are_accepted(clips, cfg) -> None:
    stream = LipStream(cfg)
    frame = clips[0]["frames"][0]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert stream.push(gray, 0.0).observation.found
    assert stream.push(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), 0.04).observation.found


def test_a_restarted_source_clock_starts_a_new_stream(clips, cfg) -> None:
    stream = LipStream(cfg, restart_jump_s=5.0)
    frame = clips[0]["frames"][0]
    for i in range(5):
        stream.push(frame, 50.0 + i / 25)
    assert stream.push(frame, 48.0).rejected == "out_of_order"  # a small jump back: a late frame
    update = stream.push(frame, 1.0)  # far back: the source restarted
    assert update.rejected is None and stream.counters["stream_restarts"] == 1
    assert stream.buffered_frames == 1


def test_vad_config_check_and_states() -> None:
    for bad in (
        VadConfig(start_motion=0.01, stop_motion=0.02),
        VadConfig(stop_motion=0.0),
        VadConfig(hangover_s=-1.0),
        VadConfig(min_utterance_s=float("nan")),
        VadConfig(max_utterance_s=0.5),
        VadConfig(smooth_s=0.0),
    ):
        with pytest.raises(InputError):
            bad.check()
    with pytest.raises(InputError, match="buffer_s"):
        LipStream(load_config("debug"), VadConfig(max_utterance_s=20.0), buffer_s=10.0)
    vad = VisualVAD(VadConfig(min_utterance_s=0.2))
    assert vad.update(0.0, None) == ("no_face", None)
    assert vad.update(0.04, 0.01) == ("ready", None)
    # an open mouth flapping at 5 Hz for 1 s, then closed
    results = [vad.update(0.08 + i * 0.04, 0.2 * (i % 5 < 3)) for i in range(25)]
    results += [vad.update(1.08 + i * 0.04, 0.0) for i in range(30)]
    finished = [span for _, span in results if span]
    assert [state for state, _ in results][3] == "listening" and results[-1][0] == "ready"
    assert len(finished) == 1 and finished[0][0] == pytest.approx(0.0)  # pre-roll back to the first frame
    assert finished[0][1] >= 0.96
