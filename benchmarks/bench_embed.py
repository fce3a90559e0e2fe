"""Embedding throughput: projector's ``embed_table`` against sentence-transformers' ``encode``.

The texts are the real-text fixture's docstrings (``text`` column, 681 characters on average,
many past MiniLM's 256-token limit); the model is the packaged all-MiniLM-L6-v2, loaded once and
shared by both sides, on the CPU unless ``--device`` says otherwise. Each side runs
``--repeat`` times, interleaved (direct, projector, direct, ...), and the best time counts:
on a shared machine the best run is the one least disturbed. projector's time includes
everything ``embed_table`` does (reading the Arrow column, counting texts past the model's
limit, building the output column); the cache is off for these runs. Then the cached second
run: the same table through the on-disk cache, once to fill it and once to hit it (model not
loaded again: its revision is a hash of its files)::

    python benchmarks/bench_embed.py                       # 128 texts, batch 64, best of 2 (about 3 minutes)
    python benchmarks/bench_embed.py --rows 2000 --repeat 3 --device cuda

The default is small because these texts are long: on the 2-core development VM MiniLM embeds
about 4 of them per second (each is ~256 tokens, 11 GFLOP), so 128 texts take ~35 s a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_reduce import _real_text_path  # noqa: E402


def _texts(rows: int) -> list[str]:
    import pyarrow.parquet as pq

    path = _real_text_path()
    if not path.is_file():
        raise SystemExit(f"real-text: needs {path} (set PROJECTOR_REAL_TEXT to the parquet file or its folder)")
    texts = pq.read_table(path, columns=["text"]).column("text").to_pylist()
    return texts[:rows]


def _best(run, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_embed.json"))
    args = parser.parse_args()

    import os
    import warnings

    import pyarrow as pa

    from projector.cache import Cache
    from projector.embedding import embed_table, load_text_model, read_embedding_record

    warnings.filterwarnings("ignore", message=".*longer than the model's limit")  # said once below instead
    texts = _texts(args.rows)
    table = pa.table({"text": texts})
    model = load_text_model(device=args.device)
    st = model._model  # the SentenceTransformer itself: what a user would call directly

    def direct() -> None:
        st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)

    notes: list[str] = []

    def ours() -> None:
        out = embed_table(table, text="text", model=model, batch_size=args.batch_size, cache=False)
        notes[:] = read_embedding_record(out.schema, "embedding")["notes"]

    st.encode(texts[: args.batch_size], batch_size=args.batch_size, show_progress_bar=False)  # warm up: first calls allocate
    timings: dict[str, list[float]] = {"sentence-transformers encode": [], "projector embed_table": []}
    for _ in range(args.repeat):
        timings["sentence-transformers encode"] += _best(direct, 1)
        timings["projector embed_table"] += _best(ours, 1)

    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROJECTOR_CACHE_DIR"] = folder
        cache = Cache()
        first = _best(lambda: embed_table(table, text="text", model=model, batch_size=args.batch_size, cache=cache), 1)[0]
        hit = min(_best(lambda: embed_table(table, text="text", batch_size=args.batch_size, cache=cache), 3))

    best = {name: min(values) for name, values in timings.items()}
    ratio = best["projector embed_table"] / best["sentence-transformers encode"]
    rows = [
        {"run": name, "best_s": round(best[name], 3), "texts_per_s": round(args.rows / best[name], 1), "all_s": [round(t, 3) for t in values]}
        for name, values in timings.items()
    ]
    rows.append({"run": "projector embed_table, filling the cache", "best_s": round(first, 3), "texts_per_s": round(args.rows / first, 1)})
    rows.append({"run": "projector embed_table, cached second run", "best_s": round(hit, 3), "texts_per_s": round(args.rows / hit, 1)})
    print(f"{args.rows:,} real-text docstrings, all-MiniLM-L6-v2 on {args.device}, batch {args.batch_size}, best of {args.repeat}")
    print("| run | best s | texts/s |\n|---|---|---|")
    for row in rows:
        print(f"| {row['run']} | {row['best_s']:.2f} | {row['texts_per_s']:,.0f} |")
    print(f"projector / direct: {ratio:.3f}x (target <= 1.2x)")
    print(*(f"note: {note}" for note in notes), sep="\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"rows": args.rows, "batch_size": args.batch_size, "repeat": args.repeat, "device": args.device, "ratio": round(ratio, 3)}
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
