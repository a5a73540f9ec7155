"""play_audio without a usable sound device: one warning, nothing raised, the caller goes on.

The playback itself, on a real ALSA output device, is checked end to end in test_ros_node.py
(the node process plays every utterance on a file sink whose samples are compared).
"""

from __future__ import annotations

import numpy as np

from imagintalk_ros.audio_out import AudioOut, to_pcm16


class Warnings:
    """Collects what AudioOut logs (the node passes its rclpy logger, same method)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str) -> None:
        self.lines.append(message)


def test_an_unknown_device_warns_once_and_playing_goes_on_quietly() -> None:
    log = Warnings()
    out = AudioOut("imagintalk_no_such_device", log)
    speech = np.sin(np.linspace(0, 200, 1600)).astype(np.float32)
    assert out.play(speech, 16000)  # queued: the device is only tried on the player thread
    assert out.wait_idle(30)
    assert out.failed and out.played == 0
    assert not out.play(speech, 16000) and not out.play(speech, 16000)  # no retry per utterance
    assert out.wait_idle(5)
    assert len(log.lines) == 1 and "imagintalk_no_such_device" in log.lines[0]
    out.close()


def test_samples_reach_the_device_as_clipped_int16() -> None:
    wav = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], np.float32)
    assert to_pcm16(wav)[:, 0].tolist() == [0, 16383, -16383, 32767, -32767, 32767, -32767]
    assert to_pcm16(wav).shape == (7, 1)
