"""The shipped Fast DDS profile (config/fastdds_profile.xml): a 32 MiB shared-memory segment, UDP on
127.0.0.1 only. Without it, best-effort 640x480 frames overflow Fast DDS's 512 KiB segment and
most are lost on the way (docs/ros.md, "DDS profile").

Fast DDS reads the profile file named in the environment when a participant is created, so it
must be set before ``rclpy.init``: :func:`profile_environment` for child processes (tests, demo,
benchmark), :func:`use_shipped_profile` in a node's ``main``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Fast DDS 3 (Kilted, and the wheels here) reads the first name, Fast DDS 2 (Humble, Jazzy) the
# second; Fast DDS 3 warns that the second is deprecated, so only the first is set here
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def shipped_profile() -> Path | None:
    """config/fastdds_profile.xml of the source tree, else of the colcon install; None if neither."""
    in_tree = REPO_ROOT / "config" / "fastdds_profile.xml"
    if in_tree.is_file():
        return in_tree
    try:  # installed by colcon: share/imagintalk/config
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory("imagintalk"), "config", "fastdds_profile.xml")
    except (ImportError, LookupError, OSError):  # no ament index, package not in it, no AMENT_PREFIX_PATH
        return None
    return installed if installed.is_file() else None


def profile_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the shipped profile in FASTDDS_DEFAULT_PROFILES_FILE (a profile already set wins)."""
    profile = shipped_profile()
    if profile is not None and not any(env.get(name) for name in PROFILE_VARIABLES):
        env[PROFILE_VARIABLES[0]] = str(profile)
    return env


def use_shipped_profile() -> str | None:
    """For a node's ``main``, before ``rclpy.init``: the profile in effect (None: Fast DDS defaults).

    Applies the shipped profile only where it cannot get in the way: no profile set, and DDS kept
    on this machine anyway (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST), because its UDP transport
    is limited to 127.0.0.1. On a robot talking to other machines, set your own profile.
    """
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").upper() == "LOCALHOST":
        profile_environment(os.environ)  # type: ignore[arg-type]
    return next((os.environ[name] for name in PROFILE_VARIABLES if os.environ.get(name)), None)
