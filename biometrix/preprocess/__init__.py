"""Pure ndarray-to-ndarray preprocessing steps for each modality."""
