"""Parameters changed while the node runs: validated at once, applied from the next utterance on.

``on_set(node, parameters)`` is the node's ``add_on_set_parameters_callback``: it checks a change
with the library's checks (params.check_change) and refuses it with the reason
(``SetParametersResult(successful=False, reason=...)``); an accepted change reaches the running
pipeline on the speech worker's thread before its next job (never in the middle of an utterance),
the VAD on the frame thread between frames, and the face selection at the next detection.
"""

from __future__ import annotations

from rcl_interfaces.msg import SetParametersResult

from imagintalk.errors import ImaginTalkError

from . import params as node_params

OPTIONS = frozenset({"steps", "sampler", "temperature", "guidance", "expressiveness", "seed"})
VOICE = frozenset({"profile", "voice_reference"})
VAD = frozenset(
    {"vad_start_motion", "vad_stop_motion", "vad_hangover_s", "min_utterance_s", "max_utterance_s"}
)


def on_set(node, parameters) -> SetParametersResult:
    """Validate (and, while active, apply) a set of parameter changes; refuse them all with a reason."""
    names = set(node_params.SPECS)
    changes = {p.name: p.value for p in parameters if p.name in names}
    if not changes or node.params is None or node.label == "unconfigured":  # all read on configure
        return SetParametersResult(successful=True)
    active = node.label == "active"
    try:
        updated = node_params.check_change(node.params, changes, active)
    except (ImaginTalkError, TypeError, ValueError) as exc:
        node.get_logger().warning(f"parameter change refused: {exc}")
        return SetParametersResult(successful=False, reason=str(exc))
    if active:
        apply(node, updated, set(changes))
    node.params = updated  # inactive: activate builds the pipeline and stream from these
    return SetParametersResult(successful=True)


def apply(node, new: node_params.NodeParams, changed: set[str]) -> None:
    """Hand the changed live values to the threads that own what they change."""
    worker, frames, choice = node._worker, node._frames, node._choice
    log = node.get_logger()
    if changed & OPTIONS and worker is not None:
        options = new.speak_options()
        worker.call_soon(lambda pipeline: pipeline.set_options(options))
    if changed & VOICE and worker is not None:
        worker.call_soon(lambda pipeline: _set_voice(node, pipeline, new))
    if changed & VAD and frames is not None:
        vad = new.vad()
        frames.command("call", fn=lambda stream: stream.set_vad(vad))
    if "face_selection" in changed and choice is not None:
        choice.set_mode(new.face_selection)
    log.info("parameters changed: " + ", ".join(f"{name}={getattr(new, name)!r}" for name in sorted(changed)))


def _set_voice(node, pipeline, p: node_params.NodeParams) -> None:
    """Worker thread: the profile, then the voice reference (the parameter wins over the profile's)."""
    try:
        profile = pipeline.set_profile(p.profile or None)
        if p.voice_reference:
            pipeline.set_voice_reference(p.voice_reference)
        elif profile is None or profile.voice is None:
            pipeline.set_voice_reference(None)
    except Exception as exc:  # e.g. a profile made for another model: say so, keep speaking
        node.report_error(f"voice settings not applied: {exc}")
