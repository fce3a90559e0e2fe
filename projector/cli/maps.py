"""The commands that read a dataset and write what it shows: ``info``, ``project`` (and ``--into``), ``export``, ``search``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from projector.cli._common import load_options, _load
from projector.cli.embed import _embedded_input
from projector.errors import ProjectorError


def _info(args: argparse.Namespace) -> int:
    dataset = _load(args.path, load_options(args))
    info = dataset.info(check_media=not args.no_media_check)
    print(info.to_json() if args.json else info.to_text())
    return 0


def _project(args: argparse.Namespace) -> int:
    import time

    import pyarrow.parquet as pq

    from projector._io import write_atomically
    from projector.progress import tqdm_callback

    started = time.perf_counter()
    if Path(args.output).suffix.lower() != ".parquet":
        raise ProjectorError(f"-o {args.output}: project writes Parquet; name the output with a .parquet suffix")
    if isinstance(args.vector, list) and len(args.vector) > 1:
        raise ProjectorError("project takes one --vector column")
    if args.into is not None:
        return _place_into(args, started)
    if args.combined:
        raise ProjectorError("--combined goes with --into EXISTING.parquet; leave it out to compute a new map")
    dataset = _embedded_input(args, args.path, load_options(args))
    options = _method_options(args)
    column = options.pop("column", None)
    progress = None if args.quiet else tqdm_callback()
    projection = dataset.project(
        args.method, column=column, device=args.device, cache=not args.no_cache,
        quality=not args.no_quality, progress=progress, **options,
    )
    if args.clusters:
        projection = projection.with_clusters(dataset.clusters(projection, progress=progress))
    table = projection.to_table(dataset.table)
    write_atomically(args.output, lambda temp: pq.write_table(table, temp), overwrite=args.overwrite)
    print(_summary(projection, args.output, time.perf_counter() - started))
    return 0


def _place_into(args: argparse.Namespace, started: float) -> int:
    """``project NEW --into EXISTING``: NEW's rows placed into EXISTING's map (see
    :mod:`projector.reduce.placed_table`)."""
    import time

    import pyarrow.parquet as pq

    import projector
    from projector._io import write_atomically
    from projector.progress import tqdm_callback
    from projector.reduce.placed_table import describe, placed_table

    given = [flag for flag, value in (
        ("--method", args.method != "auto"), ("--dims", args.dims is not None), ("--param", bool(args.param)),
        ("--metric", args.metric is not None), ("--seed", args.seed is not None), ("--clusters", args.clusters),
    ) if value]
    if given:
        raise ProjectorError(
            f"{given[0]} with --into: placed rows take the map of {args.into} as it was made; leave {given[0]} out"
        )
    existing = projector.load(args.into)
    vector = args.vector[0] if isinstance(args.vector, list) else args.vector
    from projector.embedding import read_model_info
    from projector.embedding.record import read_embedding_record

    column = vector or existing.vector_columns[0]
    if args.model is None:  # texts of NEW are embedded by the model that made the map's vectors
        recorded = read_model_info(existing.table.schema, column)
        args.model = None if recorded is None else recorded.path if Path(recorded.path).is_dir() else recorded.name
    options = load_options(args)
    if options.get("text") is None and options.get("image") is None:  # ... from the column they were made from
        options["embed_as"] = read_embedding_record(existing.table.schema, column).get("input")
    new = _embedded_input(args, args.path, options)
    table = placed_table(existing, new, column=vector, combined=args.combined, progress=None if args.quiet else tqdm_callback())
    write_atomically(args.output, lambda temp: pq.write_table(table, temp), overwrite=args.overwrite)
    info = describe(table)
    print(
        f"wrote {args.output}: {info['rows']:,} rows of {args.path} placed into the {info['method']} map of {args.into}"
        f"{f' after its {len(existing):,} rows' if args.combined else ''}; placement {info['seconds']:.1f} s, "
        f"total {time.perf_counter() - started:.1f} s"
    )
    if info.get("exact_copies"):
        print(f"note: {info['exact_copies']:,} rows repeat a mapped row's vector exactly and sit on that row")
    if info.get("clusters"):
        print(f"clusters of the placed rows: {info['clusters']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    import time

    from projector.cache import format_bytes

    started = time.perf_counter()
    suffix = Path(args.output).suffix.lower()
    if suffix not in (".html", ".htm", ".png", ".svg"):
        raise ProjectorError(f"-o {args.output}: the suffix must be .html, .png or .svg")
    if Path(args.output).exists() and not args.overwrite:
        raise ProjectorError(f"{args.output} exists; pass --overwrite to replace it")
    if (args.x is None) != (args.y is None):
        raise ProjectorError("--x and --y go together: name both coordinate columns or neither")
    if not 1 <= args.k <= 200:
        raise ProjectorError(f"--k {args.k}: must be in 1..200")
    options = _method_options(args)
    if args.x is not None and (options or args.device != "auto" or args.no_cache):
        raise ProjectorError("--x/--y draw the given coordinates; --metric, --param, --seed, --device and --no-cache compute a map")
    if (args.overlays or args.contours_by) and args.x is not None:
        raise ProjectorError(f"{'--overlays need' if args.overlays else '--contours-by needs'} a computed map: leave out --x/--y")
    if args.overlays == "labels" and args.contours_by:
        raise ProjectorError("--contours-by draws contours: pass --overlays contours or all (or leave --overlays out), not labels")
    if args.mislabels and suffix not in (".html", ".htm"):
        raise ProjectorError(f"--mislabels adds a table to an HTML report; -o {args.output} is an image: write report.html")
    overlays = _overlays_spec(args.overlays, args.contours_by)
    dataset = _embedded_input(args, args.path, load_options(args))
    projection = args.method
    if args.x is None:
        projection = dataset.project(args.method, device=args.device, cache=not args.no_cache, **options)
    if suffix in (".html", ".htm"):
        from projector.report import save_html

        written = save_html(
            dataset, args.output, projection, color_by=args.color_by, title=args.title, k=args.k, x=args.x, y=args.y,
            overlays=overlays, mislabels=args.mislabels, overwrite=args.overwrite,
        )
    else:
        from projector.image import export_image

        if args.x is not None:
            from projector.report.document import map_entry

            _, entry = map_entry(dataset, x=args.x, y=args.y)
            from projector.projection import Projection

            projection = Projection(entry.coords, "identity", f"{args.x}, {args.y}", {})
        color = args.color_by[0] if args.color_by else None
        written = export_image(dataset, args.output, projection=projection, color_by=color, title=args.title, overlays=overlays, overwrite=args.overwrite)
    size = Path(written).stat().st_size
    print(f"wrote {written}: {format_bytes(size)} in {time.perf_counter() - started:.1f} s")
    return 0


def _search(args: argparse.Namespace) -> int:
    from projector.search_results import results_json, results_text

    dataset = _load(args.path, load_options(args))  # k < 1 is refused by the search, naming k
    table = dataset.search(args.query, args.k, column=args.column, model=args.model)
    print(results_json(dataset, table) if args.json else results_text(dataset, table))
    return 0


def _overlays_spec(kinds: str | None, contours_by: str | None) -> Any:
    """``--overlays`` and ``--contours-by`` as the one overlays spec every front door reads."""
    if contours_by:
        return {"labels": kinds == "all", "contours": contours_by}
    return True if kinds == "all" else kinds


def _method_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ProjectorError(f"--param {item!r}: expected NAME=VALUE, e.g. --param n_neighbors=30")
        options[name.strip().replace("-", "_")] = value.strip()
    for name in ("dims", "metric", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    return options


def _summary(projection, output: str, total: float) -> str:
    meta = projection.metadata()
    lines = [f"wrote {output}: {len(projection.coords):,} rows, columns {', '.join(projection.columns)}"]
    timing = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in meta.get("seconds", {}).items() if stage != "total")
    cached = " (from cache)" if meta.get("cached") else ""
    lines.append(f"{projection.method} on {meta.get('device', 'cpu')}{cached}: {timing or 'no stages'}; total {total:.1f} s")
    if projection.quality is not None:
        q = projection.quality
        of = f" {q.describe_axes([f'PC{i + 1}' for i in range(projection.coords.shape[1])])}" if q.axes else ""
        text = f"quality{of}: trustworthiness {q.trustworthiness:.3f}, {q.k}-NN preserved {q.knn_preservation:.1%}"
        if q.label_accuracy_map is not None:
            text += f", {q.k}-NN label accuracy {q.label_accuracy_original:.1%} original / {q.label_accuracy_map:.1%} map"
        lines.append(text)
    lines.extend(f"note: {note}" for note in projection.notes)
    return "\n".join(lines)
