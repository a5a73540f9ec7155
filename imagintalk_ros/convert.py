"""sensor_msgs images -> numpy frames, by hand (no cv_bridge wheel exists for these machines).

    frame = image_to_bgr(msg)        # sensor_msgs/Image: rgb8, bgr8, mono8, rgba8, bgra8
    frame = compressed_to_bgr(msg)   # sensor_msgs/CompressedImage: jpeg, png
    msg = bgr_to_image(frame, ...)   # the other way, for the video source

Frames are uint8 [H, W, 3] in BGR order (the front door's default). Every check raises
FrameError with a short ``kind`` (one of KINDS), so the node can count bad input by kind and
log each kind once instead of once per frame.
"""

from __future__ import annotations

import numpy as np

# channels and how to reach BGR from each supported 8-bit encoding
ENCODINGS: dict[str, tuple[int, tuple[int, ...] | None]] = {
    "bgr8": (3, None),
    "rgb8": (3, (2, 1, 0)),
    "mono8": (1, None),
    "bgra8": (4, (0, 1, 2)),
    "rgba8": (4, (2, 1, 0)),
}
COMPRESSED_FORMATS = ("jpeg", "jpg", "png")
KINDS = ("encoding", "empty", "too_large", "step", "size", "corrupt")
MAX_PIXELS = 16_000_000  # default limit: above 4K x 4K is no camera frame for a face (a bug or an attack)


class FrameError(ValueError):
    """A frame that cannot be used; ``kind`` names the problem for counting (one of KINDS)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def as_bytes(data) -> np.ndarray:
    """A message's uint8[] field (bytes, array.array or a list) as uint8 [N] without copying buffers."""
    try:
        return np.frombuffer(data, np.uint8)
    except TypeError:
        return np.asarray(data, np.uint8).ravel()


def check_size(height: int, width: int, max_pixels: int = MAX_PIXELS) -> None:
    if height <= 0 or width <= 0:
        raise FrameError("empty", f"image of {width} x {height} pixels")
    if height * width > max_pixels:
        raise FrameError("too_large", f"image of {width} x {height} pixels is over the limit of {max_pixels}")


def image_to_bgr(msg, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """sensor_msgs/Image -> uint8 [H, W, 3] BGR (a copy; rows may be padded: ``step`` >= W * channels)."""
    encoding = msg.encoding.lower()
    if encoding not in ENCODINGS:
        raise FrameError(
            "encoding", f"unsupported image encoding {msg.encoding!r} (supported: {', '.join(ENCODINGS)})"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    check_size(height, width, max_pixels)
    channels, order = ENCODINGS[encoding]
    row = width * channels
    if step < row:
        raise FrameError("step", f"step {step} is shorter than a row of {width} x {channels} bytes")
    data = msg.data
    if len(data) < step * (height - 1) + row:
        raise FrameError(
            "size", f"{len(data)} data bytes for {height} rows of step {step} ({step * height} expected)"
        )
    flat = as_bytes(data)
    # rows of `step` bytes, of which the first W * channels are pixels (8-bit: endianness is moot)
    rows = np.lib.stride_tricks.as_strided(flat, shape=(height, row), strides=(step, 1))
    pixels = rows.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if order is None:
        return pixels.copy()
    return np.ascontiguousarray(pixels[:, :, list(order)])


def compressed_to_bgr(msg, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg / png, ``format`` as image_transport writes it) -> [H, W, 3]."""
    import cv2

    fmt = msg.format.lower()
    if not any(name in fmt for name in COMPRESSED_FORMATS):
        raise FrameError("encoding", f"unsupported compressed format {msg.format!r} (supported: jpeg, png)")
    data = as_bytes(msg.data)
    if data.size == 0:
        raise FrameError("empty", "compressed image without data")
    if data.size > max_pixels * 3:  # larger than the raw image it could hold
        raise FrameError("too_large", f"compressed image of {data.size} bytes")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError("corrupt", f"{msg.format} data of {data.size} bytes does not decode")
    check_size(image.shape[0], image.shape[1], max_pixels)
    return image


def bgr_to_image(frame: np.ndarray, encoding: str = "bgr8"):
    """uint8 [H, W, 3] BGR -> sensor_msgs/Image (header left for the caller)."""
    from sensor_msgs.msg import Image

    if encoding not in ("bgr8", "rgb8"):
        raise ValueError(f"publishing supports bgr8 and rgb8, not {encoding!r}")
    pixels = frame if encoding == "bgr8" else frame[:, :, ::-1]
    msg = Image()
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = encoding, 0, int(frame.shape[1]) * 3
    msg.data = np.ascontiguousarray(pixels).tobytes()  # bytes, never the array: ~1000x faster
    return msg
