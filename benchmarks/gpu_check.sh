#!/usr/bin/env bash
# projector's CUDA paths, checked and timed on one GPU in under 8 minutes.
#
#   bash benchmarks/gpu_check.sh                                   # on a CUDA machine
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_ROWS=20000 bash benchmarks/gpu_check.sh   # dry run, any machine
#
# 1. No nvidia-smi, or torch sees no GPU: says so and exits 0.
# 2. Installs requirements-dev.lock into a venv (torch==2.13.0 from PyPI is the CUDA build) and
#    projector (pip install --no-deps -e .). Offline, the wheels come from .whl/ (--no-index).
#    Where the lock cannot be installed (no network, or .whl/ lacks some of it), the venv uses
#    the packages of the python3 that made it (a CUDA machine's own torch) plus every wheel in
#    .whl/, and the table says so. For a python3 that holds torch, numpy, scipy, scikit-learn,
#    numba and pyarrow, .whl/ needs only (about 35 MB; add --platform tags if pip finds none):
#      pip download --no-deps --only-binary=:all: --python-version 3.12 \
#        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
#        faiss-cpu==1.15.1 openTSNE==1.0.4 umap-learn==0.5.12 pynndescent==0.7.0 \
#        platformdirs==4.14.8 'setuptools>=77'
# 3. Runs benchmarks/gpu_tests.py (PCA, UMAP, t-SNE, kNN graph on device='cuda') and the test
#    files of tests/ whose device='auto' paths then take the GPU.
# 4. Benchmarks on the GPU, with the CPU beside it where that fits the budget: PCA 1M x 768,
#    kNN graph 1M x 128 (GPU exact against CPU clustered), UMAP 1M x 128 (GPU only), t-SNE
#    30k x 128 (torch's t-SNE sums all N^2 pairs each iteration: capped, and the table says so).
#    UMAP and t-SNE maps are scored on all points (10-NN kept) and 2,000 of them (trustworthiness).
#    Embedding 2,000 real texts with the packaged MiniLM (bench_embed.py; its own table in the log).
# 5. Prints one table; writes it with the JSON under benchmarks/results/gpu_check/, and into
#    $OUT (gpu_check.txt, gpu_check.json, gpu_check.log) when $OUT is set.
#
# Every step runs under `timeout` within one budget for the whole script; a step that fails or
# runs out of time becomes a row of the table and the next step runs.
#
# Environment:
#   GPU_CHECK_DEVICE       cuda (default), or cpu for a dry run (no CUDA needed, no CPU-beside runs)
#   GPU_CHECK_ROWS         rows of the large datasets (default 1000000)
#   GPU_CHECK_TSNE_ROWS    t-SNE's cap (default 30000)
#   GPU_CHECK_PCA_DIMS     dimensions of the PCA data (default 768)
#   GPU_CHECK_BUDGET       seconds for the whole script (default 450)
#   GPU_CHECK_VENV         the venv (default /tmp/gpu-venv; reused while the lock is unchanged)
#   GPU_CHECK_BASE_PYTHON  the python that makes the venv (default python3)
#   GPU_CHECK_PYTHON       an interpreter to use as it is: nothing is installed, and this tree
#                          comes first on PYTHONPATH

set -euo pipefail
export PYTHONUNBUFFERED=1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STARTED=$SECONDS

DEVICE=${GPU_CHECK_DEVICE:-cuda}
ROWS=${GPU_CHECK_ROWS:-1000000}
TSNE_CAP=${GPU_CHECK_TSNE_ROWS:-30000}
PCA_DIMS=${GPU_CHECK_PCA_DIMS:-768}
BUDGET=${GPU_CHECK_BUDGET:-450}
VENV=${GPU_CHECK_VENV:-/tmp/gpu-venv}
BASE_PYTHON=${GPU_CHECK_BASE_PYTHON:-python3}
RESERVE=20      # seconds kept for the table at the end
MIN_STEP=30     # a step with less time left than this is skipped
TSNE_ROWS=$(( ROWS < TSNE_CAP ? ROWS : TSNE_CAP ))

