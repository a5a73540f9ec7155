"""Fixtures for the desktop-app tests: a real X server (Xvfb), a real audio output device (an ALSA
``file`` sink whose written samples are read back), a debug model and debug SynthTalk clips.

The X server and the sink are set up when this file is imported, before Qt or PortAudio start:
both read their configuration (DISPLAY, ALSA_CONFIG_PATH) once per process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # make_debug_model / make_clips live in tests/test_pipeline.py

from app_helpers import ALSA_CONF, OPEN_WINDOWS, SINK_DIR, SINK_WAV  # noqa: E402 (after the path insert)


def _start_xvfb() -> None:
    """Start Xvfb on a free display for this test process, unless a display is already there."""
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    if shutil.which("Xvfb") is None:  # no X server installed: Qt's offscreen platform still renders
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        display = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
    if not display:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{display}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    atexit.register(proc.terminate)


(SINK_DIR / "asound.conf").write_text(ALSA_CONF)
os.environ["ALSA_CONFIG_PATH"] = str(SINK_DIR / "asound.conf")
os.environ.setdefault("OMP_NUM_THREADS", "1")
_start_xvfb()
atexit.register(shutil.rmtree, SINK_DIR, True)


@pytest.fixture(scope="session")
def assets(tmp_path_factory) -> dict:
    """A debug model (untrained, loads in seconds) and two debug SynthTalk clips with a face."""
    import torch
    from test_pipeline import make_clips, make_debug_model

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("app_assets")
    return {"model": make_debug_model(root), "clips": make_clips(root, 2), "root": root}


@pytest.fixture(scope="session")
def faceless_clip(tmp_path_factory) -> Path:
    """1.2 s of a gray wall at 25 fps: no face anywhere."""
    from imagintalk.video.io import write_video

    rng = np.random.default_rng(0)
    frames = [np.full((160, 160, 3), 120, np.uint8) + rng.integers(0, 8, (160, 160, 3), dtype=np.uint8)
              for _ in range(30)]  # fmt: skip
    return write_video(tmp_path_factory.mktemp("noface") / "wall.mp4", frames, fps=25.0)


@pytest.fixture
def sink() -> Path:
    """The test sink's file, removed before the test (each playback rewrites it)."""
    SINK_WAV.unlink(missing_ok=True)
    return SINK_WAV


@pytest.fixture(autouse=True)
def close_windows():
    """After each test: close its windows (joining the app's threads) while they are still referenced."""
    yield
    while OPEN_WINDOWS:
        OPEN_WINDOWS.pop().close()
