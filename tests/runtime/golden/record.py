"""Re-record the golden values of the shipped models (what feeds each one and what it gives back).

    PYTHONPATH=$PWD python -m tests.runtime.golden.record [--force] [--out DIR] [MODEL_ID ...]

Writes ``<model_id>.json`` (the samples, their sha256, the input's shape and tolerance, the output) and
``<model_id>.npz`` (the inputs) into ``tests/runtime/golden/``. It refuses to overwrite a recorded model without
``--force``: re-record only when a change of a model's input or output is intended, and say why in the commit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime

from tests.runtime.golden.samples import (
    CHIP_ATOL,
    DATA,
    HERE,
    INPUT_ATOL,
    MODELS,
    OUTPUT_ATOL,
    computer,
    model_hash,
    npz_bytes,
    sha256,
)

COMMAND = "PYTHONPATH=$PWD python -m tests.runtime.golden.record --force"


def record(model_id: str, root: Path) -> tuple[dict[str, object], bytes]:
    """The JSON document and the npz bytes of one model's golden values."""
    compute = computer(model_id, root)
    samples, arrays = [], {}
    for sample in MODELS[model_id]:
        g = compute(sample)
        inputs = {}
        for name, a in g.inputs.items():
            arrays[f"{sample.key()}/{name}"] = a
            inputs[name] = {"shape": list(a.shape), "dtype": str(a.dtype),
                            "atol": CHIP_ATOL if a.dtype == np.uint8 else INPUT_ATOL,
                            "sha256": sha256(np.ascontiguousarray(a).tobytes())}
        samples.append({"name": sample.name, "archive": sample.archive, "entry": sample.entry,
                        "entry_sha256": sha256(sample.data(root)), "input": inputs, "output_kind": g.output_kind,
                        "output_atol": OUTPUT_ATOL, "output": [float(v) for v in g.output]})
    doc = {"model_id": model_id, "model_sha256": model_hash(model_id), "command": COMMAND,
           "recorded_with": {"numpy": np.__version__, "opencv": cv2.__version__,
                             "onnxruntime": onnxruntime.__version__},
           "samples": samples}
    return doc, npz_bytes(arrays)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", metavar="MODEL_ID", help=f"default: all ({', '.join(MODELS)})")
    ap.add_argument("--force", action="store_true", help="overwrite models already recorded")
    ap.add_argument("--out", type=Path, default=HERE, help="folder (default: tests/runtime/golden)")
    ap.add_argument("--data", type=Path, default=DATA, help="shared data folder (default: ../shared/data)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        print(f"record: unknown model {', '.join(unknown)}; known: {', '.join(MODELS)}", file=sys.stderr)
        return 2
    models = args.models or list(MODELS)
    there = [p for m in models for p in (args.out / f"{m}.json", args.out / f"{m}.npz") if p.exists()]
    if there and not args.force:
        print(f"record: {', '.join(str(p) for p in there)} already recorded; pass --force to overwrite",
              file=sys.stderr)
        return 2
    for model_id in models:
        doc, npz = record(model_id, args.data)
        (args.out / f"{model_id}.npz").write_bytes(npz)
        (args.out / f"{model_id}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"recorded {model_id}: {len(doc['samples'])} samples")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
