"""The 1:N identification index: one model's decrypted templates in memory, searched exactly (FAISS or numpy) or
approximately (HNSW) and re-scored by the Matcher; built and kept current by the service, never written to disk."""

from biometrix.index.gallery import SEARCHES, GalleryIndex, IndexOptions
from biometrix.index.search import BACKENDS, faiss_or_none

__all__ = ["BACKENDS", "SEARCHES", "GalleryIndex", "IndexOptions", "faiss_or_none"]
