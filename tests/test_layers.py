"""The package's imports only go down its layers (``../shared/DESIGN.md``).

1. core: loaders, the dataset, neighbours, reductions, quality, cache, projections;
2. explore: what a map view needs that is not a widget (imports neither Panel nor Bokeh);
3. figures: the Bokeh models that the app and the reports both show;
4. front doors: the app, the report, the image export, the notebook, the CLI, ``import projector``.

A module may import from its own layer and the layers below. Among the front doors, the report,
the image export and the figures never import the app, and the app never imports the report.
Every import counts, also one inside a function, except the facade's: ``Dataset.save_html``,
``Dataset.save_image`` and the notebook display (as pandas' ``DataFrame.plot``) reach their front
door lazily, and those few imports are listed below with the method that makes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import projector

PACKAGE = Path(projector.__file__).parent
CORE, EXPLORE, FIGURES, DOORS = 1, 2, 3, 4
DOOR_PACKAGES = ("projector.app", "projector.report", "projector.image", "projector.notebook", "projector.cli", "projector.__main__")
WIDGET_LIBRARIES = ("panel", "bokeh", "param", "jupyter_bokeh", "ipywidgets")

# (importing module, imported module): the facade's lazy imports, each inside the named method
FACADE = {
    ("projector.dataset", "projector.report"): "Dataset.save_html",
    ("projector.dataset", "projector.image"): "Dataset.save_image",
    ("projector.dataset", "projector.notebook"): "Dataset._repr_mimebundle_",
    ("projector.projection", "projector.notebook"): "Projection._repr_mimebundle_",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module ``name`` imports, absolute, with the line; ``from pkg import mod`` names
    the submodule when there is one."""
    modules = _modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules else target, node.lineno))
    return found


def _door(name: str) -> str | None:
    for door in DOOR_PACKAGES:
        if name == door or name.startswith(door + "."):
            return door
    return "projector" if name == "projector" else None


def _layer(name: str) -> int:
    if name.startswith("projector.explore"):
        return EXPLORE
    if name.startswith("projector.figures"):
        return FIGURES
    return DOORS if _door(name) else CORE


def _owner(imported: str) -> str:
    """The module of the package that ``imported`` names (a package's ``__init__`` for a name in it)."""
    modules = _modules()
    while imported not in modules and "." in imported:
        imported = imported.rpartition(".")[0]
    return imported


def _problems() -> list[str]:
    problems = []
    for name, path in _modules().items():
        for imported, line in _imports(name, path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if imported.split(".")[0] in WIDGET_LIBRARIES and _layer(name) < FIGURES:
                problems.append(f"{where}: {name} (layer {_layer(name)}) imports {imported}, a widget library")
            if not imported.startswith("projector"):
                continue
            target = _owner(imported)
            if target == "projector" and name != "projector":
                continue  # ``import projector`` for a re-exported name: checked where it is defined
            if any(name == a and (target == b or target.startswith(b + ".")) for a, b in FACADE):
                continue
            if _layer(target) > _layer(name):
                problems.append(f"{where}: {name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})")
            elif _layer(name) == DOORS:
                door, other = _door(name), _door(target)
                if door in ("projector.report", "projector.image") and other == "projector.app":
                    problems.append(f"{where}: {name} imports the app ({target})")
                if door == "projector.app" and other in ("projector.report", "projector.image"):
                    problems.append(f"{where}: the app imports {target}")
    return problems


def test_imports_only_go_down_the_layers():
    problems = _problems()
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_facade_imports_are_made_where_the_facade_says():
    """Each allowed lazy import sits inside the method named for it, nowhere else."""
    for (module, target), method in FACADE.items():
        path = _modules()[module]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        cls, func = method.split(".")
        methods = [
            item for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls
            for item in node.body if isinstance(item, ast.FunctionDef) and item.name == func
        ]
        assert methods, f"{module} has no {method}"
        inside = {node.lineno for node in ast.walk(methods[0]) if isinstance(node, ast.ImportFrom | ast.Import)}
        for imported, line in _imports(module, path):
            if _owner(imported) == target or _owner(imported).startswith(target + "."):
                assert line in inside, f"{module}:{line} imports {target} outside {method}"


@pytest.mark.parametrize("bad", [
    ("projector/explore/_probe.py", "from projector.app.shell import AppShell\n", "layer 2) imports projector.app.shell"),
    ("projector/figures/_probe.py", "import projector.report\n", "layer 3) imports projector.report"),
    ("projector/report/_probe.py", "from projector.app import server\n", "imports the app"),
    ("projector/explore/_probe.py", "def f():\n    import panel\n", "a widget library"),
    ("projector/_probe.py", "from projector.explore import store\n", "layer 1) imports projector.explore.store"),
])
def test_an_upward_import_is_caught(bad):
    """The walk sees an upward import, also inside a function (a probe module, removed after)."""
    relative, code, expected = bad
    probe = PACKAGE.parent / relative
    probe.write_text(code, encoding="utf-8")
    try:
        assert any(expected in problem for problem in _problems()), _problems()
    finally:
        probe.unlink()


def test_the_explore_layer_loads_without_widget_libraries():
    """Importing every explore module loads neither Panel nor Bokeh (a fresh interpreter)."""
    import subprocess
    import sys

    names = [name for name in _modules() if _layer(name) == EXPLORE]
    code = "import sys\n" + "".join(f"import {name}\n" for name in names) + (
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'panel', 'bokeh', 'param'})\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(names) >= 8 and done.stdout.strip() == ""


def test_every_package_is_shipped():
    """pyproject.toml lists each package of projector/ (a missing one would be left out of the wheel)."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {_module_name(path.parent / "__init__.py") for path in PACKAGE.rglob("__init__.py")}
    assert found - listed == set() and "projector.loaders" in listed
