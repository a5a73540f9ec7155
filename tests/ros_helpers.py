"""Shared pieces of the ROS 2 tests: skip without built messages, node processes, spinning."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from alsa_sink import file_sink_conf

REPO = Path(__file__).resolve().parent.parent
PARAMS_FILE = REPO / "config" / "speak.yaml"  # the file launch/speak.launch.py passes


def messages_or_skip():
    """imagintalk.msg, or skip the test module: the only reason to skip is messages not built."""
    try:
        from imagintalk_ros.messages import load_messages

        return load_messages()
    except ImportError as exc:
        pytest.skip(
            f"ROS 2 messages not built (run `bash scripts/setup_ros.sh`): {exc}", allow_module_level=True
        )


def ros_env(domain_id: int, log_dir: Path) -> dict[str, str]:
    """Environment of a node process: built messages found, DDS on loopback in ``domain_id``."""
    from imagintalk_ros.messages import ros_environment

    env = ros_environment()
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_LOG_DIR=str(log_dir),
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def start(module: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``python -m module args`` with stdout + stderr to ``log``."""
    handle = open(log, "w")
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGINT (a clean rclpy shutdown), then kill if it hangs; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class AlsaFileSink:
    """A real ALSA output device whose played samples land in a wav file (ALSA's ``file`` plugin).

    A node process started with ``env["ALSA_CONFIG_PATH"] = str(sink.config)`` sees it as the
    default output and by ``name``; PortAudio reads the variable once per process. The config
    must define a usable pcm: an empty ALSA config makes PortAudio abort.
    """

    name: str
    config: Path
    wav: Path

    @classmethod
    def create(cls, directory: Path, name: str = "imagintalk_ros_sink") -> AlsaFileSink:
        directory.mkdir(parents=True, exist_ok=True)
        sink = cls(name, directory / "asound.conf", directory / "sink.wav")
        sink.config.write_text(file_sink_conf(name, sink.wav, "ImaginTalk ROS test sink"))
        return sink

    def samples(self) -> np.ndarray | None:
        """int16 [N] played last (the plugin rewrites the file per stream); None while unreadable."""
        import soundfile as sf

        try:
            data, _ = sf.read(str(self.wav), dtype="int16")
        except Exception:  # not there yet, or its header not written yet
            return None
        return data


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
