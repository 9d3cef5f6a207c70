"""`make lint`'s style checks in the test suite, so that CI runs them: ruff (pyproject.toml's settings) and
snakefmt on the Snakefile and the rule files. Snakemake's own linter runs in test_e2e.py."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_files_are_snakefmt_formatted():
    result = _run("snakefmt", "--check", "Snakefile", "workflow/rules")
    assert result.returncode == 0, result.stdout + result.stderr
