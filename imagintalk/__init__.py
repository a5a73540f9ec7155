"""ImaginTalk: speech from silent talking-face video.

The core library imports no ROS or Qt and keeps heavy optional dependencies (dlib,
pocketsphinx, resemblyzer, transformers) behind lazy imports.
"""

__version__ = "0.1.0"
