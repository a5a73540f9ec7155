"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse

from ..settings import PRESETS, Config, load_config


def add_config_args(parser: argparse.ArgumentParser, default_preset: str = "synth") -> None:
    """--preset / --config / --set, understood by :func:`config_from_args`."""
    group = parser.add_argument_group("configuration")
    group.add_argument("--preset", default=default_preset, choices=sorted(PRESETS), help="named preset")
    group.add_argument("--config", metavar="YAML", help="YAML file overriding the preset")
    group.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="override one config value (repeatable), e.g. --set codec.num_codebooks=8",
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.preset, args.config, args.set)
