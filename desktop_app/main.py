"""``imagintalk-app``: the desktop voice assistant.

imagintalk-app                                   # camera 0, the user's settings
imagintalk-app --source clip.mp4                 # a video file played as the camera
imagintalk-app --source clip.mp4 --record-dir out/ --exit-at-end    # unattended (demos, tests)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from dataclasses import replace

from .sources import FileSource, SourceError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imagintalk-app", description="Speak by mouthing words at a camera.")
    p.add_argument("--source", help="camera index or video file (default: the camera in Settings)")
    p.add_argument("--record-dir", help="write every utterance here as a wav (default: a session folder)")
    p.add_argument("--exit-at-end", action="store_true",
                   help="with a video file: speak automatically, quit when all is written")  # fmt: skip
    p.add_argument("--model", help="model folder (overrides, and is stored in, the settings)")
    p.add_argument("--steps", type=int, help="sampling steps (overrides the settings)")
    p.add_argument("--settings", help="settings ini file (default: the user's settings store)")
    p.add_argument("--screenshot", help="save a picture of the window once the first utterance is spoken")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def video_problem(path: str) -> str:
    """Why the video file ``path`` cannot be played (missing, or no frame can be decoded); "" if it can."""
    if not os.path.isfile(path):
        return f"video not found: {path}"
    try:
        FileSource(path).close()  # opens it and decodes the first frame
    except SourceError as exc:
        return str(exc)
    return ""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if not args.verbose:  # OpenCV's ffmpeg (the fallback reader) would print its own lines above ours
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    if args.exit_at_end and (args.source is None or args.source.isdigit()):
        print("error: --exit-at-end needs --source VIDEO_FILE", file=sys.stderr)
        return 2
    if args.source and not args.source.isdigit():
        problem = video_problem(args.source)
        if problem:  # missing or unreadable (random bytes, empty, a sound file): refused alike
            print(f"error: {problem}", file=sys.stderr)
            return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread for torch: the GUI must stay responsive

    # imported only now: torch reads OMP_NUM_THREADS once, when it is first imported
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from .controller import AppController
    from .settings import load_settings, open_store
    from .window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("imagintalk-app")
    app.setOrganizationName("ImaginTalk")
    store = open_store(args.settings)
    settings = load_settings(store)
    if args.model is not None:
        settings = replace(settings, model_dir=args.model)
    if args.steps is not None:
        settings = replace(settings, steps=args.steps)
    if args.exit_at_end:
        settings = replace(settings, speak_mode="automatic")  # unattended: nobody holds Speak
    source = int(args.source) if args.source and args.source.isdigit() else args.source
    controller = AppController(settings, store, source, args.record_dir, args.exit_at_end)
    window = MainWindow(controller)
    window.resize(1100, 720)
    window.show()

    exit_code = 0

    finished: list[int] = []

    def finish(code: int) -> None:
        nonlocal exit_code
        if finished:  # a second reason to stop (no model and a bad source): the first one stands
            return
        finished.append(code)
        exit_code = code
        screenshot()
        for path in controller.written:
            print(path)
        if code == 1:
            print("error: no utterance was spoken from the video", file=sys.stderr)
        elif code == 2:
            print(f"error: {controller.exit_error or 'no model'}", file=sys.stderr)
        window.close()
        app.quit()

    shots: list[str] = []

    def screenshot() -> None:
        if args.screenshot and not shots:
            app.processEvents()  # paint the newest history entry and state first
            window.grab().save(args.screenshot)
            shots.append(args.screenshot)

    # the window in use: just after the first utterance was spoken (or, failing that, at the end)
    controller.entry_added.connect(lambda _e: QTimer.singleShot(200, screenshot))
    if args.exit_at_end:  # nobody watches the window: say its problems on stderr too
        controller.problems_changed.connect(lambda text: text and print(f"warning: {text}", file=sys.stderr))
    app.aboutToQuit.connect(controller.shutdown)  # however the app ends, the worker threads are joined
    controller.all_done.connect(lambda code: QTimer.singleShot(0, lambda: finish(code)))
    signal.signal(signal.SIGINT, lambda *_: window.close())  # Ctrl+C in the terminal closes cleanly
    controller.start()
    app.exec()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
