"""Encoder latency: onnxruntime against torch eager, same architecture and threads, batch 1 and 32.

The torch model is the shipped signature model's architecture (from its card's training config: one
encoder, or an ensemble of several); it is exported to ONNX in a temporary folder so both engines run
identical float32 weights. The shipped ONNX file (the app's model, or ``--model``) is timed as well, through
the app's encoder: where its card says int8, that is the file the app runs, and its speed-up over torch eager
is printed beside the float32 one. Prints median milliseconds per batch and both speed-ups per batch size.
Needs the ``train`` extra (torch).

    python bench/encoder_latency.py [--model ID] [--threads 2] [--repeats 50] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from biometrix.core.types import Modality
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.training.export import export_onnx
from biometrix.training.train import build_card_model


def median_ms(fn, x, repeats: int) -> float:
    for _ in range(3):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def cpu_description() -> str:
    """The CPU's model name and the vector extensions that decide these timings (the ratio moves with them)."""
    import platform

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return f"{name or platform.machine()}; {' '.join(wanted) or 'no AVX2'}"


def profile_shipped(onnx_path: Path, x: np.ndarray, threads: int, repeats: int) -> None:
    """Where onnxruntime spends the shipped file's batch-1 time (its profiler, by operator type), and the
    latency of running the ensemble's members side by side (ORT_PARALLEL) against one after the other."""
    import collections
    import json

    def session(**opts: object) -> ort.InferenceSession:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        for key, value in opts.items():
            setattr(so, key, value)
        return ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])

    with tempfile.TemporaryDirectory() as tmp:
        sess = session(intra_op_num_threads=threads, inter_op_num_threads=1, enable_profiling=True,
                       profile_file_prefix=str(Path(tmp) / "ort"))
        for _ in range(repeats):
            sess.run(None, {"input": x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"].get("op_name", "?")] += e["dur"]
    total = sum(by_op.values())
    print("# shipped file, batch 1, share of kernel time by operator: "
          + ", ".join(f"{op} {100 * us / total:.1f} %" for op, us in by_op.most_common(4)))
    for label, opts in (("members one after the other", dict(intra_op_num_threads=threads, inter_op_num_threads=1)),
                        ("members side by side (ORT_PARALLEL)",
                         dict(intra_op_num_threads=max(1, threads // 2), inter_op_num_threads=2,
                              execution_mode=ort.ExecutionMode.ORT_PARALLEL))):
        s = session(**opts)
        print(f"# {label}: {median_ms(lambda a, s=s: s.run(None, {'input': a}), x, repeats):.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="a signature model id (default: the app's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--profile", action="store_true",
                    help="also profile the shipped file at batch 1 and time its members run side by side")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = models_dir()
    card = load_card_for(folder, model_id=args.model, modality=Modality.SIGNATURE,
                         prefer=PREFERRED_MODELS[Modality.SIGNATURE])
    weights = card.training.get("weights", "float32").split(" ")[0]
    model = build_card_model(card.training.get("config", {})).eval()
    c, h, w = card.input_shape
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "same.onnx", input_shape=(c, h, w))
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # as runtime.OnnxEncoder
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        shipped = OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False, intra_op_threads=args.threads)
        print(f"# {card.model_id}: input {c}x{h}x{w}, {args.threads} threads, median of {args.repeats} runs; "
              f"providers {sess.get_providers()}")
        print(f"# cpu: {cpu_description()}")
        print(f"# shipped file {card.onnx_file}: weights {weights}")
        print(f"{'batch':>5s} {'torch eager ms':>15s} {'ort float32 ms':>15s} {'shipped onnx ms':>16s} "
              f"{'speed-up float32 (torch/ort)':>29s} {'speed-up shipped (torch/shipped)':>33s}")
        rng = np.random.default_rng(0)
        for n in (1, 32):
            x = (rng.random((n, c, h, w)) > 0.9).astype(np.float32)
            xt = torch.from_numpy(x)

            def run_torch(_: object, xt: torch.Tensor = xt) -> None:
                with torch.no_grad():
                    model(xt)

            t_torch = median_ms(run_torch, None, args.repeats)
            t_ort = median_ms(lambda a: sess.run(None, {"input": a}), x, args.repeats)
            t_ship = median_ms(shipped.embed, x, args.repeats)
            print(f"{n:5d} {t_torch:15.2f} {t_ort:15.2f} {t_ship:16.2f} {t_torch / t_ort:28.2f}x "
                  f"{t_torch / t_ship:32.2f}x")
            if args.profile and n == 1:
                profile_shipped(card.onnx_path(folder), x, args.threads, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
