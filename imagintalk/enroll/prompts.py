"""What the user is asked to mouth: GRID sentences for a SynthTalk model, everyday phrases otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..settings import Config
from ..synth.grid import sample_sentence

GRID_PRESETS = ("debug", "synth")  # models trained on SynthTalk say only GRID sentences
MAX_PROMPT_CHARS = 200
EVERYDAY_PHRASES = (
    "yes please", "no thank you", "I need help", "I am in pain", "I am thirsty",
    "can I have some water", "I am hungry", "I am tired", "I feel cold", "I feel hot",
    "please call my family", "please call the nurse", "turn on the light", "turn off the light",
    "open the window", "close the door", "I want to sit up", "I want to lie down",
    "I need the bathroom", "what time is it", "how are you today", "thank you very much",
    "good morning", "good night", "see you tomorrow", "I love you", "I do not understand",
    "please say that again", "please speak slowly", "wait a moment", "I am fine",
    "I would like a cup of tea", "I would like coffee", "please turn the television on",
    "please turn the volume down", "where are my glasses", "can you help me with this",
    "I want to go outside", "it is too loud", "it is too bright", "please sit with me",
    "my medicine please", "when is the doctor coming", "I feel better today", "I feel sick",
    "please scratch my back", "move my pillow please", "I want to sleep now", "let us talk later",
    "that is funny", "I agree", "I disagree", "maybe later", "not now please", "all done",
    "one more time", "hello there", "goodbye for now", "have a nice day", "please be quiet",
)  # fmt: skip


def default_prompts(cfg: Config, count: int, seed: int = 0) -> list[str]:
    """``count`` different prompts the model ``cfg`` can read (GRID for SynthTalk presets)."""
    if count < 1:
        raise InputError(f"the number of prompts must be at least 1, got {count}")
    rng = np.random.default_rng([seed, 20])
    if cfg.preset in GRID_PRESETS:
        prompts: list[str] = []
        while len(prompts) < count:  # train/val sentences: the test split's stay unseen
            sentence = sample_sentence(rng, "val")
            if sentence not in prompts:
                prompts.append(sentence)
        return prompts
    if count > len(EVERYDAY_PHRASES):
        raise InputError(f"there are {len(EVERYDAY_PHRASES)} everyday phrases; give more with --prompts")
    order = rng.permutation(len(EVERYDAY_PHRASES))[:count]
    return [EVERYDAY_PHRASES[i] for i in order]


def read_prompts(path: str | Path) -> list[str]:
    """A prompt file: one prompt per line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the prompt file {path}: {exc}") from None
    prompts = [" ".join(line.split()) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise InputError(f"the prompt file {path} has no prompts")
    long = [p for p in prompts if len(p) > MAX_PROMPT_CHARS]
    if long:
        raise InputError(f"prompt {long[0][:40]!r}... is longer than {MAX_PROMPT_CHARS} characters")
    return prompts
