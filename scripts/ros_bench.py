"""Load benchmark of the speech node: 30 fps 640x480 frames for N minutes; memory, drops, latency.

    .venv/bin/python scripts/ros_bench.py --minutes 10 [--model-dir DIR] [--steps 64] [--no-profile]

The node runs in its own process exactly as the launch file starts it (config/speak.yaml,
sensor-data QoS, the shipped Fast DDS profile); this process publishes a talking face (a
SynthTalk clip scaled to 640x480, looped) at 30 fps and reads ~/status and ~/speech. Prints and
writes (--out) a JSON summary: the node's RSS over time (growth after a warm-up minute), frames
received / processed / dropped by the node's policy, frames lost upstream (the node's estimate
from stamp gaps, and the true figure: published - received), utterances spoken / dropped, and
the latency per stage of the spoken utterances.
Without --model-dir a debug model (untrained, same plumbing and timing structure) is built.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model-dir", default="")
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "ros_bench.json")
    parser.add_argument(
        "--no-profile", action="store_true", help="Fast DDS defaults (512 KiB shared memory) for comparison"
    )
    args = parser.parse_args()
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("ROS_DOMAIN_ID", "43")
    work = Path(tempfile.mkdtemp(prefix="ros_bench_"))
    os.environ.setdefault("ROS_LOG_DIR", str(work / "ros_log"))
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from ros_helpers import PARAMS_FILE, ros_env, start, stop
    from sensor_msgs.msg import Image
    from test_pipeline import make_clips, make_debug_model

    from imagintalk.video.io import iter_frames
    from imagintalk_ros.convert import bgr_to_image
    from imagintalk_ros.dds import PROFILE_VARIABLES, profile_environment
    from imagintalk_ros.messages import load_messages
    from imagintalk_ros.speech_msgs import stamp_of

    msgs = load_messages()
    model = args.model_dir or str(make_debug_model(work))
    clip = make_clips(work, 1)[0]
    frames = [cv2.resize(f, (640, 480)) for f, _ in iter_frames(clip)]
    frames += [frames[-1]] * int(args.fps)  # a closed-mouth second between repetitions: utterances end
    env = ros_env(int(os.environ["ROS_DOMAIN_ID"]), Path(os.environ["ROS_LOG_DIR"]))
    for environ in (env, os.environ):  # both participants: the publisher's segment carries the frames
        if args.no_profile:
            for name in PROFILE_VARIABLES:
                environ.pop(name, None)
        else:
            profile_environment(environ)
    node_log = work / "node.log"
    node = start("imagintalk_ros.speak_node",
                 ["--ros-args", "--params-file", str(PARAMS_FILE), "-p", f"model_dir:={model}",
                  "-p", f"steps:={args.steps}"], env, node_log)  # fmt: skip
    rclpy.init()
    me = rclpy.create_node("imagintalk_bench")
    publisher = me.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
    status, speech = [], []
    me.create_subscription(msgs.SpeechStatus, "/imagintalk_speak/status", status.append, 10)
    me.create_subscription(msgs.SpeechAudio, "/imagintalk_speak/speech", speech.append, 10)
    try:
        while publisher.get_subscription_count() < 1:  # the node is active once it subscribes
            rclpy.spin_once(me, timeout_sec=0.1)
            if node.poll() is not None:
                raise SystemExit(f"the node exited: {node_log.read_text()[-2000:]}")
        started = time.monotonic()
        period, index, samples = 1.0 / args.fps, 0, []
        next_sample = started
        while (now := time.monotonic()) - started < args.minutes * 60:
            msg = bgr_to_image(frames[index % len(frames)])
            msg.header.stamp = stamp_of(time.time())
            msg.header.frame_id = "bench"
            publisher.publish(msg)
            index += 1
            if now >= next_sample:
                samples.append((round(now - started, 1), round(rss_mb(node.pid), 1)))
                print(
                    f"t={samples[-1][0]:7.1f} s  node RSS {samples[-1][1]:7.1f} MB  spoken {len(speech)}",
                    flush=True,
                )
                next_sample += 10.0
            rclpy.spin_once(me, timeout_sec=0.0)
            time.sleep(max(0.0, started + index * period - time.monotonic()))
        end = time.monotonic() + 5
        while time.monotonic() < end:
            rclpy.spin_once(me, timeout_sec=0.1)
    finally:
        me.destroy_node()
        rclpy.try_shutdown()
        stop(node)
    warm = [mb for t, mb in samples if t >= 60] or [mb for _, mb in samples]
    last = status[-1]
    stages = {}
    for name in speech[0].stage_names if speech else []:
        values = [m.stage_seconds[list(m.stage_names).index(name)] for m in speech]
        stages[name] = round(float(np.median(values)), 3)
    summary = {
        "minutes": args.minutes, "fps_out": args.fps, "frames_published": index, "steps": args.steps,
        "model": args.model_dir or "debug", "rss_mb": samples,
        "rss_growth_after_warmup_mb": round(warm[-1] - warm[0], 1),
        "rss_max_mb": max(mb for _, mb in samples),
        "dds_profile": None if args.no_profile else os.environ.get(PROFILE_VARIABLES[0]),
        "frames_received": last.frames_received, "frames_processed": last.frames_processed,
        "frames_dropped_queue": last.frames_dropped, "fps_in_last": round(last.fps_in, 1),
        "frames_lost_upstream_estimated": last.frames_lost_upstream,
        "frames_lost_upstream_true": index - last.frames_received,
        "utterances_spoken": len(speech), "utterances_dropped": last.utterances_dropped,
        "rejected": dict(zip(last.rejected_kinds, (int(c) for c in last.rejected_counts))),
        "utterance_s_median": round(float(np.median([m.duration for m in speech])), 2) if speech else None,
        "latency_s_median": round(float(np.median([m.latency for m in speech])), 3) if speech else None,
        "stage_s_median": stages,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "rss_mb"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
