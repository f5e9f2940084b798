"""Timing helpers shared by the benchmark scripts of this directory (run as ``python bench/X.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: bool = False) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``, seconds.

    With ``warmup``, ``fn`` is first called once untimed (first-call costs: allocation, caches).
    """
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(threads: int | None = None, repeat: int = 20) -> float:
    """This machine's float32 matrix-multiply rate (2048x2048, warmed up), GFLOP/s.

    The best of torch's and onnxruntime's GEMM: the faster library sets the physical limit that a
    model's achieved rate is compared with (onnxruntime's is often the higher on these CPUs).
    ``threads`` sets onnxruntime's intra-op threads (default: its own choice); torch uses its
    current setting. Each is the fastest of ``repeat`` calls (about 0.1 s each): on a shared
    machine a short best-of catches a slow spell and reads the limit low.
    """
    import torch

    n = 2048
    flop = 2 * n**3
    a, b = torch.randn(n, n), torch.randn(n, n)
    rates = [flop / best_of(lambda: a @ b, repeat, warmup=True) / 1e9]
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return rates[0]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    # IR version 9 (ONNX 1.15): readable by every onnxruntime this package supports.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {"a": a.numpy(), "b": b.numpy()}
    rates.append(flop / best_of(lambda: session.run(None, feeds), repeat, warmup=True) / 1e9)
    return max(rates)
