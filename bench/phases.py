"""A bench phase in a child process of its own: its peak RSS is its own, not the parent's."""

from __future__ import annotations

import json
import subprocess
import sys


def run_phase(script: str, phase: str, *args: str) -> dict:
    """Run `script --phase PHASE ARGS...`; its last stdout line is the phase's JSON result."""
    proc = subprocess.run(
        [sys.executable, script, "--phase", phase, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
