"""PyTorch .pt and .safetensors files: tensors and dicts load; pickle payloads never run."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pyarrow as pa
import pytest
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

import projector
from projector import FormatError, MissingDependencyError, RowCountError, UnsafeInputError, VectorError


class Payload:
    """Pickles as a call to ``exec`` that creates ``marker``: code that must never run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("zip_format", [True, False])
def test_single_tensor_is_the_embedding(tmp_path, zip_format):
    matrix = torch.randn(12, 6)
    torch.save(matrix, tmp_path / "emb.pt", _use_new_zipfile_serialization=zip_format)
    ds = projector.load(tmp_path / "emb.pt")
    assert ds.roles.vectors == ("embedding",)
    np.testing.assert_array_equal(ds.vectors(), matrix.numpy())


def test_zip_pt_file_is_memory_mapped(tmp_path):
    matrix = torch.randn(20_000, 64)  # 5 MB
    torch.save({"embedding": matrix}, tmp_path / "big.pth")
    before = pa.total_allocated_bytes()
    ds = projector.load(tmp_path / "big.pth")
    assert pa.total_allocated_bytes() - before < matrix.numel() * 4 // 10
    np.testing.assert_array_equal(ds.vectors(), matrix.numpy())


def test_dict_of_tensors_and_lists(tmp_path):
    n = 8
    clip, siglip = torch.randn(n, 8), torch.randn(n, 4, dtype=torch.float16)
    torch.save(
        {
            "clip": clip,
            "siglip": siglip,
            "caption": [f"a photo of thing {i}" for i in range(n)],
            "label": ["cat", "dog"] * (n // 2),
            "score": torch.linspace(0, 1, n),
            "input_ids": torch.ones(n, 5, dtype=torch.int64),
            "epoch": 3,
            "centroids": torch.randn(2, 8),
        },
        tmp_path / "run.pt",
    )
    ds = projector.load(tmp_path / "run.pt")
    assert ds.roles.vectors == ("clip", "siglip")
    np.testing.assert_array_equal(ds.vectors("clip"), clip.numpy())
    np.testing.assert_array_equal(ds.vectors("siglip"), siglip.float().numpy())
    assert ds.roles.labels == ("label",) and ds.roles.texts == ("caption",) and ds.roles.numeric == ("score",)
    assert ds.table.column("label").to_pylist() == ["cat", "dog"] * (n // 2)
    for left_out in ("input_ids", "epoch", "centroids"):
        assert left_out not in ds.column_names
        assert any(f"'{left_out}'" in note for note in ds.notes)


def test_bfloat16_tensor_becomes_float32(tmp_path):
    matrix = torch.randn(6, 4).to(torch.bfloat16)
    torch.save({"emb": matrix, "id": list(range(6))}, tmp_path / "bf16.pt")
    ds = projector.load(tmp_path / "bf16.pt")
    assert ds.vectors().dtype == np.float32
    np.testing.assert_array_equal(ds.vectors(), matrix.float().numpy())
    assert ds.roles.id == "id"


@pytest.mark.parametrize("zip_format", [True, False])
def test_pickle_payload_is_refused_and_never_runs(tmp_path, zip_format):
    marker = tmp_path / "payload-ran"
    torch.save(
        {"embedding": torch.randn(4, 3), "extra": Payload(marker)},
        tmp_path / "model.pt",
        _use_new_zipfile_serialization=zip_format,
    )
    with pytest.raises(UnsafeInputError) as info:
        projector.load(tmp_path / "model.pt")
    assert not marker.exists()
    message = str(info.value)
    assert "model.pt: refused" in message and "Nothing in it was executed" in message
    assert "exec" in message  # names what it refused
    # the payload is real: an unsafe load would have run it
    torch.load(tmp_path / "model.pt", weights_only=False)
    assert marker.exists()


def test_bare_pickle_named_pt_is_refused(tmp_path):
    marker = tmp_path / "payload-ran"
    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump(Payload(marker), handle)
    with pytest.raises(UnsafeInputError, match="never|Nothing in it was executed"):
        projector.load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_tensor_that_is_not_2d_names_its_shape(tmp_path):
    torch.save(torch.zeros(5), tmp_path / "flat.pt")
    with pytest.raises(VectorError, match=r"flat\.pt: holds an array of shape \(5,\).*\(N, D\)"):
        projector.load(tmp_path / "flat.pt")
    torch.save([torch.zeros(3)] * 4, tmp_path / "list.pt")
    with pytest.raises(VectorError, match=r"list\.pt: holds a list; .*dict of named tensors"):
        projector.load(tmp_path / "list.pt")


def test_corrupt_pt_files_are_format_errors(tmp_path):
    torch.save({"embedding": torch.randn(50, 8)}, tmp_path / "whole.pt")
    data = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.pt: cannot be read as .*truncated or corrupt"):
        projector.load(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("not a tensor at all")
    with pytest.raises(FormatError, match=r"text\.pt.*neither a zip archive nor a pickle"):
        projector.load(tmp_path / "text.pt")


def test_pt_metadata_row_count_mismatch(tmp_path):
    torch.save(torch.randn(5, 3), tmp_path / "emb.pt")
    with pytest.raises(RowCountError, match=r"metadata= has 4 metadata rows but .*emb\.pt has 5 vectors"):
        projector.load(tmp_path / "emb.pt", metadata={"word": list("abcd")})


def test_missing_torch_says_how_to_install(tmp_path, monkeypatch):
    torch.save(torch.randn(5, 3), tmp_path / "emb.pt")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"emb\.pt.*pip install 'projector\[torch\]'"):
        projector.load(tmp_path / "emb.pt")


def test_safetensors_without_torch(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    clip, dino = rng.random((6, 8), dtype=np.float32), rng.random((6, 4))
    save_numpy(
        {"clip": clip, "dino": dino, "score": np.arange(6, dtype=np.int32), "bias": np.zeros(8, np.float32)},
        str(tmp_path / "emb.safetensors"),
    )
    monkeypatch.setitem(sys.modules, "torch", None)  # float tensors need no torch
    ds = projector.load(tmp_path / "emb.safetensors")
    assert ds.roles.vectors == ("clip", "dino")
    np.testing.assert_array_equal(ds.vectors("clip"), clip)
    np.testing.assert_allclose(ds.vectors("dino"), dino.astype(np.float32))
    assert ds.table.column("score").to_pylist() == list(range(6))
    assert "bias" not in ds.column_names and any("'bias'" in note and "8 rows" in note for note in ds.notes)


def test_safetensors_bfloat16(tmp_path, monkeypatch):
    matrix = torch.randn(5, 4).to(torch.bfloat16)
    save_torch({"emb": matrix}, str(tmp_path / "bf16.safetensors"))
    ds = projector.load(tmp_path / "bf16.safetensors")
    np.testing.assert_array_equal(ds.vectors(), matrix.float().numpy())
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"bf16\.safetensors.*'emb' is bfloat16.*projector\[torch\]"):
        projector.load(tmp_path / "bf16.safetensors")


def test_safetensors_metadata_file_and_mismatch(tmp_path):
    save_numpy({"emb": np.eye(4, dtype=np.float32)}, str(tmp_path / "emb.safetensors"))
    (tmp_path / "meta.jsonl").write_text("".join(f'{{"word": "w{i}"}}\n' for i in range(4)))
    ds = projector.load(tmp_path / "emb.safetensors", metadata=tmp_path / "meta.jsonl")
    assert ds.table.column("word").to_pylist() == ["w0", "w1", "w2", "w3"]
    (tmp_path / "short.jsonl").write_text('{"word": "w0"}\n')
    with pytest.raises(RowCountError, match=r"short\.jsonl has 1 metadata rows .*emb\.safetensors has 4"):
        projector.load(tmp_path / "emb.safetensors", metadata=tmp_path / "short.jsonl")


def test_corrupt_safetensors_is_a_format_error(tmp_path):
    save_numpy({"emb": np.ones((20, 8), np.float32)}, str(tmp_path / "whole.safetensors"))
    data = (tmp_path / "whole.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-16])
    with pytest.raises(FormatError, match=r"cut\.safetensors: cannot be read as safetensors"):
        projector.load(tmp_path / "cut.safetensors")
    (tmp_path / "text.safetensors").write_text("hello, not tensors")
    with pytest.raises(FormatError, match=r"text\.safetensors"):
        projector.load(tmp_path / "text.safetensors")
