"""Speaking: silent face video -> speech (``Pipeline``), utterance windows, muxing the result."""

from .pipeline import Pipeline, window_seed
from .profile import Profile, SpeakerFace, load_profile
from .result import STAGES, SpeechResult, WindowInfo

__all__ = [
    "STAGES",
    "Pipeline",
    "Profile",
    "SpeakerFace",
    "SpeechResult",
    "WindowInfo",
    "load_profile",
    "window_seed",
]