if [[ $DEVICE != cuda && $DEVICE != cpu ]]; then
    echo "gpu_check: GPU_CHECK_DEVICE=$DEVICE must be 'cuda' or 'cpu'" >&2
    exit 2
fi

WORK=$(mktemp -d /tmp/gpu-check.XXXXXX)
TEE=
if [[ -n ${OUT:-} ]]; then
    mkdir -p "$OUT"
    exec > >(tee "$OUT/gpu_check.log") 2>&1
    TEE=$!
fi
finish() {
    rm -rf "$WORK"
    if [[ -n $TEE ]]; then  # let tee write the log's last lines before the script ends
        exec >&- 2>&-
        wait "$TEE" 2>/dev/null || true
    fi
}
trap finish EXIT

no_cuda() {
    echo "gpu_check: no CUDA found ($1); nothing to check on this machine"
    exit 0
}

within() {  # within SECONDS: that many, or fewer when the budget has less left (at least 1)
    local left=$(( BUDGET - (SECONDS - STARTED) - RESERVE ))
    (( left < $1 )) || left=$1
    echo $(( left < 1 ? 1 : left ))
}

# -- 1. a GPU? ---------------------------------------------------------------------------------
GPU="none (dry run on the CPU)"
if [[ $DEVICE == cuda ]]; then
    command -v nvidia-smi >/dev/null || no_cuda "nvidia-smi is missing"
    GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1) ||
        no_cuda "nvidia-smi finds no GPU"
    [[ -n $GPU ]] || no_cuda "nvidia-smi lists no GPU"
    echo "gpu_check: $GPU"
fi

# -- 2. install --------------------------------------------------------------------------------
RESULTS=$ROOT/benchmarks/results/gpu_check
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
STEPS=$RESULTS/steps.tsv
: >"$STEPS"

link_base_packages() {
    # the venv also sees the base python's packages (after its own): a CUDA machine's torch
    local venv_site
    venv_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$BASE_PYTHON" -c 'import site; print("\n".join(site.getsitepackages()))' >"$venv_site/gpu-check-base.pth"
}

install_projector() {
    # editable, as `make test` does; without a build backend to hand, a copy laid out like the wheel
    local log=$RESULTS/install-projector.log
    timeout "$(within 120)" "${PIP[@]}" install -q --no-deps "${FROM[@]}" -e . >"$log" 2>&1 && return 0
    timeout "$(within 120)" "${PIP[@]}" install -q --no-deps --no-build-isolation -e . >>"$log" 2>&1 && return 0
    echo "gpu_check: projector did not install editable (${log#"$ROOT"/}); using a copy of this tree"
    local venv_site
    venv_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
    rm -rf "$VENV/projector-src" && mkdir -p "$VENV/projector-src" &&
        cp -r projector "$VENV/projector-src/projector" &&
        cp -r loaders "$VENV/projector-src/projector/loaders" &&
        echo "$VENV/projector-src" >"$venv_site/projector-src.pth"
}

