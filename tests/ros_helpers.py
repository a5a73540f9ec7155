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


# ---------------------------------------------------------------- audio_common_msgs stand-in

# audio_common_msgs as released for Humble, Jazzy and Kilted (ros-drivers/audio_common 0.4.0): no
# wheel exists, so the tests build a package of that name with those fields (written from the
# field lists in docs/ros.md) the way scripts/setup_ros.sh builds the project's own messages.
AUDIO_COMMON_MSGS = {
    "AudioData.msg": "uint8[] data\n",
    "AudioDataStamped.msg": "std_msgs/Header header\nAudioData audio\n",
    "AudioInfo.msg": (
        "uint8 channels\nuint32 sample_rate\nstring sample_format\nuint32 bitrate\nstring coding_format\n"
    ),
}
AUDIO_PACKAGE_XML = """<?xml version="1.0"?>
<package format="3">
  <name>audio_common_msgs</name>
  <version>0.0.0</version>
  <description>Test stand-in with the fields of audio_common_msgs 0.4.0.</description>
  <maintainer email="dev@imagintalk.invalid">ImaginTalk tests</maintainer>
  <license>Apache-2.0</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>std_msgs</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
"""
AUDIO_CMAKE = """cmake_minimum_required(VERSION 3.16)
project(audio_common_msgs C CXX)
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(std_msgs REQUIRED)
rosidl_generate_interfaces(${PROJECT_NAME} "msg/AudioData.msg" "msg/AudioDataStamped.msg" "msg/AudioInfo.msg"
  DEPENDENCIES std_msgs)
ament_export_dependencies(rosidl_default_runtime)
ament_package()
"""


def audio_common_workspace() -> Path:
    """The install prefix of a colcon-built ``audio_common_msgs`` (cached in build/ros_test: ~20 s once)."""
    import hashlib

    sources = {"package.xml": AUDIO_PACKAGE_XML, "CMakeLists.txt": AUDIO_CMAKE}
    sources.update({f"msg/{name}": text for name, text in AUDIO_COMMON_MSGS.items()})
    digest = hashlib.sha256(repr(sorted(sources.items())).encode()).hexdigest()
    out = REPO / "build" / "ros_test" / "audio_common_msgs"
    stamp = out / "install" / ".built"
    if stamp.is_file() and stamp.read_text() == digest:
        return out / "install"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    for name, text in sources.items():
        path = out / "src" / "audio_common_msgs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    script = REPO / "scripts" / "lib" / "colcon_build.sh"
    done = subprocess.run(
        ["bash", str(script), str(REPO / ".venv"), str(out / "src"), str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"building audio_common_msgs failed:\n{done.stderr[-3000:]}")
    stamp.write_text(digest)
    return out / "install"


def with_prefix(env: dict[str, str], prefix: Path) -> dict[str, str]:
    """``env`` with a colcon install prefix on the Python, library and ament paths (a node process)."""
    import glob
    import os

    env = dict(env)
    site = glob.glob(str(prefix / "lib" / "python3*" / "site-packages"))
    for key, value in (("PYTHONPATH", site[0]), ("LD_LIBRARY_PATH", str(prefix / "lib")),
                       ("AMENT_PREFIX_PATH", str(prefix))):  # fmt: skip
        env[key] = os.pathsep.join(p for p in (value, env.get(key, "")) if p)
    return env


# ---------------------------------------------------------------- the test's own participant


class Participant:
    """A DDS participant of the test process: subscriptions collected in lists, clients, spinning."""

    def __init__(self, domain: int, name: str = "imagintalk_test") -> None:
        import os

        import rclpy
        import rclpy.executors

        from imagintalk_ros.dds import profile_environment

        profile_environment(os.environ)  # before init: this participant may publish frames
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def collect(self, msg_type, topic: str, qos=10) -> list:
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def spin_until(self, predicate, timeout: float, what: str) -> None:
        """Spin until ``predicate()``; fail the test after ``timeout`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout} s waiting for {what}")
            self.executor.spin_once(timeout_sec=0.02)

    def spin_for(self, seconds: float) -> None:
        import time

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.01)

    def set_parameters(self, node: str, timeout: float = 30.0, **values):
        """SetParameters on ``node`` -> the list of SetParametersResult."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(SetParameters, f"{node}/set_parameters")
        self.spin_until(client.service_is_ready, timeout, f"{node}/set_parameters")
        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        )
        future = client.call_async(request)
        self.spin_until(future.done, timeout, f"the reply of {node}/set_parameters")
        self.node.destroy_client(client)
        return future.result().results

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
