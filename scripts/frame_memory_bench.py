"""Peak memory of ``imagintalk speak`` (or the front door alone) on high-resolution clips.

    .venv/bin/python scripts/frame_memory_bench.py                  # imagintalk speak, 4K + 1080p60, 10 s
    .venv/bin/python scripts/frame_memory_bench.py --front-door     # the front door only (no model)
    .venv/bin/python scripts/frame_memory_bench.py --mmap           # also with MALLOC_MMAP_THRESHOLD_=1 MiB
    .venv/bin/python scripts/frame_memory_bench.py --seconds 4 --clips 4k25 --max-side 640

Makes (with PyAV, in a temporary folder) a 3840x2160 25 fps clip and a 1920x1080 60 fps clip from
examples/photo_mouthing.mp4 (a real photo whose mouth moves; its face scaled up to ~55 % of the
frame height, played back and forth), runs each in a fresh child process and prints that child's
peak resident memory (``ru_maxrss`` of the one child, from ``os.wait4``; RUSAGE_CHILDREN would give
the largest child so far). Each clip runs twice, before vs after: with the frame reader's size cap
off (``--max-side 0``: frames at the file's size, as before the cap) and with the front door's
own (``imagintalk.video.frontdoor.working_max_side``, 640 px for the shipped model). Figures vary
from run to run on a loaded machine (glibc's heap layout depends on the timing of the frees).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "photo_mouthing.mp4"
FACE_SQUARE = (84, 46, 160)  # x, y, side: the square around the face (dlib box 121, 83 - 208, 170)
CLIPS = {"4k25": (3840, 2160, 25.0), "1080p60": (1920, 1080, 60.0)}

# The children. argv[1] is the reader's cap (0: none, -1: the front door's own), set before the
# pipeline is imported so that the code under test (Pipeline.speak_file, process_video) reads the
# file exactly as it does unpatched.
SET_CAP = """
import sys
import imagintalk.video.frontdoor as fd
import imagintalk.video.io as io
cap = int(sys.argv.pop(1))
if cap >= 0:
    fd.working_max_side = lambda cfg: cap or None
"""
SPEAK = (
    SET_CAP
    + """
from imagintalk.cli import main
sys.exit(main(["speak", *sys.argv[1:]]))
"""
)
FRONT_DOOR = (
    SET_CAP
    + """
result = fd.process_video(sys.argv[1])
print(f"{result.num_frames} frames at 25 fps, face in {100 * result.detection_rate:.0f}%, "
      f"frames read at {result.source_size[1]}x{result.source_size[0]}")
"""
)


def make_clip(path: Path, width: int, height: int, fps: float, seconds: float) -> Path:
    """The face of the example clip scaled to ``height``, centred on a ``width`` x ``height`` frame
    (edge pixels repeated sideways), played back and forth to last ``seconds`` at ``fps``.

    The face's box is 87 px of the 160 px square kept (FACE_SQUARE), so it spans ~55 % of the frame
    height: ~98 px where the detector looks (long side 320), above dlib's ~80 px minimum."""
    import cv2

    from imagintalk.video.io import iter_frames, write_video

    source = [(frame, t) for frame, t in iter_frames(EXAMPLE, color="rgb")]
    times = np.array([t for _, t in source])
    span = times[-1] + (times[1] - times[0])

    def frames():
        cache: dict[int, np.ndarray] = {}
        for i in range(round(seconds * fps)):
            phase = (i / fps) % (2 * span)
            t = phase if phase < span else 2 * span - phase  # back and forth: no jump at the loop
            k = int(np.argmin(np.abs(times - t)))
            if k not in cache:
                cache.clear()
                x, y, side = FACE_SQUARE
                face = source[k][0][y : y + side, x : x + side]
                big = cv2.resize(face, (height, height), interpolation=cv2.INTER_CUBIC)
                pad = (width - height) // 2
                cache[k] = cv2.copyMakeBorder(big, 0, 0, pad, width - height - pad, cv2.BORDER_REPLICATE)
            yield cache[k]

    return write_video(path, frames(), fps=fps, color="rgb")


def peak_rss_mb(cmd: list[str], env: dict[str, str], tmp: Path) -> tuple[float, str]:
    """(peak resident MB of the child running ``cmd``, its last output line).

    ``os.wait4`` gives that one child's rusage (``ru_maxrss``, KiB on Linux); RUSAGE_CHILDREN would
    give the largest of every child so far."""
    log = tmp / "child.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-2000:]}")
    lines = text.strip().splitlines()
    return usage.ru_maxrss / 1024, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (default 10 s)")
    parser.add_argument("--clips", nargs="+", choices=list(CLIPS), default=list(CLIPS))
    parser.add_argument("--front-door", action="store_true", help="the front door only, not imagintalk speak")
    parser.add_argument(
        "--steps", type=int, default=16, help="sampler steps of imagintalk speak (default 16)"
    )
    parser.add_argument(
        "--max-side", type=int, nargs="+", default=None,
        help="the reader caps to compare (0 = frames at the file's size; default: 0 and the shipped cap)",
    )  # fmt: skip
    parser.add_argument("--mmap", action="store_true", help="also run with MALLOC_MMAP_THRESHOLD_=1048576")
    args = parser.parse_args(argv)
    base_env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base_env.pop("MALLOC_MMAP_THRESHOLD_", None)
    envs = [("", base_env)]
    if args.mmap:
        envs.append((", MALLOC_MMAP_THRESHOLD_=1048576", {**base_env, "MALLOC_MMAP_THRESHOLD_": "1048576"}))
    caps = args.max_side if args.max_side is not None else [0, -1]
    what = "front door" if args.front_door else f"imagintalk speak --steps {args.steps}"
    with tempfile.TemporaryDirectory(prefix="frame-memory-") as tmp:
        for name in args.clips:
            width, height, fps = CLIPS[name]
            clip = make_clip(Path(tmp) / f"{name}.mp4", width, height, fps, args.seconds)
            print(
                f"{name}: {width}x{height} {fps:g} fps, {args.seconds:g} s ({clip.stat().st_size >> 20} MB)"
            )
            for env_name, env in envs:
                for cap in caps:
                    if args.front_door:
                        cmd = [sys.executable, "-c", FRONT_DOOR, str(cap), str(clip)]
                    else:
                        out = Path(tmp) / f"{name}_{cap}.wav"
                        cmd = [sys.executable, "-c", SPEAK, str(cap), str(clip), "-o", str(out),
                               "--steps", str(args.steps)]  # fmt: skip
                    peak, line = peak_rss_mb(cmd, env, Path(tmp))
                    label = {
                        0: "frames at the file's size (before)",
                        -1: "the front door's size (after)",
                    }.get(cap, f"frames read at most {cap} px long")
                    print(f"  {what}, {label}{env_name}: peak RSS {peak:.0f} MB  ({line})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
