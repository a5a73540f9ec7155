"""Shared pieces of the ROS 2 tests: skip without built messages, node processes, spinning."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

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


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
