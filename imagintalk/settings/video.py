"""Settings of the video front door (detect -> landmarks -> align -> crop)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VideoConfig:
    detector: str = "dlib_hog"  # chosen by name, imported lazily (see builders.build_detector)
    upsample: int = 0  # dlib HOG upsampling passes (1 finds faces ~2x smaller, 4x slower)
    fps: float = 25.0  # everything downstream runs at this frame rate
    mouth_size: int = 96  # mouth ROI side, gray
    mouth_crop: int = 88  # centre crop of the ROI fed to the lip network
    face_size: int = 128  # aligned face crop side, RGB
    smooth_window: int = 5  # landmark smoothing window (frames at `fps`)
    max_gap_s: float = 1.0  # longest run of face-less frames that is interpolated
    min_duration_s: float = 0.4  # shorter clips are "too short to speak"
    # detection runs on a copy whose long side is this many pixels (down- or up-scaled, at
    # most 2x up): HOG cost grows with the pixel count, and dlib's HOG misses faces under
    # ~80 px, so faces smaller than ~80/detect_size of the long side need upsample=1.
    detect_size: int = 320
    detect_every: int = 1  # run the detector every k-th frame; track with landmarks in between
    mouth_scale: float = 0.5  # mouth ROI side as a fraction of the aligned face crop side
    min_iou: float = 0.2  # a box overlapping the tracked face less than this is another face
