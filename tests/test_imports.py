"""The judgeflow modules import each other without a cycle (issue 12): checked on the sources with `ast`, every
import counted (top level and inside functions, so that a cycle cannot hide in a function-local import), and by
importing each module in a fresh interpreter."""

import ast
import graphlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "judgeflow"

# The judgeflow imports that stay inside a function, and why: none may be there to dodge a cycle.
LAZY = {
    ("generation", "kvcache"): "import cost: kvcache imports torch and transformers (seconds); HFBackend only needs it",
}


def _modules() -> list[str]:
    return sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(judgeflow module imported, line, whether the import is inside a function) for every import statement."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    known = set(_modules())
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name.split(".")[1] for alias in child.names if alias.name.startswith("judgeflow.")]
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: from . import x, from .x import y
                    names = [child.module.split(".")[0]] if child.module else [a.name for a in child.names]
                elif child.module == "judgeflow":
                    names = [alias.name for alias in child.names]
                elif child.module and child.module.startswith("judgeflow."):
                    names = [child.module.split(".")[1]]
            found.extend((name, child.lineno, in_function) for name in names if name in known)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    return {module: {name for name, _, _ in _imports(module) if name != module} for module in _modules()}


def test_the_modules_import_each_other_without_a_cycle():
    graph = _graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        cycle = error.args[1][::-1]  # [a, b, ..., a], each importing the one after it
        where = []
        for importer, imported in zip(cycle, cycle[1:]):
            lines = [f"{line}{' (in a function)' if inner else ''}"
                     for name, line, inner in _imports(importer) if name == imported]
            where.append(f"src/judgeflow/{importer}.py imports {imported} (line {', '.join(lines)})")
        raise AssertionError("import cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(where)) from None
    assert sorted(order) == _modules()


def test_function_local_judgeflow_imports_are_only_the_listed_lazy_ones():
    inner = [(module, name, line) for module in _modules() for name, line, in_function in _imports(module)
             if in_function]
    unlisted = [f"src/judgeflow/{module}.py:{line} imports {name} inside a function"
                for module, name, line in inner if (module, name) not in LAZY]
    assert not unlisted, ("import these at top level, or list them in LAZY with the reason (never a cycle):\n  "
                          + "\n  ".join(unlisted))
    stale = set(LAZY) - {(module, name) for module, name, _ in inner}
    assert not stale, f"LAZY lists imports that are no longer function-local: {sorted(stale)}"


def test_every_module_imports_in_a_fresh_interpreter():
    """Each module alone in a new interpreter, dependencies first (the order the static graph gives), so a module
    that imports only when another one happens to be imported before it fails here."""
    order = ["__init__"] + list(graphlib.TopologicalSorter(_graph()).static_order())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                                      os.environ.get("PYTHONPATH")]))}
    failed = []
    for module in order:
        name = "judgeflow" if module == "__init__" else f"judgeflow.{module}"
        run = subprocess.run([sys.executable, "-c", f"import {name}; print({name}.__file__)"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
        if run.returncode:
            failed.append(f"{name}:\n{run.stderr[-2000:]}")
        else:  # the sources checked above, not another copy of judgeflow
            assert Path(run.stdout.strip()).resolve() == (PACKAGE / f"{module}.py").resolve(), run.stdout
    assert not failed, "modules that fail to import on their own:\n" + "\n".join(failed)
