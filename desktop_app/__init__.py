"""ImaginTalk desktop voice assistant (PyQt6): mouth words at a camera, the computer speaks them.

Views (window, dialogs, widgets) only wire signals; camera capture, the front door, visual
VAD, synthesis and audio output run in QObject jobs on their own QThreads (``jobs/``).
"""
