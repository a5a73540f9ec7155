"""The model directory: save / load round trip, missing stages and pickles refused."""

import pytest
import torch

from imagintalk.errors import CheckpointError
from imagintalk.models.bundle import COMPONENTS, build_bundle, load_bundle, save_component, semantic_condition
from imagintalk.settings import preset


@pytest.fixture(scope="module")
def debug_dir(tmp_path_factory):
    cfg = preset("debug")
    bundle = build_bundle(cfg)
    root = tmp_path_factory.mktemp("model")
    for name in COMPONENTS:
        save_component(root, name, bundle.module(name), cfg)
    return root, bundle


def test_round_trip_is_exact(debug_dir):
    root, bundle = debug_dir
    loaded = load_bundle(root)
    for name in COMPONENTS:
        before, after = bundle.module(name).state_dict(), loaded.module(name).state_dict()
        assert before.keys() == after.keys()
        assert all(torch.equal(before[k], after[k]) for k in before), name


def test_semantic_condition_shapes(debug_dir):
    root, _ = debug_dir
    bundle = load_bundle(root)
    cond = semantic_condition(bundle, torch.randn(2, 6, 88, 88))
    assert cond.c_lip.shape == (2, 12, bundle.cfg.lip.unit_dim)
    assert cond.units.shape == cond.flagged.shape == (2, 12)
    plain = semantic_condition(bundle, torch.randn(2, 6, 88, 88), refine=False)
    assert not plain.flagged.any() and torch.equal(plain.units, plain.raw_units)


def test_missing_stage_and_pickle_are_refused(debug_dir, tmp_path):
    root, bundle = debug_dir
    partial = tmp_path / "partial"
    save_component(partial, "lip", bundle.lip, bundle.cfg)
    with pytest.raises(CheckpointError, match="no mlm weights: train stage 1"):
        load_bundle(partial)
    assert load_bundle(partial, components=("lip",)).lip is not None
    pickled = tmp_path / "pickled"
    save_component(pickled, "lip", bundle.lip, bundle.cfg)
    torch.save(bundle.lip.state_dict(), pickled / "lip.safetensors")  # a pickle under a safe name
    with pytest.raises(CheckpointError, match="pickle"):
        load_bundle(pickled, components=("lip",))
    with pytest.raises(CheckpointError, match="no model"):
        load_bundle(tmp_path / "nowhere")
