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
    ("generation.hf", "generation.kvcache"): "import cost: kvcache imports torch and transformers (seconds); HFBackend "
                                          "only needs it",
}


def _file(module: str) -> Path:
    """The source of a dotted module name under judgeflow ('core.config'; a package's name is its __init__)."""
    path = PACKAGE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _modules() -> list[str]:
    names = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts:
            names.append(".".join(parts))
    return sorted(names)


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(judgeflow module imported, line, whether the import is inside a function) for every import statement."""
    tree = ast.parse(_file(module).read_text(encoding="utf-8"))
    known = set(_modules())
    package = module if _file(module).name == "__init__.py" else module.rpartition(".")[0]

    def target(base: str, name: str) -> str:  # from base import name: a submodule, else base itself
        full = f"{base}.{name}" if base else name
        return full if full in known else base

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name.removeprefix("judgeflow.") for alias in child.names
                         if alias.name.startswith("judgeflow.")]
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: from . import x, from .x import y
                    base = ".".join(filter(None, [*package.split(".")[:len(package.split(".")) - child.level + 1],
                                                  child.module]))
                    names = [target(base, alias.name) for alias in child.names]
                elif child.module == "judgeflow" or (child.module or "").startswith("judgeflow."):
                    base = child.module.removeprefix("judgeflow").removeprefix(".")
                    names = [target(base, alias.name) for alias in child.names]
            found.extend((name, child.lineno, in_function) for name in names if name in known)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    found: list[tuple[str, int, bool]] = []
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
            where.append(f"{_file(importer).relative_to(REPO)} imports {imported} (line {', '.join(lines)})")
        raise AssertionError("import cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(where)) from None
    assert sorted(order) == _modules()


def test_function_local_judgeflow_imports_are_only_the_listed_lazy_ones():
    inner = [(module, name, line) for module in _modules() for name, line, in_function in _imports(module)
             if in_function]
    unlisted = [f"{_file(module).relative_to(REPO)}:{line} imports {name} inside a function"
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
            source = PACKAGE / "__init__.py" if module == "__init__" else _file(module)
            assert Path(run.stdout.strip()).resolve() == source.resolve(), run.stdout
    assert not failed, "modules that fail to import on their own:\n" + "\n".join(failed)
