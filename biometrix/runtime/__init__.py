"""Inference only: model cards, execution providers, the ONNX encoder and per-modality pipelines."""
