#!/usr/bin/env bash
# Build ROS 2 interface packages with colcon against the ROS 2 wheels in a venv (no ROS install).
# Shared by scripts/setup_ros.sh (the imagintalk messages) and the tests (a stand-in
# audio_common_msgs workspace).
#
#   source scripts/lib/colcon_build.sh; colcon_build_msgs VENV SRC OUT [cmake args...]
#   bash scripts/lib/colcon_build.sh VENV SRC OUT [cmake args...]
#
# SRC holds the packages (one folder each), OUT receives build/, install/ (merged), log/ and
# colcon.log. Exit status non-zero (with the log's tail on stderr) when the build fails.

colcon_build_msgs() {
  local venv=$1 src=$2 out=$3
  shift 3
  (
    export PATH=$venv/bin:$PATH AMENT_PREFIX_PATH=$venv CMAKE_PREFIX_PATH=$venv
    "$venv/bin/colcon" --log-base "$out/log" build --base-paths "$src" \
      --build-base "$out/build" --install-base "$out/install" --merge-install \
      --cmake-args -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$venv/bin/python" "$@" \
      </dev/null >"$out/colcon.log" 2>&1
  ) || { tail -40 "$out/colcon.log" >&2; echo "colcon build failed (log: $out/colcon.log)" >&2; return 1; }
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run as a script
  set -euo pipefail
  [ $# -ge 3 ] || { echo "usage: colcon_build.sh VENV SRC OUT [cmake args...]" >&2; exit 2; }
  mkdir -p "$3"
  colcon_build_msgs "$@"
fi
