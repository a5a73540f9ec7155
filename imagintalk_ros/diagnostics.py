"""The node's health as ``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics`` (the ROS convention).

One DiagnosticStatus per node, named ``<namespace/node>: speech`` so several nodes stay apart,
hardware_id = the device, level OK / WARN / ERROR with a one-line message, and the figures of
~/status as key-value strings (what rqt_runtime_monitor and diagnostic_aggregator show).
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

DROP_WARN = 0.2  # frames dropped or lost over a status period above this share: WARN


def level_and_message(
    fields: dict, failed: bool, camera_timeout_s: float, drop_share: float
) -> tuple[int, str]:
    """(level, message) for the status ``fields``; ``failed``: the last activate failed."""
    state = fields["state"]
    if failed and state in ("inactive", "unconfigured"):
        return DiagnosticStatus.ERROR, f"not active: {fields.get('last_error') or 'activate failed'}"
    if state == "waiting":
        return DiagnosticStatus.WARN, "no camera frames yet"
    if state == "stopped":
        return DiagnosticStatus.WARN, f"camera stopped: no frame for more than {camera_timeout_s:g} s"
    if drop_share > DROP_WARN:
        return DiagnosticStatus.WARN, f"frames dropped or lost: {drop_share:.0%} over the last period"
    if state in ("inactive", "unconfigured", "finalized"):
        return DiagnosticStatus.OK, state
    face = "voicing a face" if fields.get("face_found") else "no face in view"
    return DiagnosticStatus.OK, f"{state}, {face}"


def diagnostic_array(
    now, name: str, hardware_id: str, level: int, message: str, values: dict
) -> DiagnosticArray:
    """A DiagnosticArray with one status; ``values`` become KeyValue strings (floats to 3 decimals)."""
    status = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id)
    status.values = [KeyValue(key=key, value=_text(value)) for key, value in values.items()]
    array = DiagnosticArray(status=[status])
    array.header.stamp = now
    return array


def diagnostic_values(fields: dict, rejected: dict[str, int], params, pipeline) -> dict[str, object]:
    """The key-value pairs: camera, faces, speech queue, latency, model and device."""
    f = fields
    values = {
        "state": f["state"], "camera_rate_hz": f["fps_in"], "frames_received": f["frames_received"],
        "frames_processed": f["frames_processed"], "frames_dropped": f["frames_dropped"],
        "frames_lost_upstream": f["frames_lost_upstream"], "frames_rejected": sum(rejected.values()),
        "face_found": f["face_found"], "face_selection": f["face_selection"],
        "faces_in_view": f["faces_in_view"], "voiced_face": f["voiced_face"] or "none",
        "pending_utterances": f["pending"], "utterances_spoken": f["utterances_spoken"],
        "utterances_dropped": f["utterances_dropped"], "utterances_failed": f["utterances_failed"],
        "last_latency_s": f["last_latency"], "last_error": f["last_error"],
    }  # fmt: skip
    if params is not None:
        values.update(model=params.model_dir or "models/imagintalk", backend=params.backend)
        values.update(device=params.device, steps=params.steps)
    if pipeline is not None:  # what is loaded ("auto" resolved), and the steps in force
        values.update(device=str(pipeline.device), steps=pipeline.steps)
    values.setdefault("device", "")
    return values


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    return str(value)
