"""Install packages into a virtual environment with uv, from the package sources pip is configured with.

    python tools/install.py VENV PIP-INSTALL-ARGS...

`make setup` calls this for each install step. uv resolves and installs the project's ~120 packages in seconds
where pip takes minutes (measured on a 2-core EPYC from local indexes: 11 s against 163 s). uv does not read
pip's configuration, so the indexes, find-links and constraint files that `pip config list` reports (pip.conf
files and PIP_* variables) are passed on as uv options, with pip's rule of taking the best match across all
indexes. Without uv in the environment, or when uv fails, the same arguments go to pip, so setup never depends
on uv.

uv writes no bytecode unless told (pip does by default), and a Python run with PYTHONDONTWRITEBYTECODE set (as on
the machines this project is built on) never writes it either: every job of the DAG then recompiled the sources of
torch, transformers, trl and peft on import, 8-12 s per job (measured: a sampling job's start 15.9 s -> 7.7 s, a
training job's imports 20.4 s -> 8.9 s). So uv is asked to compile at install (`--compile-bytecode`).
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

# pip option -> uv pip option; pip's list-valued options hold whitespace-separated entries
OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
           "constraint": "--constraint"}


def pip_settings(listing: str) -> dict[str, str]:
    """`pip config list` output (`scope.key='value'` lines) -> {key: value}; environment (`:env:`) entries win
    over files, as they do in pip."""
    settings, from_env = {}, {}
    for line in listing.splitlines():
        name, sep, value = line.partition("=")
        if not sep or "." not in name:
            continue
        scope, key = name.rsplit(".", 1)
        value = " ".join(shlex.split(value))
        (from_env if scope == ":env:" else settings)[key] = value
    return settings | from_env


def uv_options(settings: dict[str, str]) -> list[str]:
    """uv options reproducing pip's package sources."""
    options = []
    for key, flag in OPTIONS.items():
        for entry in settings.get(key, "").split():
            options += [flag, entry]
    if "extra-index-url" in settings:
        options += ["--index-strategy", "unsafe-best-match"]  # pip considers every index's versions
    return options


def main(argv: list[str]) -> int:
    venv, args = Path(argv[0]), argv[1:]
    python, uv = venv / "bin" / "python", venv / "bin" / "uv"
    if uv.exists():
        listing = subprocess.run([str(python), "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
        command = [str(uv), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python),
                   *uv_options(pip_settings(listing)), *args]
        if subprocess.run(command).returncode == 0:
            return 0
        print("install.py: uv failed (above); installing the same packages with pip", file=sys.stderr)
    return subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
