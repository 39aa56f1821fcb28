"""`nba-assets --help` lists every command, and every option of every command says what it does."""

import argparse
import subprocess
import sys

from nba_assets.cli import build_parser


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_every_command_and_option_has_help():
    commands = subcommands(build_parser())
    described = {choice.dest: choice.help for choice in commands._choices_actions}
    missing = [name for name in commands.choices if not described.get(name)]
    for name, parser in commands.choices.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "nba_assets.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for name in subcommands(build_parser()).choices:
        assert name in out, name
