"""The ALSA configuration of a real test output device: ALSA's ``file`` plugin over a null pcm.

Everything played on it is written to a wav file that the tests read back. Shared by the ROS
node tests (tests/ros_helpers.py) and the desktop-app tests (tests/app/app_helpers.py).
"""

from __future__ import annotations

from pathlib import Path


def file_sink_conf(name: str, wav: Path, description: str) -> str:
    """asound.conf text defining pcm ``name`` (also the default) that writes 16-bit wav to ``wav``."""
    return f"""
pcm.{name} {{
  type file
  slave.pcm {{ type null }}
  file "{wav}"
  format "wav"
  hint {{ show on description "{description}" }}
}}
pcm.!default {name}
"""
