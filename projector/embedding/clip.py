"""CLIP-style models from a local folder: images and texts embedded into one space.

Only Hugging Face CLIP folders (``CLIPModel`` weights + processor + tokenizer, as written by
``save_pretrained``) are read; open_clip folders are not, because open_clip is not a
dependency: convert one with ``transformers`` first. Vectors are L2-normalised, as CLIP's own
similarity is the cosine, so an image and a text can be compared directly.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from projector.device import resolve_device
from projector.embedding.models import EmbeddingModelError, ModelInfo, folder_revision, model_folder, quiet_loading
from projector.errors import MissingDependencyError
from projector.progress import ProgressCallback, Reporter

__all__ = ["ClipModel", "is_clip_folder", "load_image_model"]

_EXTRA = "pip install 'projector[embed]'"


def is_clip_folder(folder: Path) -> bool:
    """True when ``folder`` holds a Hugging Face CLIP model (its config.json says so)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and str(config.get("model_type", "")).startswith("clip")


class ClipModel:
    """A CLIP model ready to embed images and texts into the same space (``info.kind == "clip"``)."""

    def __init__(self, model: Any, processor: Any, info: ModelInfo, device: str) -> None:
        self._model = model
        self._processor = processor
        self._device = device
        self.info = info

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None) -> np.ndarray:
        """Texts embedded as :meth:`encode_texts` does: the same call as a text model's."""
        return self.encode_texts(texts, batch_size=batch_size, progress=progress)

    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressCallback | None = None) -> np.ndarray:
        """(N, dim) float32 unit vectors of ``texts``; None embeds as "", long texts are cut."""
        texts = ["" if text is None else str(text) for text in texts]

        def features(batch: list[str]) -> Any:
            inputs = self._processor(
                text=batch, return_tensors="pt", padding=True, truncation=True, max_length=self.info.max_tokens,
            )
            return self._model.get_text_features(**inputs.to(self._device))

        return self._batches(texts, features, batch_size, "embedding texts", progress)

    def encode_images(self, images: Sequence[bytes], *, batch_size: int = 64, progress: ProgressCallback | None = None) -> np.ndarray:
        """(N, dim) float32 unit vectors of encoded image files (PNG, JPEG, ... bytes).

        Raises ``OSError``/``ValueError`` for bytes Pillow cannot read: callers that take data
        from users check the images first (:func:`projector.embedding.inputs.image_inputs`).
        """

        def features(batch: list[bytes]) -> Any:
            from PIL import Image

            pictures = []
            for data in batch:
                with Image.open(io.BytesIO(data)) as image:
                    pictures.append(image.convert("RGB"))
            inputs = self._processor(images=pictures, return_tensors="pt")
            return self._model.get_image_features(**inputs.to(self._device))

        return self._batches(list(images), features, batch_size, "embedding images", progress)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are longer than the model's input limit (cut when encoded)."""
        if not texts or not self.info.max_tokens:
            return 0
        ids = self._processor.tokenizer(["" if text is None else str(text) for text in texts], truncation=False, verbose=False)["input_ids"]
        return int(sum(len(row) > self.info.max_tokens for row in ids))

    def _batches(self, items: list, features: Any, batch_size: int, stage: str, progress: ProgressCallback | None) -> np.ndarray:
        import torch

        report = Reporter(progress)
        out = np.empty((len(items), self.info.dim), dtype=np.float32)
        report(stage, 0, len(items))
        with torch.inference_mode():
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                result = features(batch)
                vectors = result if isinstance(result, torch.Tensor) else result.pooler_output  # transformers 5 returns an output object
                vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
                out[start : start + len(batch)] = vectors.cpu().numpy()
                report(stage, start + len(batch), len(items))
        return out


def load_image_model(model: str | os.PathLike, *, device: str = "auto") -> ClipModel:
    """The Hugging Face CLIP model in folder ``model``, on ``device`` ("auto": CUDA when
    present). Never downloads: the folder must hold the weights, processor and tokenizer."""
    name, folder = model_folder(model)
    if not is_clip_folder(folder):
        raise EmbeddingModelError(
            f"model {str(model)!r}: images need a Hugging Face CLIP folder (config.json with model_type 'clip', "
            "written by CLIPModel.save_pretrained and CLIPProcessor.save_pretrained); open_clip folders are not supported"
        )
    try:
        from transformers import CLIPModel, CLIPProcessor
    except ImportError:
        raise MissingDependencyError(f"embedding images needs transformers and torch: {_EXTRA}") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no hub; never ask it
    target = resolve_device(device)
    try:
        with quiet_loading():
            loaded = CLIPModel.from_pretrained(str(folder), local_files_only=True).to(target).eval()
            processor = CLIPProcessor.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:  # a half-written folder, a missing tokenizer or processor
        raise EmbeddingModelError(f"could not load a CLIP model from {str(folder)!r}: {error}") from None
    config = loaded.config
    info = ModelInfo(
        name, str(folder), folder_revision(folder), int(config.projection_dim), True, "clip",
        int(config.text_config.max_position_embeddings),
    )
    return ClipModel(loaded, processor, info, target)
