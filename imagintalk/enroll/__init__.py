"""On-device enrollment: adapt the lip reader to one user's face from a few mouthed prompts.

    clips = [clip_from_video(pipe, path, text) for path, text in pairs]   # or clip_from_frames
    profile = enroll(pipe, clips, name="ada")                            # minutes on a CPU
    profile.save("profiles/ada"); pipe.set_profile(profile)

The prompts' units come from their text (espeak-ng phonemes, as typed speech), their timing from
forced alignment on the lip aligner's own unit posteriors (units.forced); a small adapter
(models.lip_adapter) is then trained on those targets with a held-back share of the prompts to
stop early. docs/enrollment.md has the measurements behind the defaults.
"""

from .adapt import AdaptReport, adapt_lip
from .clips import EnrollmentClip, clip_from_frames, clip_from_video
from .prompts import EVERYDAY_PHRASES, default_prompts, read_prompts
from .session import enroll
from .targets import align_clip, prompt_units

__all__ = [
    "EVERYDAY_PHRASES",
    "AdaptReport",
    "EnrollmentClip",
    "adapt_lip",
    "align_clip",
    "clip_from_frames",
    "clip_from_video",
    "default_prompts",
    "enroll",
    "prompt_units",
    "read_prompts",
]
