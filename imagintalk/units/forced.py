"""Forced alignment of a known unit sequence to per-step unit scores (Viterbi, left to right).

Enrollment knows what the user mouthed (the prompt's units) but not when: the lip aligner's
own unit log-posteriors [T, U] say how well each step fits each unit, and the best monotonic
path through the prompt's units gives every step its target. Silences are optional states:
a user may pause between words or not at all, and may start late or stop early.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .inventory import UNITS, unit_index

SILENCE_ID = unit_index("sil")


def prompt_states(units: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """A unit sequence -> (state units [S], optional [S] bool): repeated units collapsed, a silence
    added at each end, and every silence skippable."""
    collapsed: list[int] = []
    for unit in units:
        if not collapsed or collapsed[-1] != int(unit):
            collapsed.append(int(unit))
    if not collapsed or collapsed[0] != SILENCE_ID:
        collapsed.insert(0, SILENCE_ID)
    if collapsed[-1] != SILENCE_ID:
        collapsed.append(SILENCE_ID)
    states = np.asarray(collapsed, dtype=np.int64)
    return states, states == SILENCE_ID


def forced_align(log_probs: np.ndarray, units: Sequence[int]) -> np.ndarray:
    """log_probs [T, U] (log-posteriors per step) + the prompt's units -> a unit per step [T] int64.

    Every non-silent unit of the prompt takes at least one step, in order; silences may take none.
    InputError when the steps are too few for the prompt's units.
    """
    scores = np.asarray(log_probs, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != len(UNITS):
        raise InputError(f"log_probs must be [T, {len(UNITS)}], got {scores.shape}")
    states, optional = prompt_states(units)
    required = int((~optional).sum())
    steps, num_states = scores.shape[0], len(states)
    if required == 0:
        raise InputError("the prompt has no units to align (only silence)")
    if steps < required:
        raise InputError(f"{steps} steps are too few for the prompt's {required} units")
    emit = scores[:, states]  # [T, S]
    # entering state s may come from s (stay), s-1, or s-2 when s-1 is optional (skipped)
    skip_from = np.zeros(num_states, dtype=bool)
    skip_from[2:] = optional[1:-1]
    best = np.full((steps, num_states), -np.inf)
    back = np.zeros((steps, num_states), dtype=np.int64)
    best[0, 0] = emit[0, 0]
    if optional[0]:
        best[0, 1] = emit[0, 1]
    for t in range(1, steps):
        prev = best[t - 1]
        stay = prev
        move = np.concatenate([[-np.inf], prev[:-1]])
        skip = np.where(skip_from, np.concatenate([[-np.inf, -np.inf], prev[:-2]]), -np.inf)
        choices = np.stack([stay, move, skip])  # [3, S]
        pick = choices.argmax(axis=0)  # [S]
        best[t] = choices[pick, np.arange(num_states)] + emit[t]
        back[t] = np.arange(num_states) - pick  # the state the path came from
    finals = [num_states - 1] + ([num_states - 2] if optional[-1] else [])
    state = max(finals, key=lambda s: best[-1, s])
    if not np.isfinite(best[-1, state]):
        raise InputError("no alignment path through the prompt's units")
    path = np.empty(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = state
        state = back[t, state]
    return states[path]


def boundaries(labels: np.ndarray) -> np.ndarray:
    """Steps at which the unit changes [N] (the first step of each run after the first)."""
    labels = np.asarray(labels)
    return np.flatnonzero(np.diff(labels)) + 1
