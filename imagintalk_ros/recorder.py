"""Write every SpeechAudio of the speech node to wav files; exit once the camera has stopped and
everything it said is published (scripts/ros_demo.sh).

    python -m imagintalk_ros.recorder OUT_DIR [--node /imagintalk_speak] [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import rclpy
import soundfile as sf

from .messages import load_messages


def finished(status) -> bool:
    """Frames came, the camera stopped, and nothing is being or waiting to be spoken."""
    idle = not status.speaking and not status.pending
    return status.frames_received > 0 and not status.camera_active and idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--node", default="/imagintalk_speak")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    print("recorder: waiting for speech", flush=True)
    msgs = load_messages()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rclpy.init()
    node = rclpy.create_node("imagintalk_recorder")
    saved: list[dict] = []
    done = [False]

    def on_speech(msg) -> None:
        path = args.out_dir / f"utterance_{len(saved):03d}.wav"
        sf.write(str(path), np.asarray(msg.samples, np.float32), msg.sample_rate, subtype="PCM_16")
        stages = {n: round(s, 3) for n, s in zip(msg.stage_names, msg.stage_seconds)}
        saved.append({"wav": path.name, "duration_s": round(msg.duration, 3), "reason": msg.reason,
                      "latency_s": round(msg.latency, 3), "stages_s": stages})  # fmt: skip
        print(f"recorder: {path} ({msg.duration:.2f} s, {msg.reason}, latency {msg.latency:.2f} s)")

    def on_status(msg) -> None:
        done[0] = done[0] or finished(msg)

    node.create_subscription(msgs.SpeechAudio, f"{args.node}/speech", on_speech, 10)
    node.create_subscription(msgs.SpeechStatus, f"{args.node}/status", on_status, 10)
    deadline = time.monotonic() + args.timeout
    try:
        while rclpy.ok() and not done[0] and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        (args.out_dir / "utterances.json").write_text(json.dumps(saved, indent=1))
        node.destroy_node()
        rclpy.try_shutdown()
    if not done[0]:
        print(f"recorder: timed out after {args.timeout} s")
        return 1
    print(f"recorder: {len(saved)} utterances in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
