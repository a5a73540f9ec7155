"""Speaking: silent face video -> speech (``Pipeline``), utterance windows, muxing the result."""

from .pipeline import Pipeline, window_seed
from .result import STAGES, SpeechResult, WindowInfo

__all__ = ["STAGES", "Pipeline", "SpeechResult", "WindowInfo", "window_seed"]
