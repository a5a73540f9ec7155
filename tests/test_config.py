import pytest

from imagintalk.errors import InputError
from imagintalk.settings import apply_overrides, config_from_dict, load_config, preset


def test_presets_differ_where_they_should():
    debug, synth, paper = preset("debug"), preset("synth"), preset("paper")
    assert debug.codec.num_codebooks < synth.codec.num_codebooks
    assert paper.codec.name == "dac" and paper.codec.num_codebooks == 12
    assert synth.codec.frame_rate % 25 == 0


def test_the_dit_generates_a_prefix_of_the_codec_levels():
    synth = preset("synth")
    assert (synth.dit.num_codebooks, synth.codec.num_codebooks) == (4, 12)
    assert preset("paper").dit.num_codebooks == preset("paper").codec.num_codebooks
    synth.check()
    with pytest.raises(InputError, match="dit.num_codebooks"):
        apply_overrides(preset("synth"), ["dit.num_codebooks=13"]).check()
    with pytest.raises(InputError, match="temperature"):
        apply_overrides(preset("synth"), ["sampling.temperature=0"]).check()
    with pytest.raises(InputError, match="guidance"):
        apply_overrides(preset("synth"), ["sampling.guidance=-1"]).check()
    assert apply_overrides(preset("synth"), ["sampling.guidance=1.5"]).sampling.guidance == 1.5
    with pytest.raises(InputError, match="dit_drop_conditions"):
        apply_overrides(preset("synth"), ["train.dit_drop_conditions=1"]).train.validate()


def test_yaml_then_dotted_overrides(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("codec:\n  num_codebooks: 6\nvideo:\n  detector: opencv_haar\n")
    cfg = load_config("synth", path, ["codec.cardinality=256", "synth.emotions=neutral,sad"])
    assert cfg.codec.num_codebooks == 6
    assert cfg.codec.cardinality == 256
    assert cfg.video.detector == "opencv_haar"
    assert cfg.synth.emotions == ["neutral", "sad"]


def test_round_trip_through_dict():
    cfg = apply_overrides(preset("debug"), ["seed=5", "codec.cardinality=32"])
    again = config_from_dict(cfg.to_dict())
    assert again == cfg


@pytest.mark.parametrize(
    "overrides",
    [["codec.nope=1"], ["codec.num_codebooks=many"], ["novalue"], ["codec=3"]],
)
def test_bad_overrides_are_clear_errors(overrides):
    with pytest.raises(InputError):
        load_config("debug", overrides=overrides)


def test_unknown_preset_and_missing_yaml(tmp_path):
    with pytest.raises(InputError, match="unknown preset"):
        preset("huge")
    with pytest.raises(InputError, match="not found"):
        load_config("synth", tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="mapping"):
        load_config("synth", bad)
