"""What int8 quantization does to a float32 signature model: latency and held-out accuracy, side by side.

``biometrix export --int8`` ships such a copy (``signature-v6-int8``, the app's signature model, is
``signature-v6`` so quantized); this bench quantizes a float32 model's file the same way
(``biometrix.training.quantize``: static QDQ, 7-bit int8 weights per channel, uint8 activations, calibrated on
every 4th sample of the model's first 10 CEDAR and 5 SVC2004 training subjects, as the export) and measures both
in one run: batch-1 latency through the app's encoder; the cosine distance between the two embeddings of the
same held-out samples (against the model's default threshold, the scale a decision is made on); the held-out
EERs of both under the protocol, with the card's aggregate; and, with the ``train`` extra, torch eager's
batch-1 latency on the same architecture and the speed-up of each file over it.

    python bench/research/int8_probe.py [--model signature-v6] [--threads 2] [--repeats 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from biometrix.core.types import Modality
from biometrix.evaluation.datasets import HELDOUT, default_data_root, iter_source
from biometrix.evaluation.report import evaluate_pipeline
from biometrix.preprocess.signature import preprocess_signature
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard, load_card_for, sha256_file
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pipelines import SignaturePipeline
from biometrix.training.quantize import calibration_images, calibration_subjects, embedding_drift, quantize_int8

FLOAT_MODEL = "signature-v6"


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def torch_eager_ms(card: ModelCard, x: np.ndarray, threads: int, repeats: int) -> float | None:
    """Batch-1 latency of torch eager on the card's architecture (untrained weights, as bench/encoder_latency.py
    times it), or None without the ``train`` extra."""
    try:
        import torch

        from biometrix.training.train import build_card_model
    except ImportError:
        return None
    torch.set_num_threads(threads)
    model = build_card_model(card.training.get("config", {})).eval()
    xt = torch.from_numpy(x)
    with torch.no_grad():
        return median_ms(lambda: model(xt), repeats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=FLOAT_MODEL, help=f"a float32 signature model (default {FLOAT_MODEL})")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--data", type=Path, default=default_data_root())
    args = ap.parse_args()
    folder = models_dir()
    card = load_card_for(folder, model_id=args.model, modality=Modality.SIGNATURE)
    if "quantization" in card.training:
        ap.error(f"{card.model_id} is already int8: give a float32 model, e.g. --model {FLOAT_MODEL}")
    c, h, w = card.input_shape
    ort.set_default_logger_severity(3)
    with tempfile.TemporaryDirectory() as tmp:
        int8 = Path(tmp) / f"{card.model_id}-int8.onnx"
        subjects = calibration_subjects(card.training["train_subjects"], card.training["svc2004_train_users"])
        batches, _ = calibration_images(args.data, subjects, height=h, width=w)
        quantize_int8(card.onnx_path(folder), int8, batches)
        raw = json.loads(card.to_json())
        raw.update(model_id=f"{card.model_id}-int8", onnx_file=int8.name, sha256=sha256_file(int8))
        int8_card = ModelCard.from_dict(raw)
        encoders = {"float32 (the file)": OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False,
                                                     intra_op_threads=args.threads),
                    "int8 (QDQ, 7-bit w)": OnnxEncoder(int8_card, int8, prefer_gpu=False,
                                                      intra_op_threads=args.threads)}
        x = batches[0]
        print(f"# {card.model_id}: {len(batches)} calibration images (every 4th of CEDAR {subjects['cedar']}, "
              f"SVC2004 {subjects['svc2004']}); "
              f"{args.threads} threads; batch-1 median of {args.repeats} runs; held-out protocol, "
              f"aggregate {card.aggregate}, default threshold {card.default_threshold().value:.6g}")
        print(f"{'model':20s} {'batch-1 ms':>10s} {'source':>8s} {'skilled EER':>12s} {'random EER':>11s}")
        latency = {}
        for name, enc in encoders.items():
            ms = latency[name] = median_ms(lambda enc=enc: enc.embed(x), args.repeats)
            pipe = SignaturePipeline(enc)
            for source in ("cedar", "svc2004"):
                rep, _ = evaluate_pipeline(pipe.embed, card.embedding_dim, model_id=enc.model_id, source=source,
                                           root=args.data, subjects=HELDOUT[source], aggregate=card.aggregate,
                                           progress=False)
                s = rep.summary
                print(f"{name:20s} {ms:10.2f} {source:>8s} {100 * s['skilled_eer']:11.2f}% "
                      f"{100 * s['random_eer']:10.2f}%  ({s['n_genuine']}/{s['n_skilled']}/{s['n_random']})")
        eager = torch_eager_ms(card, x, args.threads, args.repeats)
        if eager is not None:
            print(f"torch eager (float32, the same architecture) {eager:.2f} ms at batch 1: "
                  + ", ".join(f"{name} {eager / t:.2f}x faster" for name, t in latency.items()))
        probes = [preprocess_signature(img, height=h, width=w)[None, None].astype(np.float32)
                  for _, img in iter_source("cedar", args.data, HELDOUT["cedar"][:2])]
        drift = embedding_drift(card.onnx_path(folder), int8, probes)
        print(f"cosine distance between the float32 and int8 embeddings of {len(drift)} held-out CEDAR samples: "
              f"median {np.median(drift):.3g}, max {drift.max():.3g} (default threshold "
              f"{card.default_threshold().value:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
