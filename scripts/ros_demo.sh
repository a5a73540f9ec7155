#!/usr/bin/env bash
# The ROS 2 demo: the speech node + the video source publishing VIDEO over Fast DDS on loopback;
# every published utterance is written to OUT_DIR as a wav (and utterances.json). Exits when the
# video has ended and its last utterance is published.
#
#   bash scripts/ros_demo.sh VIDEO OUT_DIR [extra node parameters, e.g. -p steps:=16]
#
# MODEL_DIR (default: the shipped models/imagintalk) picks the model. Exits 1 with the node's last
# log lines as soon as the node dies (e.g. no model at MODEL_DIR) or the source fails.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash scripts/ros_demo.sh VIDEO OUT_DIR [-p name:=value ...]" >&2; exit 2; }
VIDEO=$(realpath "$1"); OUT=$(realpath -m "$2"); shift 2  # absolute: the logs go to $OUT/ros_log
[ -f "$VIDEO" ] || { echo "ros_demo: no video at $VIDEO" >&2; exit 2; }
[ -x .venv/bin/python ] || bash scripts/setup.sh
bash scripts/setup_ros.sh >/dev/null
mkdir -p "$OUT"

# loopback only, a demo domain, logs beside the output; the built messages on the paths, and the
# shipped Fast DDS profile (config/fastdds_profile.xml) for every process
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-42} ROS_LOG_DIR=$OUT/ros_log
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} PYTHONUNBUFFERED=1
eval "$(.venv/bin/python -c 'from imagintalk_ros.messages import ros_environment as e; import shlex
env = e()
names = ("LD_LIBRARY_PATH", "AMENT_PREFIX_PATH", "PYTHONPATH", "FASTDDS_DEFAULT_PROFILES_FILE")
print("\n".join(f"export {k}={shlex.quote(env[k])}" for k in names if k in env))')"

model_args=()
[ -n "${MODEL_DIR:-}" ] && model_args=(-p "model_dir:=$MODEL_DIR")
.venv/bin/imagintalk-ros-speak --ros-args --params-file config/speak.yaml "${model_args[@]}" "$@" \
  >"$OUT/node.log" 2>&1 &
node=$!
.venv/bin/python -m imagintalk_ros.recorder "$OUT" &
recorder=$!
# the source waits until the node's subscription is matched (the model loads first)
.venv/bin/imagintalk-ros-video-source "$VIDEO" --ros-args --params-file config/speak.yaml \
  -p wait_for_subscribers:=1 >"$OUT/source.log" 2>&1 &
source=$!
trap 'for p in $source $recorder $node; do kill -INT $p 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

status_of() {  # exit status of a finished child
  if wait "$1"; then echo 0; else echo $?; fi
}
# watch all three: the recorder ends the demo; a node or source that dies ends it at once
# (a bad model path makes the node exit with 1 right after loading), never a silent wait
while kill -0 $recorder 2>/dev/null; do
  if ! kill -0 $node 2>/dev/null; then
    code=$(status_of $node)
    echo "ros_demo: the speech node exited (code $code) before the video was spoken; its log ($OUT/node.log):" >&2
    tail -15 "$OUT/node.log" >&2
    exit 1
  fi
  if [ -n "$source" ] && ! kill -0 "$source" 2>/dev/null; then
    code=$(status_of $source)
    if [ "$code" != 0 ]; then
      echo "ros_demo: the video source failed (code $code); its log ($OUT/source.log):" >&2
      tail -15 "$OUT/source.log" >&2
      exit 1
    fi
    tail -1 "$OUT/source.log"
    source=""
  fi
  sleep 0.2
done
code=$(status_of $recorder)
[ "$code" = 0 ] || { echo "ros_demo: the recorder failed (code $code)" >&2; exit 1; }
echo "ros_demo: wavs in $OUT (node log: $OUT/node.log)"
