"""Importing fastnn leaves the process environment as it found it. The
network engine's threads wait at barriers of its own (csrc/fnn_team.h), so
it needs no process-wide OpenMP setting: libgomp is shared by soname with
every other user in the process (PyTorch among them), and a short
GOMP_SPINCOUNT set for fastnn's sake made a PyTorch b32 epoch 25% slower."""
import os
import subprocess
import sys

import fastnn

SCRIPT = ("import os, fastnn; from fastnn._core import _openmp; "
          "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))")


def test_import_sets_no_openmp_environment():
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    src = os.path.dirname(os.path.dirname(fastnn.__file__))
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "None None"
