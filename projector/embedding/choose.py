"""Which model a name means and what kind it is, found WITHOUT loading it (so a cached
embedding is found in milliseconds), and loading it by its kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from projector.embedding.clip import ClipModel, is_clip_folder, load_image_model
from projector.embedding.models import EmbeddingModelError, TextModel, folder_revision, load_text_model, model_folder

__all__ = ["EmbeddingModel", "ModelChoice", "choose_model", "load_model"]

EmbeddingModel = Union[TextModel, ClipModel]
ModelSpec = Union[str, "os.PathLike[str]", None, TextModel, ClipModel]


@dataclass(frozen=True)
class ModelChoice:
    """A model folder picked by name: ``kind`` is ``"clip"`` or ``"text"``, ``revision`` its content hash."""

    name: str
    folder: Path
    revision: str
    kind: str


def choose_model(model: str | os.PathLike | None, *, images: bool = False) -> ModelChoice:
    """The folder ``model`` names (None: the packaged text model; images need a CLIP folder)."""
    if model is None and images:
        raise EmbeddingModelError(
            "embedding images needs a CLIP model: pass --model PATH (model=PATH) naming a local Hugging Face CLIP folder; "
            "the default model embeds texts only"
        )
    name, folder = model_folder(model)
    kind = "clip" if is_clip_folder(folder) else "text"
    if images and kind != "clip":
        raise EmbeddingModelError(
            f"model {str(model)!r} embeds texts only; images need a Hugging Face CLIP folder (config.json with model_type 'clip')"
        )
    return ModelChoice(name, folder, folder_revision(folder), kind)


def load_model(model: Any = None, *, device: str = "auto", images: bool = False) -> EmbeddingModel:
    """The model ``model`` names, loaded by its kind: a CLIP folder as a :class:`ClipModel`,
    anything else as a sentence-transformers :class:`TextModel`. A model object passes through."""
    if isinstance(model, (TextModel, ClipModel)):
        if images and not isinstance(model, ClipModel):
            raise EmbeddingModelError(f"model {model.info.name!r} embeds texts only; images need a CLIP model")
        return model
    choice = choose_model(model, images=images)
    if choice.kind == "clip":
        return load_image_model(choice.folder, device=device)
    return load_text_model(model, device=device)  # by the name given: the default keeps its name
