"""retain_freed_memory: glibc's malloc keeps freed memory; training gives the same weights.

Each case runs in a fresh Python process, since the allocator's settings hold for a process's life.
"""

from __future__ import annotations

import ctypes
import json
import resource
import subprocess
import sys

import pytest
from lsst.meas.realbogus.cnn import retain_freed_memory

GLIBC = hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
needs_glibc = pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
# What _FAULTS allocates, writes and frees at each step.
BLOCK_BYTES = 8 * (12 << 20)
needs_mallinfo2 = pytest.mark.skipif(
    not (GLIBC and hasattr(ctypes.CDLL(None), "mallinfo2")), reason="mallinfo2 is glibc >= 2.33's"
)


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


_FAULTS = """
import ctypes, json, resource
import torch
from lsst.meas.realbogus.cnn import retain_freed_memory


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
# A known starting point that gives freed memory back at once: glibc's initial 128 kiB thresholds, held
# fixed (glibc's own default raises them as large blocks are freed, so whether it keeps a block depends on
# what else the heap holds, which differs between machines).
libc.mallopt(-3, 128 << 10)
libc.mallopt(-1, 128 << 10)
{apply}
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
held = []
for _ in range(40):
    # 8 blocks of 12 MiB allocated, written and freed together, as a step's activations are.
    xs = [torch.ones(3 << 20) for _ in range(8)]
    del xs
    held.append(libc.mallinfo2().fordblks)
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({{"faults": after - before, "held": min(held)}}))
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
@needs_mallinfo2
def test_freed_memory_is_kept_and_reused_not_faulted_in_again():
    returned = _run(_FAULTS.format(apply=""))
    retained = _run(_FAULTS.format(apply="assert retain_freed_memory() is True"))
    # Set to give memory back, malloc keeps none of the freed 96 MiB: each step maps it again.
    assert returned["held"] < BLOCK_BYTES
    # retain_freed_memory overrides that: after every step the freed blocks stay in the heap ...
    assert retained["held"] >= BLOCK_BYTES
    # ... and are faulted in about once, not once a step (transparent huge pages only lower the count).
    assert retained["faults"] < 2 * BLOCK_BYTES // resource.getpagesize()


@needs_glibc
def test_training_weights_do_not_depend_on_the_allocator():
    assert _run(_TRAIN.format(retain=False)) == _run(_TRAIN.format(retain=True))


def test_negative_settings_are_refused():
    with pytest.raises(ValueError, match="trim_threshold"):
        retain_freed_memory(trim_threshold=-1)


@needs_glibc
@needs_mallinfo2
@pytest.mark.parametrize(
    "module, config",
    [
        ("trainRealBogusTask", "TrainRealBogusConfig"),
        ("trainDesomTask", "TrainDesomConfig"),
        ("trainExposureQualityTask", "TrainExposureQualityConfig"),
    ],
)
def test_each_training_task_keeps_freed_memory_unless_told_not_to(module, config):
    apply = (
        f"import logging\nfrom lsst.meas.realbogus.{module} import {config}\nconfig = {config}()\n"
        "config.retainFreedMemory = {on}\nconfig.apply_retain_freed_memory(logging.getLogger())"
    )
    assert _run(_FAULTS.format(apply=apply.format(on=True)))["held"] >= BLOCK_BYTES
    assert _run(_FAULTS.format(apply=apply.format(on=False)))["held"] < BLOCK_BYTES
