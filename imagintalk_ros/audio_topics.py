"""The speech in audio_common_msgs, where that package is installed: ~/audio, ~/audio_data, ~/audio_info.

audio_common (ros-drivers, released for Humble, Jazzy and Kilted) carries raw audio as bytes in
``AudioData``, ``AudioDataStamped`` (with a header) and describes it in ``AudioInfo``. Its capture
node calls raw PCM ``coding_format: wave`` with a GStreamer ``sample_format`` such as ``S16LE``, and
its player takes the same names, so the node publishes the speech that way: int16 little-endian
mono at the codec's rate. ``~/audio`` (AudioDataStamped; stamp = the utterance's first frame) is
for recorders; ``~/audio_data`` (AudioData) is what ``audio_play`` subscribes to; ``~/audio_info``
is latched (transient local), so a player started later still learns the format.

No audio_common_msgs wheel exists: the package is imported lazily, and without it the node logs
one line and publishes ~/speech only.
"""

from __future__ import annotations

import numpy as np
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from .audio_out import to_pcm16
from .speech_msgs import stamp_of, typed_array

SAMPLE_FORMAT = "S16LE"  # GStreamer's name for signed 16-bit little-endian samples
CODING_FORMAT = "wave"  # audio_common's name for uncompressed PCM (the other is "mp3")
MISSING = "audio_common_msgs not installed: ~/audio not published"
_told = False  # MISSING is logged once per process, not on every configure


def pcm_bytes(wav: np.ndarray) -> bytes:
    """float32 speech [N] in [-1, 1] -> int16 little-endian bytes (the samples play_audio plays)."""
    return to_pcm16(wav)[:, 0].astype("<i2").tobytes()


def samples_of(data: bytes | bytearray | memoryview) -> np.ndarray:
    """int16 little-endian bytes -> float32 [N] in [-1, 1] (the inverse of pcm_bytes, to 1/32767)."""
    return np.frombuffer(bytes(data), "<i2").astype(np.float32) / 32767.0


class AudioTopics:
    """Publishers of the speech as audio_common_msgs; ``available`` False where the package is missing."""

    def __init__(self, node) -> None:
        try:
            from audio_common_msgs.msg import AudioData, AudioDataStamped, AudioInfo
        except ImportError:
            global _told
            if not _told:
                node.get_logger().info(MISSING)
                _told = True
            self.available = False
            return
        self.available = True
        self._types = (AudioData, AudioDataStamped, AudioInfo)
        self._node = node
        self._stamped = node.create_publisher(AudioDataStamped, "~/audio", 10)
        self._plain = node.create_publisher(AudioData, "~/audio_data", 10)
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self._info = node.create_publisher(AudioInfo, "~/audio_info", latched)
        self.rate: int | None = None

    def announce(self, sample_rate: int) -> None:
        """Publish AudioInfo for ``sample_rate`` (kept for late subscribers)."""
        if not self.available or sample_rate == self.rate:
            return
        info = self._types[2]()
        info.channels, info.sample_rate = 1, int(sample_rate)
        info.sample_format, info.coding_format = SAMPLE_FORMAT, CODING_FORMAT
        info.bitrate = 16 * int(sample_rate) * 1  # bits per second: 16-bit samples, one channel
        self._info.publish(info)
        self.rate = int(sample_rate)

    def publish(self, wav: np.ndarray, sample_rate: int, start_s: float, frame_id: str) -> None:
        """One utterance's speech on ~/audio and ~/audio_data."""
        if not self.available:
            return
        self.announce(sample_rate)
        data = typed_array("B", np.frombuffer(pcm_bytes(wav), np.uint8), np.uint8)
        stamped = self._types[1]()
        stamped.header.stamp, stamped.header.frame_id = stamp_of(start_s), frame_id
        stamped.audio.data = data
        self._stamped.publish(stamped)
        plain = self._types[0]()
        plain.data = data
        self._plain.publish(plain)

    def close(self) -> None:
        if self.available:
            for publisher in (self._stamped, self._plain, self._info):
                self._node.destroy_publisher(publisher)
            self.available = False
