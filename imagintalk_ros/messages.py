"""The package's own ROS 2 interfaces (``imagintalk.msg``: SpeechAudio, SpeechStatus;
``imagintalk.action``: Speak), and other interface packages built the same way (``load_prefix``).

In a sourced ROS 2 workspace (``colcon build`` of this package) ``imagintalk.msg`` is simply
importable. On machines without a ROS install (scripts/setup_ros.sh) the messages are built
into ``build/ros/install`` while the core library ``imagintalk`` is pip-installed elsewhere:
both are Python packages named ``imagintalk``, so :func:`load_messages` joins the built one to
the core's package path and loads its C libraries, which the process could not find by itself
(LD_LIBRARY_PATH is read only when a process starts).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
from pathlib import Path
from types import ModuleType

from .dds import profile_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
# where scripts/setup_ros.sh builds the messages; IMAGINTALK_ROS_INSTALL names another build
DEFAULT_INSTALL = REPO_ROOT / "build" / "ros" / "install"


class MessagesMissing(ImportError):
    """The imagintalk messages are not built (run scripts/setup_ros.sh)."""


def install_dir() -> Path:
    return Path(os.environ.get("IMAGINTALK_ROS_INSTALL", str(DEFAULT_INSTALL)))


def ros_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default os.environ) with the built messages on the library / Python / ament paths,
    and the shipped Fast DDS profile (dds.py) unless one is set.

    For starting node processes on machines without a ROS install (tests, demo, benchmark).
    """
    env = dict(os.environ if base is None else base)
    prefix = install_dir()
    site = glob.glob(str(prefix / "lib" / "python3*" / "site-packages"))
    for key, value in (
        ("LD_LIBRARY_PATH", str(prefix / "lib")),
        ("AMENT_PREFIX_PATH", str(prefix)),
        ("PYTHONPATH", site[0] if site else ""),
    ):
        if value and value not in env.get(key, "").split(os.pathsep):
            env[key] = os.pathsep.join(p for p in (value, env.get(key, "")) if p)
    return profile_environment(env)  # large frames need the bigger shared-memory segment


def _join_built_messages() -> None:
    """Make the colcon-built ``imagintalk/msg`` part of the core ``imagintalk`` package."""
    import imagintalk

    prefix = install_dir()
    sites = glob.glob(str(prefix / "lib" / "python3*" / "site-packages" / "imagintalk"))
    if not sites or not Path(sites[0], "msg", "__init__.py").is_file():
        raise MessagesMissing(
            f"the imagintalk ROS 2 messages are not built in {prefix}: run `bash scripts/setup_ros.sh` "
            "(or source a ROS 2 workspace where the imagintalk package is built)"
        )
    if sites[0] not in imagintalk.__path__:
        imagintalk.__path__.append(sites[0])
    _load_libraries(prefix, "imagintalk")


def _load_libraries(prefix: Path, package: str) -> None:
    """Put ``prefix`` on the library and ament paths of this process and load ``package``'s C libraries."""
    lib = prefix / "lib"
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(lib), os.environ.get("LD_LIBRARY_PATH", "")) if p
    )  # the type-support dispatcher searches it (read per lookup, unlike the loader's copy)
    prefixes = os.environ.get("AMENT_PREFIX_PATH", "")
    if str(prefix) not in prefixes.split(os.pathsep):
        os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in (str(prefix), prefixes) if p)
    # generator first: the type-support libraries link against it by name
    for name in sorted(lib.glob(f"lib{package}__*.so"), key=lambda p: "generator_c" not in p.name):
        ctypes.CDLL(str(name), mode=ctypes.RTLD_GLOBAL)


def load_prefix(prefix: Path, package: str) -> None:
    """Make the interface package ``package`` built into the colcon install ``prefix`` importable in
    this (already running) process: its site-packages on sys.path, its C libraries loaded."""
    for site in glob.glob(str(prefix / "lib" / "python3*" / "site-packages")):
        if site not in sys.path:
            sys.path.append(site)
    _load_libraries(prefix, package)


def load_messages() -> ModuleType:
    """``imagintalk.msg`` (SpeechAudio, SpeechStatus); MessagesMissing where they are not built."""
    try:
        import imagintalk.msg as msg

        return msg
    except ImportError:
        sys.modules.pop("imagintalk.msg", None)
    _join_built_messages()
    import imagintalk.msg as msg

    return msg


def load_action() -> ModuleType:
    """``imagintalk.action`` (Speak), built with the messages."""
    load_messages()
    import imagintalk.action as action

    return action