# Called as `install || ...`, where bash ignores set -e: every failure returns by hand.
install() {
    local stamp=$VENV/.gpu-check-installed want where="the package index" began=$SECONDS
    want=$(cat requirements-dev.lock pyproject.toml | sha256sum | cut -c1-16)
    if [[ -f $stamp && $(head -1 "$stamp") == "$want" ]]; then
        INSTALL=$(tail -1 "$stamp")
        echo "gpu_check: reusing $VENV ($INSTALL)"
        return 0
    fi
    FROM=(--retries 1 --timeout 20)
    if [[ -d .whl ]]; then
        where=".whl/"
        FROM=(--no-index --find-links "$ROOT/.whl")
    fi
    echo "gpu_check: installing requirements-dev.lock from $where into $VENV"
    PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
    if ! "$BASE_PYTHON" -m venv --clear "$VENV"; then
        # a python without ensurepip: its own pip installs into the venv
        "$BASE_PYTHON" -m venv --clear --without-pip "$VENV" || return 1
        PIP=("$BASE_PYTHON" -m pip --python "$VENV/bin/python" --disable-pip-version-check --no-input)
    fi
    if timeout "$(within 300)" "${PIP[@]}" install -q "${FROM[@]}" -r requirements-dev.lock; then
        INSTALL="requirements-dev.lock from $where"
    else
        echo "gpu_check: requirements-dev.lock did not install from $where;" \
            "using $BASE_PYTHON's own packages$([[ -d .whl ]] && echo " and every wheel in .whl/")"
        link_base_packages || return 1
        if [[ -d .whl ]]; then
            timeout "$(within 120)" "${PIP[@]}" install -q --no-index --no-deps "$ROOT"/.whl/*.whl || return 1
        fi
        INSTALL="$BASE_PYTHON's packages$([[ -d .whl ]] && echo " + .whl/"), NOT the lock's versions"
    fi
    install_projector || return 1
    printf '%s\n%s\n' "$want" "$INSTALL" >"$stamp"
    echo "gpu_check: installed in $(( SECONDS - began )) s: $INSTALL"
}

if [[ -n ${GPU_CHECK_PYTHON:-} ]]; then
    PY=$GPU_CHECK_PYTHON
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
    INSTALL="$PY as it is, this tree on PYTHONPATH"
else
    PY=$VENV/bin/python
    install || { echo "gpu_check: the install failed; see above" >&2; exit 1; }
    if [[ -d $VENV/projector-src ]]; then
        # the copy holds projector.loaders; the tree's own projector/ (the current folder, first
        # on sys.path) does not, so Python is told not to put the current folder first
        export PYTHONSAFEPATH=1
    fi
fi

"$PY" - <<'EOF' || exit 1
import importlib, importlib.util, sys
missing = []
for name in ("numpy", "scipy", "sklearn", "pyarrow", "faiss", "openTSNE", "torch", "pytest", "platformdirs", "tqdm", "projector.loaders"):
    try:
        importlib.import_module(name)
    except Exception as error:  # an import can fail in many ways; each is reported
        missing.append(f"{name} ({type(error).__name__}: {error})")
missing += [f"{name} (not installed)" for name in ("umap", "pynndescent") if importlib.util.find_spec(name) is None]
if missing:
    sys.exit("gpu_check: cannot import " + "; ".join(missing) + "\n  put their wheels in .whl/ (see this script's header)")
EOF

if [[ $DEVICE == cuda ]]; then
    "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' ||
        no_cuda "torch $("$PY" -c 'import torch; print(torch.__version__, "built for CUDA", torch.version.cuda)') sees no GPU"
fi
TORCH=$("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')
echo "gpu_check: torch $TORCH; $(nproc) CPUs; $(( BUDGET - (SECONDS - STARTED) )) s of the budget left"

# -- steps ---------------------------------------------------------------------------------------
# step NAME CAP NOTE COMMAND...: runs COMMAND under `timeout` (CAP seconds, or what the budget
# has left), its output also in $RESULTS/NAME.log; one line of $STEPS says how it ended.
step() {
    local name=$1 cap=$2 note=$3
    shift 3
    local limit began=$SECONDS rc=0 status=ok
    limit=$(within "$cap")
    if (( limit < MIN_STEP && limit < cap )); then
        printf '%s\t%s\t%s\t%s\n' "$name" "skipped: out of time (budget $BUDGET s)" 0 "$note" >>"$STEPS"
        echo "== $name: skipped, out of time"
        return 0
    fi
    echo "== $name (at most $limit s)"
    { timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$RESULTS/$name.log"; } || rc=$?
    if (( rc == 124 || rc == 137 )); then
        status="timed out after $limit s"
    elif (( rc != 0 )); then
        status="failed (exit $rc)"
    fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(( SECONDS - began ))" "$note" >>"$STEPS"
}

DATA=$WORK/data
DEVICES=(--device "$DEVICE")
KNN_METHODS=faiss-exact,faiss-clustered
if [[ $DEVICE == cuda ]]; then
    DEVICES+=(--device cpu)
    KNN_METHODS=cuda-exact,faiss-clustered
fi
TSNE_NOTE=""
if (( TSNE_ROWS < ROWS )); then
    TSNE_NOTE="capped at $TSNE_ROWS of $ROWS rows: on CUDA (torch) every iteration sums all N^2 pairs"
fi
REDUCE=("$PY" benchmarks/bench_reduce.py --data-dir "$DATA")

# -- 3. tests ------------------------------------------------------------------------------------
# On a CPU dry run the t-SNE check is left out: torch's exact t-SNE takes minutes on a CPU.
GPU_TESTS_K=()
[[ $DEVICE == cpu ]] && GPU_TESTS_K=(-k "not tsne")
step gpu_tests 150 "benchmarks/gpu_tests.py" \
    env GPU_CHECK_DEVICE="$DEVICE" "$PY" -m pytest -q -p no:cacheprovider benchmarks/gpu_tests.py "${GPU_TESTS_K[@]}"
if [[ $DEVICE == cuda ]]; then
    # the CPU-only FFT t-SNE and umap-learn tests (half the time) are left out
    step suite_tests 120 "tests/ whose device='auto' paths take the GPU" \
        "$PY" -m pytest -q -p no:cacheprovider tests/test_reduce.py tests/test_neighbors.py tests/test_quality.py \
        tests/test_cache.py -k "not fft and not umap_learn_backend"
fi

# -- 4. benchmarks -------------------------------------------------------------------------------
step pca 120 "not scored: the same exact PCA on every device (gpu_tests checks they agree)" \
    "${REDUCE[@]}" --data "blobs-${ROWS}x${PCA_DIMS}" --runner "projector pca" "${DEVICES[@]}" --score-max 0 \
    --json "$RESULTS/pca.json"
step knn 120 "kNN kept = recall of the exact graph" \
    "$PY" benchmarks/bench_neighbors.py --sizes "${ROWS}x128" --methods "$KNN_METHODS" --out "$RESULTS/knn.json"
UMAP_NOTE=""
[[ $DEVICE == cuda ]] && UMAP_NOTE="no CPU run beside: minutes at this size"
step umap 150 "$UMAP_NOTE" \
    "${REDUCE[@]}" --data "blobs-${ROWS}x128" --runner "projector umap" --device "$DEVICE" --score-max "$ROWS" \
    --json "$RESULTS/umap.json"
step tsne 150 "$TSNE_NOTE" "${REDUCE[@]}" --data "blobs-${TSNE_ROWS}x128" --runner "projector tsne" "${DEVICES[@]}" \
    --score-max "$ROWS" --json "$RESULTS/tsne.json"

step embed 90 "real-text docstrings, MiniLM; sentence-transformers encode beside projector's embed_table" \
    "$PY" benchmarks/bench_embed.py --rows 2000 --batch-size 128 --repeat 1 --device "$DEVICE" --out "$RESULTS/embed.json"

# -- 5. the table --------------------------------------------------------------------------------
export GPU_CHECK_DEVICE=$DEVICE GPU_CHECK_RESULTS=$RESULTS GPU_CHECK_GPU=$GPU GPU_CHECK_TORCH=$TORCH GPU_CHECK_INSTALL=$INSTALL
export GPU_CHECK_SECONDS=$(( SECONDS - STARTED )) GPU_CHECK_BUDGET=$BUDGET
"$PY" - <<'EOF'
import json, os, re
from pathlib import Path

results = Path(os.environ["GPU_CHECK_RESULTS"])
rows = []  # (method, size, device, seconds, trust, kept, note)


def number(value, spec):
    return "-" if value is None else format(value, spec)


def tests(name, note, status):
    log = (results / f"{name}.log").read_text() if (results / f"{name}.log").exists() else ""
    counts = [line for line in log.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    failed = [line.split()[1].split("::")[-1] for line in log.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    summary = re.sub(r" in [\d.]+s.*", "", counts[-1].strip("= ")) if counts else status
    return summary + (f"; failed: {', '.join(failed)}" if failed else "")


steps = [line.split("\t") for line in (results / "steps.tsv").read_text().splitlines()]
for name, status, seconds, note in steps:
    before = len(rows)
    if name.endswith("tests"):
        rows.append((f"tests: {note}", "-", os.environ["GPU_CHECK_DEVICE"], float(seconds) if seconds != "0" else None, None, None,
                     tests(name, note, status)))
        continue
    path = results / f"{name}.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    for row in found.get("rows", []):  # bench_reduce
        method = row["method"] + (f" -> {row['dims']}" if row["method"] == "pca" else "")
        if row["method"] == "tsne":  # backend="auto": torch on CUDA, the FFT gradients on a CPU
            method += " (torch)" if row["device"] == "cuda" else " (fft)"
        rows.append((method, f"{row['n']:,} x {row['d']}", row["device"], row.get("seconds"), row.get("trustworthiness"),
                     row.get("knn_preservation"), row.get("error", "")))
    for row in found.get("results", []):  # bench_neighbors
        rows.append((f"knn graph {row['method']}", f"{row['n']:,} x {row['d']}", row["device"], row["seconds"], None,
                     row["recall"], f"backend {row.get('backend', '?')}"))
    if note and len(rows) > before:
        method, size, device, secs, trust, kept, text = rows[before]
        rows[before] = (method, size, device, secs, trust, kept, "; ".join(t for t in (text, note) if t))
    if status != "ok":
        rows.append((name, "-", "-", float(seconds) if seconds != "0" else None, None, None, status))

header = f"{'method':<30}{'N x D':>18}  {'device':<7}{'seconds':>9}{'trust':>8}{'kNN kept':>10}  note"
lines = [
    f"projector gpu_check: GPU {os.environ['GPU_CHECK_GPU']}; torch {os.environ['GPU_CHECK_TORCH']}; {os.cpu_count()} CPUs",
    f"install: {os.environ['GPU_CHECK_INSTALL']}; "
    f"{os.environ['GPU_CHECK_SECONDS']} s used of the {os.environ['GPU_CHECK_BUDGET']} s budget before the table",
    "seconds: maps in a fresh process each, imports and CUDA start-up included; kNN graphs, the search alone",
    "trust: trustworthiness on 2,000 points; kNN kept: share of each point's 10 nearest neighbours kept in the map",
    "  (the data are 20 Gaussian blobs: within a blob neighbours are noise, so few are kept on any map)",
    "",
    header,
    "-" * len(header),
]
for method, size, device, secs, trust, kept, note in rows:
    lines.append(f"{method:<30}{size:>18}  {device:<7}{number(secs, '9.1f'):>9}{number(trust, '.3f'):>8}"
                 f"{number(kept, '.3f'):>10}  {note}".rstrip())
table = "\n".join(lines)
print("\n" + table)
(results / "gpu_check.txt").write_text(table + "\n")
combined = {"steps": [{"name": n, "status": st, "seconds": int(sec), "note": note} for n, st, sec, note in steps]}
for name in ("pca", "knn", "umap", "tsne"):
    if (results / f"{name}.json").exists():
        combined[name] = json.loads((results / f"{name}.json").read_text())
(results / "gpu_check.json").write_text(json.dumps(combined, indent=2) + "\n")
EOF
if [[ -n ${OUT:-} ]]; then
    cp "$RESULTS/gpu_check.txt" "$RESULTS/gpu_check.json" "$OUT/"
    echo "gpu_check: wrote $OUT/gpu_check.txt, gpu_check.json and gpu_check.log"
fi
echo "gpu_check: results in ${RESULTS#"$ROOT"/}/; done in $(( SECONDS - STARTED )) s"
