#!/usr/bin/env bash
# The ROS 2 demo: the speech node + the video source publishing VIDEO over Fast DDS on loopback;
# every published utterance is written to OUT_DIR as a wav (and utterances.json). Exits when the
# video has ended and its last utterance is published.
#
#   bash scripts/ros_demo.sh VIDEO OUT_DIR [extra node parameters, e.g. -p steps:=16]
#
# MODEL_DIR (default: the shipped models/imagintalk) picks the model.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash scripts/ros_demo.sh VIDEO OUT_DIR [-p name:=value ...]" >&2; exit 2; }
VIDEO=$(realpath "$1"); OUT=$2; shift 2
[ -f "$VIDEO" ] || { echo "ros_demo: no video at $VIDEO" >&2; exit 2; }
[ -x .venv/bin/python ] || bash scripts/setup.sh
bash scripts/setup_ros.sh >/dev/null
mkdir -p "$OUT"

# loopback only, a demo domain, logs beside the output; the built messages on the paths
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-42} ROS_LOG_DIR=$PWD/$OUT/ros_log
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} PYTHONUNBUFFERED=1
eval "$(.venv/bin/python -c 'from imagintalk_ros.messages import ros_environment as e; import shlex
env = e()
print("\n".join(f"export {k}={shlex.quote(env[k])}" for k in ("LD_LIBRARY_PATH", "AMENT_PREFIX_PATH", "PYTHONPATH")))')"

model_args=()
[ -n "${MODEL_DIR:-}" ] && model_args=(-p "model_dir:=$MODEL_DIR")
.venv/bin/imagintalk-ros-speak --ros-args --params-file config/speak.yaml "${model_args[@]}" "$@" \
  >"$OUT/node.log" 2>&1 &
node=$!
trap 'kill -INT $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT
.venv/bin/python -m imagintalk_ros.recorder "$OUT" &
recorder=$!
# the source waits until the node's subscription is matched (the model loads first)
.venv/bin/imagintalk-ros-video-source "$VIDEO" --ros-args --params-file config/speak.yaml \
  -p wait_for_subscribers:=1 >"$OUT/source.log" 2>&1
tail -1 "$OUT/source.log"
wait $recorder
echo "ros_demo: wavs in $OUT (node log: $OUT/node.log)"
