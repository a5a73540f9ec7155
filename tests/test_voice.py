"""Voice controls of the Pipeline: a fixed voice from a reference recording, expressiveness."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from test_pipeline import check_length, make_clips, make_debug_model
from torch import nn

from imagintalk.errors import InputError
from imagintalk.pipeline import Pipeline
from imagintalk.pipeline.voice import invert_speaker_head, scale_expression
from imagintalk.video.frontdoor import process_video


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("voice")
    model_dir = make_debug_model(root)
    clip = make_clips(root, 1)[0]
    reference = root / "synth" / "audio" / f"{clip.stem}.wav"  # the clip's own ground-truth voice
    return {"model": model_dir, "track": process_video(clip), "reference": reference, "root": root}


def test_inverting_a_head_reaches_a_target_inside_its_range() -> None:
    torch.manual_seed(0)
    head = nn.Sequential(nn.SiLU(), nn.Linear(16, 64))
    target = head(torch.randn(1, 16)).detach()[0]  # reachable by construction
    c_id, cosine = invert_speaker_head(head, target, 16, steps=400)
    assert c_id.shape == (1, 16) and not c_id.requires_grad
    assert cosine > 0.98
    again, _ = invert_speaker_head(head, target, 16, steps=400)
    assert torch.equal(c_id, again)  # deterministic


def test_expressiveness_scales_deviation_from_the_window_mean() -> None:
    c_emo = torch.randn(2, 10, 4)
    steady = scale_expression(c_emo, 0.0)
    assert torch.allclose(steady, c_emo.mean(1, keepdim=True).expand_as(c_emo), atol=1e-6)
    assert scale_expression(c_emo, 1.0) is c_emo
    doubled = scale_expression(c_emo, 2.0)
    assert torch.allclose(doubled - c_emo, c_emo - steady, atol=1e-6)


def wake_conditions(pipe: Pipeline) -> None:
    """Random values in the DiT's zero-initialised weights: an untrained adaLN-Zero DiT ignores its
    conditions by construction, a trained one does not."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in pipe.bundle.dit.parameters():
            if not param.any():
                param.copy_(0.2 * torch.randn(param.shape, generator=generator))


def test_reference_voice_and_expressiveness_change_the_speech_not_its_length(env) -> None:
    face = Pipeline.from_dir(env["model"], steps=4)
    wake_conditions(face)
    plain = face.speak_track(env["track"])
    voice = face.set_voice_reference(env["reference"])
    assert voice is not None and -1.0 <= voice.cosine <= 1.0
    assert voice.c_id.shape == (1, face.cfg.style.id_dim)
    referenced = face.speak_track(env["track"])
    check_length(referenced, env["track"].num_frames)
    assert not np.array_equal(plain.wav, referenced.wav)
    face.set_voice_reference(None)  # back to the face's voice: the same speech as before
    assert np.array_equal(face.speak_track(env["track"]).wav, plain.wav)
    # expressiveness reaches the DiT: record the c_emo each window hands to it (calls pass through)
    seen: list[torch.Tensor] = []
    score_fn = face.bundle.dit.score_fn

    def recording_score_fn(c_lip, c_id, c_emo, *rest, **options):
        seen.append(c_emo.clone())
        return score_fn(c_lip, c_id, c_emo, *rest, **options)

    face.bundle.dit.score_fn = recording_score_fn
    face.speak_track(env["track"])
    face.set_expressiveness(0.0)
    check_length(face.speak_track(env["track"]), env["track"].num_frames)
    as_trained, steady = seen
    assert as_trained.std(dim=1).mean() > 0 and torch.allclose(steady.std(dim=1), torch.zeros(1), atol=1e-6)
    assert torch.allclose(steady.mean(dim=1), as_trained.mean(dim=1), atol=1e-5)


def test_bad_voice_settings_are_clear_errors(env) -> None:
    pipe = Pipeline.from_dir(env["model"], steps=2)
    silent = env["root"] / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    for source, match in ((silent, "silent"), (env["root"] / "missing.wav", "cannot read")):
        with pytest.raises(InputError, match=match):
            pipe.set_voice_reference(source)
    with pytest.raises(InputError, match="sample rate"):
        pipe.set_voice_reference(np.ones(1000, np.float32))
    for value in (-0.5, 7.0):
        with pytest.raises(InputError, match="expressiveness"):
            pipe.set_expressiveness(value)
    with pytest.raises(InputError, match="expressiveness"):
        Pipeline.from_dir(env["model"], expressiveness=-1.0)
