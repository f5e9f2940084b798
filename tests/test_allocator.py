"""retain_freed_memory: glibc's malloc keeps freed memory; training gives the same weights.

Each case runs in a fresh Python process, since the allocator's settings hold for a process's life.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys

import pytest
from lsst.meas.realbogus.cnn import retain_freed_memory

GLIBC = hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
needs_glibc = pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


_FAULTS = """
import json, resource, sys
import torch
from lsst.meas.realbogus.cnn import retain_freed_memory
applied = retain_freed_memory() if {retain} else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    # 8 blocks of 12 MB allocated, written and freed together, as a step's activations are.
    xs = [torch.ones(3 << 20) for _ in range(8)]
    del xs
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({{"applied": applied, "faults": after - before}}))
"""

_TRAIN = """
import hashlib, json
import numpy as np, torch
from lsst.meas.realbogus.cnn import ArrayBlocks, retain_freed_memory, train_classifier
torch.set_num_threads(1)
if {retain}:
    retain_freed_memory()
rng = np.random.default_rng(3)
x = rng.normal(size=(600, 3, 21, 21)).astype(np.float32)
y = rng.random(600) < 0.4
x[y, :, 9:12, 9:12] += 2.0
result = train_classifier(ArrayBlocks(x, y), epochs=2, batch_size=64, seed=5)
digest = hashlib.sha256()
for name, tensor in sorted(result.module.state_dict().items()):
    digest.update(name.encode())
    digest.update(tensor.detach().contiguous().numpy().tobytes())
print(json.dumps({{"digest": digest.hexdigest()}}))
"""


@needs_glibc
def test_freed_memory_is_reused_not_faulted_in_again():
    default = _run(_FAULTS.format(retain=False))
    retained = _run(_FAULTS.format(retain=True))
    assert retained["applied"] is True
    # Without it, glibc gives the freed 96 MB back to the kernel (trimming the heap's top) every
    # time, and its ~23,000 pages fault in again.
    assert default["faults"] > 40 * 20000
    assert retained["faults"] < default["faults"] / 10


@needs_glibc
def test_training_weights_do_not_depend_on_the_allocator():
    assert _run(_TRAIN.format(retain=False)) == _run(_TRAIN.format(retain=True))


def test_negative_settings_are_refused():
    with pytest.raises(ValueError, match="trim_threshold"):
        retain_freed_memory(trim_threshold=-1)
