"""ROS 2 image conversion, parameters and message filling, without DDS traffic."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import yaml
from ros_helpers import PARAMS_FILE, messages_or_skip

msgs = messages_or_skip()

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from imagintalk.errors import InputError  # noqa: E402
from imagintalk.settings.speak import LIVE_SAMPLER, LIVE_STEPS  # noqa: E402
from imagintalk_ros.convert import (  # noqa: E402
    FrameError,
    bgr_to_image,
    compressed_to_bgr,
    image_to_bgr,
)
from imagintalk_ros.params import NodeParams  # noqa: E402
from imagintalk_ros.speech_msgs import seconds_of, stamp_of  # noqa: E402
from imagintalk_ros.video_source import PARAMS as SOURCE_PARAMS  # noqa: E402

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # odd sizes catch row / step mistakes


def raw(pixels: np.ndarray, encoding: str, pad: int = 0) -> Image:
    """An Image with ``pad`` junk bytes after every row (step = row + pad)."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    padded = np.concatenate([rows, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    msg = Image(height=height, width=width, encoding=encoding, step=rows.shape[1] + pad)
    msg.data = padded.tobytes()
    return msg


@pytest.mark.parametrize("pad", [0, 3])
@pytest.mark.parametrize(
    "encoding, make",
    [
        ("bgr8", lambda b: b),
        ("rgb8", lambda b: b[:, :, ::-1]),
        ("bgra8", lambda b: np.dstack([b, np.full(b.shape[:2], 7, np.uint8)])),
        ("rgba8", lambda b: np.dstack([b[:, :, ::-1], np.full(b.shape[:2], 7, np.uint8)])),
    ],
)
def test_colour_encodings_give_bgr(encoding, make, pad) -> None:
    out = image_to_bgr(raw(np.ascontiguousarray(make(BGR)), encoding, pad))
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, BGR)


def test_mono8_is_repeated_to_three_channels() -> None:
    gray = BGR[:, :, 0].copy()
    out = image_to_bgr(raw(gray, "mono8", pad=1))
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_last_row_may_omit_its_padding() -> None:
    msg = raw(BGR, "bgr8", pad=4)
    msg.data = bytes(msg.data)[:-4]  # some drivers do not send the last row's padding
    np.testing.assert_array_equal(image_to_bgr(msg), BGR)


@pytest.mark.parametrize(
    "change, kind",
    [
        (dict(encoding="16UC1"), "encoding"),
        (dict(encoding="yuv422"), "encoding"),
        (dict(step=20), "step"),  # shorter than 7 x 3
        (dict(height=6), "size"),  # one row more than the data holds
        (dict(height=0, width=0, step=0), "empty"),
        (dict(height=100_000, width=100_000, step=300_000), "too_large"),
    ],
)
def test_bad_raw_images_raise_their_kind(change, kind) -> None:
    msg = raw(BGR, "bgr8")
    for name, value in change.items():
        setattr(msg, name, value)
    with pytest.raises(FrameError) as info:
        image_to_bgr(msg)
    assert info.value.kind == kind


