"""Placing new rows into an existing map: ``Projection.transform`` and ``project --into``.

The data is a noisy helix turned into 32 dimensions, so every row has well-defined neighbours
along the curve; one map per method is fitted once for the module (UMAP's first fit in a
process is the slow one).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import projector
from projector.cli import main
from projector.errors import ProjectorError, SchemaError, VectorError
from projector.neighbors import NeighborIndex
from projector.progress import Cancelled
from projector.projection import Projection
from projector.reduce._placement_settle import _rank_among, settle
from projector.reduce.placed_table import PLACED_COLUMN, placed_table
from projector.reduce.placement import _with_new_rows

N_FIT, N_NEW, D, K = 360, 40, 32, 10


def _helix(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 4 * np.pi, n))
    curve = np.column_stack([np.cos(t), np.sin(t), t / 3.0, np.zeros((n, D - 3))])
    rotation, _ = np.linalg.qr(np.random.default_rng(99).normal(size=(D, D)))
    return ((curve + rng.normal(scale=0.05, size=curve.shape)) @ rotation).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    everything = _helix(N_FIT + N_NEW, seed=0)
    held = np.random.default_rng(1).choice(len(everything), N_NEW, replace=False)
    kept = np.setdiff1d(np.arange(len(everything)), held)
    return everything[kept], everything[held]


@pytest.fixture(scope="module")
def fitted(data) -> projector.Dataset:
    return projector.Dataset.from_arrays(data[0])


@pytest.fixture(scope="module")
def maps(fitted) -> dict[str, Projection]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {method: fitted.project(method, cache=False, quality=False, metric="l2") if method != "pca"
                else fitted.project("pca", cache=False, quality=False) for method in ("pca", "umap", "tsne")}


def _overlap_with_original(fit: np.ndarray, new: np.ndarray, coords: np.ndarray, placed: np.ndarray) -> float:
    """Mean share of each new row's K nearest fitted rows in the original space that are also
    among its K nearest fitted rows in the map."""
    original = np.argsort(((new[:, None] - fit[None]) ** 2).sum(-1), axis=1)[:, :K]
    in_map = np.argsort(((placed[:, None] - coords[None]) ** 2).sum(-1), axis=1)[:, :K]
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(original, in_map)]))


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_placed_rows_land_among_their_original_neighbours(method, data, maps):
    fit, new = data
    projection = maps[method]
    placed = projection.transform(new)
    assert placed.shape == (N_NEW, 2) and placed.dtype == np.float32 and np.isfinite(placed).all()
    overlap = _overlap_with_original(fit, new, projection.coords, placed)
    assert overlap > 0.5, f"{method}: placed rows keep {overlap:.2f} of their neighbours; chance is {K / N_FIT:.2f}"


def test_settle_moves_a_row_beside_its_neighbours_and_keeps_a_well_placed_one():
    rng = np.random.default_rng(0)
    fixed = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(10, 0.1, (20, 2))]).astype(np.float32)
    placed = np.array([[5.0, 5.0], [0.0, 0.0]], dtype=np.float32)  # row 0 between the groups, row 1 in its group
    nearest_origin = np.argsort((fixed**2).sum(axis=1))[:5]  # row 1's neighbours: the map's nearest to it
    rows = np.array([list(range(20, 25)), nearest_origin])  # row 0's neighbours are in the group at 10
    settled = settle(fixed, placed, rows)
    assert np.linalg.norm(settled[0] - 10.0) < 0.5, f"row 0 stayed at {settled[0]}, away from its neighbours at (10, 10)"
    np.testing.assert_array_equal(settled[1], placed[1])


def test_settle_puts_a_row_by_its_nearest_few_not_only_inside_its_wider_neighbourhood():
    """Its 5 nearest sit at (0, 0) and its next 35 at (10, 10): at 40 neighbours every spot
    between or beside them agrees equally, so only the small scales say where the row belongs."""
    rng = np.random.default_rng(1)
    nearest = rng.normal(0, 0.1, (5, 2))
    wider = rng.normal(10, 0.5, (35, 2))
    unrelated = np.concatenate([rng.normal((30, 0), 0.5, (30, 2)), rng.normal((0, 30), 0.5, (30, 2))])
    fixed = np.concatenate([nearest, wider, unrelated]).astype(np.float32)
    rows = np.arange(40)[None, :]  # nearest first, as the index gives them
    settled = settle(fixed, np.array([[5.0, 5.0]], dtype=np.float32), rows)
    assert np.linalg.norm(settled[0]) < 0.5, f"the row settled at {settled[0]}, not by its 5 nearest at (0, 0)"


def test_settle_then_orders_a_rows_nearest_few_as_in_the_original_space():
    """Its 3 nearest lie on a line at x = 0, 1, 2 (nearest first); placed at x = 1.2 it has
    them all, in the wrong order; the fine step moves it toward the first."""
    far = np.random.default_rng(3).normal(50, 1, (40, 2))
    fixed = np.concatenate([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], far]).astype(np.float32)
    settled = settle(fixed, np.array([[1.2, 0.0]], dtype=np.float32), np.array([[0, 1, 2]]))
    order = np.argsort(((fixed - settled[0]) ** 2).sum(axis=1))[:3]
    assert order.tolist() == [0, 1, 2], f"settled at {settled[0]}, its nearest in the map are {order.tolist()}"


def test_rank_among_finds_each_id_in_its_own_row():
    rng = np.random.default_rng(2)
    rows = np.stack([rng.permutation(50)[:8] for _ in range(6)])
    found = rng.integers(0, 50, size=(6, 3, 8))
    ranks = _rank_among(rows, found)
    for i in range(6):
        for c in range(3):
            expected = [list(rows[i]).index(x) if x in rows[i] else 8 for x in found[i, c]]
            assert ranks[i, c].tolist() == expected


def test_new_rows_count_each_other_among_their_neighbours():
    fitted = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], dtype=np.float32)
    new = np.array([[5.0, 5.0], [5.1, 5.0]], dtype=np.float32)
    distances, rows = NeighborIndex(fitted, "l2", device="cpu").search(new, 2)
    joint = _with_new_rows(rows, distances, new, "l2", len(fitted))
    assert joint[:, 0].tolist() == [4, 3], f"each new row's nearest should be the other new row (3 and 4), got {joint}"


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_copy_of_a_fitted_row_lands_on_that_row(method, data, maps):
    fit, _ = data
    projection = maps[method]
    rows = [0, 17, 200]
    np.testing.assert_array_equal(projection.transform(fit[rows]), projection.coords[rows])


def test_pca_transform_is_the_fitted_projection(data, maps, fitted):
    fit, new = data
    projection = maps["pca"]
    np.testing.assert_allclose(projection.transform(fit), projection.coords, atol=1e-4)
    mean, components = projection.model["mean"], projection.model["components"]
    np.testing.assert_allclose(projection.transform(new), (new - mean) @ components.T, atol=1e-4)
    saved = Projection.from_saved(projector.Dataset.from_table(projection.to_table(fitted.table)))
    assert saved.model == {}  # a file holds no components: they are refitted from its rows
    np.testing.assert_allclose(saved.transform(new), projection.transform(new), atol=1e-4)


def test_identity_map_places_rows_as_they_are():
    small = projector.Dataset.from_arrays(np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    projection = small.project("auto", cache=False, quality=False)
    new = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(projection.transform(new), new)


def test_new_rows_from_a_dataset_or_a_table(data, maps):
    _, new = data
    projection = maps["umap"]
    expected = projection.transform(new)
    as_dataset = projector.Dataset.from_arrays(new)
    np.testing.assert_allclose(projection.transform(as_dataset), expected, atol=1e-6)
    np.testing.assert_allclose(projection.transform(as_dataset.table), expected, atol=1e-6)


def test_dimension_mismatch_names_both_dimensions(maps):
    for projection in maps.values():
        with pytest.raises(VectorError, match=r"D=7 .*fitted on D=32"):
            projection.transform(np.zeros((3, 7), dtype=np.float32))


def test_wrong_column_and_bad_rows_are_named(maps):
    projection = maps["tsne"]
    with pytest.raises(SchemaError, match=r"no column 'embedding'.*\['other'\]"):
        projection.transform(pa.table({"other": [1.0, 2.0]}))
    other = projector.Dataset.from_arrays(np.ones((5, D), np.float32), name="vec")
    with pytest.raises(SchemaError, match=r"no embedding column 'embedding'.*\['vec'\]"):
        projection.transform(other)
    rows = np.zeros((3, D), np.float32)
    rows[1, 4] = np.nan
    with pytest.raises(VectorError, match="new row 1 has NaN"):
        projection.transform(rows)
    with pytest.raises(VectorError, match="no new rows"):
        projection.transform(np.zeros((0, D), np.float32))


def test_pickled_projection_is_light_and_asks_for_its_data(data, maps, fitted):
    _, new = data
    projection = maps["umap"]
    restored = pickle.loads(pickle.dumps(projection))
    assert restored.fitted is None and projection.fitted is fitted
    assert len(pickle.dumps(projection)) < fitted.table.nbytes / 4
    with pytest.raises(ProjectorError, match="pass dataset="):
        restored.transform(new)
    np.testing.assert_allclose(restored.transform(new, dataset=fitted), projection.transform(new), atol=1e-5)
    with pytest.raises(ProjectorError, match="has 20 rows but the map has 360"):
        restored.transform(new, dataset=projector.Dataset.from_arrays(np.ones((20, D), np.float32) + np.arange(20)[:, None]))
    pca = pickle.loads(pickle.dumps(maps["pca"]))
    np.testing.assert_allclose(pca.transform(new), maps["pca"].transform(new), atol=1e-5)  # components kept


def test_progress_is_reported_and_can_cancel(data, maps):
    _, new = data
    seen = []
    maps["umap"].transform(new, progress=seen.append)
    assert any(event.stage == "umap placement" and event.done == event.total for event in seen)
    with pytest.raises(Cancelled):
        maps["tsne"].transform(new, progress=lambda event: event.stage == "tsne placement")


def test_saved_map_places_rows_like_the_live_one(data, maps, fitted):
    _, new = data
    projection = maps["umap"]
    saved = projector.Dataset.from_table(projection.to_table(fitted.table))
    again = Projection.from_saved(saved)
    assert again.method == "umap" and again.params == projection.params
    np.testing.assert_allclose(again.transform(new), projection.transform(new), atol=1e-5)
    with pytest.raises(ProjectorError, match="no saved map"):
        Projection.from_saved(fitted)


def test_placed_table_marks_the_new_rows(data, maps, fitted):
    _, new = data
    saved = projector.Dataset.from_table(maps["tsne"].to_table(fitted.table), source="map.parquet")
    newcomers = projector.Dataset.from_arrays(new, {"note": [f"n{i}" for i in range(N_NEW)]})
    out = placed_table(saved, newcomers)
    assert out.num_rows == N_NEW and out.column(PLACED_COLUMN).to_pylist() == [True] * N_NEW
    assert {"tsne_x", "tsne_y", "note"} <= set(out.column_names)
    both = placed_table(saved, newcomers, combined=True)
    assert both.num_rows == N_FIT + N_NEW
    assert both.column(PLACED_COLUMN).to_pylist() == [False] * N_FIT + [True] * N_NEW
    np.testing.assert_array_equal(both.column("tsne_x").to_numpy()[:N_FIT], maps["tsne"].coords[:, 0])
    renamed = projector.Dataset.from_arrays(new, name="vec")
    with pytest.raises(SchemaError, match=r"no embedding column 'embedding'.*--vector"):
        placed_table(saved, renamed)
    np.testing.assert_allclose(
        np.column_stack([placed_table(saved, renamed, column="vec").column(f"tsne_{axis}").to_numpy() for axis in "xy"]),
        np.column_stack([out.column(f"tsne_{axis}").to_numpy() for axis in "xy"]), atol=1e-4,
    )


def _write(path, vectors: np.ndarray, **columns) -> None:
    flat = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])
    pq.write_table(pa.table({"embedding": flat, **columns}), path)


def test_cli_places_new_rows_into_an_earlier_output(tmp_path, data, capsys):
    fit, new = data
    _write(tmp_path / "fit.parquet", fit, label=[f"a{i % 4}" for i in range(N_FIT)])
    _write(tmp_path / "new.parquet", new, label=["new"] * N_NEW)
    existing, out = tmp_path / "map.parquet", tmp_path / "placed.parquet"
    common = ["--no-cache", "--quiet"]
    assert main(["project", str(tmp_path / "fit.parquet"), "-o", str(existing), "--method", "tsne", "--no-quality", *common]) == 0
    into = ["project", str(tmp_path / "new.parquet"), "--into", str(existing), "-o", str(out), "--quiet"]
    assert main(into) == 0
    assert f"{N_NEW} rows of" in capsys.readouterr().out
    table = pq.read_table(out)
    assert table.num_rows == N_NEW and table.column(PLACED_COLUMN).to_pylist() == [True] * N_NEW
    expected = Projection.from_saved(projector.load(existing)).transform(new)
    placed = np.column_stack([table.column("tsne_x").to_numpy(), table.column("tsne_y").to_numpy()])
    np.testing.assert_allclose(placed, expected, atol=1e-4)
    assert main(into) == 2 and "exists" in capsys.readouterr().err  # never overwritten unasked
    assert main([*into, "--overwrite", "--combined"]) == 0
    assert pq.read_table(out).num_rows == N_FIT + N_NEW
    assert main([*into, "--overwrite", "--method", "umap"]) == 2
    assert "--method with --into" in capsys.readouterr().err
    _write(tmp_path / "narrow.parquet", new[:, :8])
    assert main(["project", str(tmp_path / "narrow.parquet"), "--into", str(existing), "-o", str(tmp_path / "x.parquet"), "--quiet"]) == 2
    assert "D=8" in capsys.readouterr().err and not (tmp_path / "x.parquet").exists()


def test_placed_rows_join_the_cluster_of_their_nearest_mapped_rows(tmp_path, capsys):
    """A map written with --clusters: new rows drawn from one blob get that blob's cluster and
    its label; the combined file keeps the map's own clusters."""
    rng = np.random.default_rng(5)
    centres = rng.normal(0, 10, (3, D))
    blob = np.repeat(np.arange(3), 60)
    fit = (centres[blob] + rng.normal(0, 1, (180, D))).astype(np.float32)
    new = (centres[[2] * 10] + rng.normal(0, 1, (10, D))).astype(np.float32)
    _write(tmp_path / "fit.parquet", fit)
    _write(tmp_path / "new.parquet", new)
    existing, out = tmp_path / "map.parquet", tmp_path / "placed.parquet"
    assert main(["project", str(tmp_path / "fit.parquet"), "-o", str(existing), "--method", "pca", "--clusters", "--no-cache", "--quiet"]) == 0
    mapped = pq.read_table(existing)
    blob_cluster = np.bincount(mapped.column("cluster").to_numpy()[blob == 2]).argmax()
    assert main(["project", str(tmp_path / "new.parquet"), "--into", str(existing), "-o", str(out), "--combined", "--quiet"]) == 0
    table = pq.read_table(out)
    placed = np.asarray(table.column(PLACED_COLUMN).to_pylist())
    clusters = table.column("cluster").to_numpy()
    assert (clusters[placed] == blob_cluster).all(), f"placed rows got clusters {clusters[placed]}, their blob's is {blob_cluster}"
    assert clusters[~placed].tolist() == mapped.column("cluster").to_pylist()
    label = mapped.column("cluster_label").to_pylist()[int(np.flatnonzero(blob == 2)[0])]
    assert set(table.column("cluster_label").to_numpy(zero_copy_only=False)[placed].tolist()) == {label}


def test_clusters_by_neighbours_take_the_most_common_and_break_ties_by_the_nearer():
    from projector.clusters import Clusters, by_neighbours

    mapped = Clusters(np.array([0, 0, 1, 1, 2, -1, -1]), "leiden", {}, 0.0, names=("a", "b", "c"))
    rows = np.array([[2, 0, 1, 4], [4, 2, 0, 3], [5, 6, 0, 2]])  # 1,0,0,2 -> 0; 2,1,0,1 -> 1; -1,-1,0,1 -> -1
    joined = by_neighbours(mapped.labels, rows)
    assert joined.tolist() == [0, 1, -1] and mapped.label_of(joined) == ["a", "b", None]
