"""Streaming: live frames -> visual VAD -> utterances -> speech on a worker thread.

Shared by the ROS 2 node and the desktop app (no ROS, no Qt here). See docs/streaming.md.
"""

from .lipstream import LipStream
from .utterance import StreamUpdate, Utterance
from .vad import VadConfig, VisualVAD
from .worker import SpeechJob, SpeechWorker

__all__ = ["LipStream", "SpeechJob", "SpeechWorker", "StreamUpdate", "Utterance", "VadConfig", "VisualVAD"]
