"""Face selection (issue 22): the policy chooses among several faces, the tracker then keeps that person."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from imagintalk.errors import InputError
from imagintalk.video.selection import FaceChoice, choose, in_region
from imagintalk.video.tracking import FaceSelector, pick_initial

FRAME = (240, 600)  # height, width
BIG_LEFT = [0.0, 40.0, 200.0, 240.0]  # 200 px, centre x 100
SMALL_CENTRE = [250.0, 70.0, 350.0, 170.0]  # 100 px, centre x 300 = the frame's centre
BOXES = np.array([BIG_LEFT, SMALL_CENTRE], np.float32)


def test_each_policy_chooses_its_face() -> None:
    assert choose(BOXES, FRAME, FaceChoice("largest").state) == 0
    assert choose(BOXES, FRAME, FaceChoice("centre").state) == 1
    assert choose(BOXES, FRAME, FaceChoice("roi", roi=(240, 0, 400, 240)).state) == 1
    assert choose(BOXES, FRAME, FaceChoice("roi", roi=(0, 0, 120, 240)).state) == 0
    # no region yet, or a region touching no face: the largest
    assert choose(BOXES, FRAME, FaceChoice("roi").state) == 0
    assert choose(BOXES, FRAME, FaceChoice("roi", roi=(500, 0, 600, 50)).state) == 0


def test_largest_is_the_trackers_old_rule() -> None:
    near_equal = np.array([[0, 0, 100, 100], [260, 70, 357, 167]], np.float32)  # within 10 %: the central
    for boxes in (BOXES, near_equal):
        assert choose(boxes, FRAME, FaceChoice("largest").state) == pick_initial(boxes, FRAME)
    assert pick_initial(near_equal, FRAME) == 1


def test_roi_prefers_the_face_most_inside_the_region() -> None:
    share = in_region(BOXES, (150, 0, 600, 240))  # a quarter of the big face, all of the small one
    np.testing.assert_allclose(share, [0.25, 1.0])
    assert choose(BOXES, FRAME, FaceChoice("roi", roi=(150, 0, 600, 240)).state) == 1


def test_the_chosen_person_is_followed_until_the_policy_changes() -> None:
    choice = FaceChoice("centre")
    selector = FaceSelector(min_iou=0.2, reacquire_after_s=1.0, choice=choice)
    assert selector.select(BOXES, 0.0, FRAME) == 1
    moved = BOXES.copy()
    moved[1] += [60, 0, 60, 0]  # the small face walks right, away from the centre: still followed
    assert selector.select(moved, 0.04, FRAME) == 1
    reordered = moved[::-1].copy()
    assert selector.select(reordered, 0.08, FRAME) == 0  # same person, other index
    choice.set_mode("largest")  # a new policy: chosen again at the next detection
    assert selector.select(moved, 0.12, FRAME) == 0
    choice.set_roi((300, 0, 600, 240))  # a new region (even in another mode) also asks again
    choice.set_mode("roi")
    assert selector.select(moved, 0.16, FRAME) == 1
    assert selector.select(moved[:1], 0.20, FRAME) is None  # only the other person in view: no jump
    assert selector.select(moved[:1], 1.5, FRAME) == 0  # lost for longer than reacquire_after_s: re-chosen


def test_bad_policies_and_regions_are_refused() -> None:
    with pytest.raises(InputError, match="largest, centre, roi"):
        FaceChoice("loudest")
    choice = FaceChoice()
    with pytest.raises(InputError, match="largest, centre, roi"):
        choice.set_mode("nearest")
    for roi in ((10, 10, 10, 50), (0, 0, float("nan"), 5), (5, 5, 1, 1)):
        with pytest.raises(InputError):
            choice.set_roi(roi)
    assert choice.state.mode == "largest" and choice.state.roi is None


def test_the_choice_can_change_from_another_thread() -> None:
    choice = FaceChoice("roi")
    threads = [threading.Thread(target=choice.set_roi, args=((i, 0, i + 10, 10),)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = choice.state
    assert state.version == 20 and state.roi is not None and state.roi[2] - state.roi[0] == 10