def test_png_is_lossless_and_jpeg_close() -> None:
    big = cv2.resize(BGR, (64, 48), interpolation=cv2.INTER_NEAREST)
    png = CompressedImage(format="png")
    png.data = cv2.imencode(".png", big)[1].tobytes()
    np.testing.assert_array_equal(compressed_to_bgr(png), big)
    smooth = cv2.GaussianBlur(big, (9, 9), 3)
    jpeg = CompressedImage(format="rgb8; jpeg compressed bgr8")  # what image_transport writes
    jpeg.data = cv2.imencode(".jpg", smooth, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    out = compressed_to_bgr(jpeg)
    assert out.shape == smooth.shape and np.abs(out.astype(int) - smooth).mean() < 3


@pytest.mark.parametrize(
    "fmt, data, kind",
    [
        ("jpeg", b"\xff\xd8\xff\xe0 not really a jpeg", "corrupt"),
        ("png", b"", "empty"),
        ("tiff", b"II*\x00", "encoding"),
    ],
)
def test_bad_compressed_images_raise_their_kind(fmt, data, kind) -> None:
    msg = CompressedImage(format=fmt)
    msg.data = data
    with pytest.raises(FrameError) as info:
        compressed_to_bgr(msg)
    assert info.value.kind == kind


def test_bgr_to_image_round_trips() -> None:
    for encoding in ("bgr8", "rgb8"):
        msg = bgr_to_image(BGR, encoding)
        assert (msg.height, msg.width, msg.step, msg.encoding) == (5, 7, 21, encoding)
        np.testing.assert_array_equal(image_to_bgr(msg), BGR)


def test_stamps_round_trip() -> None:
    for seconds in (0.0, 1.5, 1_795_000_000.123456):
        stamp = stamp_of(seconds)
        assert 0 <= stamp.nanosec < 1_000_000_000
        assert math.isclose(seconds_of(stamp), seconds, abs_tol=1e-6)


def test_params_file_names_every_parameter_and_only_those() -> None:
    data = yaml.safe_load(PARAMS_FILE.read_text())
    node = data["/**/imagintalk_speak"]["ros__parameters"]  # any namespace: one node per camera
    assert set(node) == set(NodeParams.__dataclass_fields__)
    params = NodeParams(**node).check()  # the shipped values pass the checks
    assert params.autostart is True
    assert params.speak_options().guidance is None  # the model's own guidance weight
    assert NodeParams(guidance=0.0).speak_options().guidance == 0.0
    # the live default the steps curve chose, in the file as in the code; "" = the model's sampler
    assert (params.sampler, params.steps) == (LIVE_SAMPLER, LIVE_STEPS)
    assert params.speak_options().sampler == LIVE_SAMPLER
    assert NodeParams(sampler="").speak_options().sampler is None
    assert set(data["/**/imagintalk_video_source"]["ros__parameters"]) == set(SOURCE_PARAMS)


def test_every_parameter_is_described_with_its_range() -> None:
    from rcl_interfaces.msg import ParameterDescriptor

    from imagintalk_ros.params import LIVE, SPECS, descriptor

    fields = NodeParams.__dataclass_fields__
    assert set(SPECS) == set(fields) and LIVE <= set(fields)
    for name, field in fields.items():
        desc = descriptor(name, field.default)
        assert isinstance(desc, ParameterDescriptor) and desc.description, name
        if isinstance(field.default, (int, float)) and not isinstance(field.default, bool):
            ranges = desc.integer_range if isinstance(field.default, int) else desc.floating_point_range
            assert len(ranges) == 1, f"{name} has no range"
            low, high = ranges[0].from_value, ranges[0].to_value
            assert low <= field.default <= high, name  # the default lies in its own range
    # the launch file takes its arguments' defaults from the yaml (no second, drifting copy)
    launch = (PARAMS_FILE.parent.parent / "launch" / "speak.launch.py").read_text()
    assert 'default_value=default("steps")' in launch and '"/**/imagintalk_speak"' in launch


@pytest.mark.parametrize(
    "change",
    [
        dict(image_transport="theora"),
        dict(qos_reliability="sometimes"),
        dict(steps=0),
        dict(vad_stop_motion=0.2, vad_start_motion=0.1),
        dict(buffer_s=5.0),  # shorter than max_utterance_s + hangover
        dict(camera_timeout_s=0.0),
        dict(drop_policy="drop_random"),
        dict(guidance=float("nan")),
        dict(sampler="heun"),
        dict(profile="/some/profile", backend="onnx"),  # a profile adapts the torch lip aligner
    ],
)
def test_bad_parameters_are_refused(change) -> None:
    with pytest.raises(InputError):
        NodeParams(**change).check()


def test_speech_audio_message_carries_float32_samples() -> None:
    msg = msgs.SpeechAudio()
    msg.samples = np.linspace(-1, 1, 5, dtype=np.float32)
    assert msg.samples.typecode == "f" and len(msg.samples) == 5
