"""Generic training infrastructure: the Trainer loop, DDP helpers, RNG capture, resumable sampling.

Stage-specific training (which model, which loss) lives with the stages; they hand a
``step_fn`` to :class:`~imagintalk.train.trainer.Trainer`.
"""

from __future__ import annotations

__all__ = ["Trainer", "TrainerOptions"]


def __getattr__(name: str):
    # lazy: importing imagintalk.train must not import torch's tensorboard machinery
    if name in __all__:
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(name)
