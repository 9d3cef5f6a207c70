"""`python -m judgeflow.core.check_config FILE...`: check config files before a run (make runs it first)."""

from __future__ import annotations

import sys

from judgeflow.core.config import ConfigError
from judgeflow.core.config_checks import load_config, missing_inputs, with_default_config
from judgeflow.core.variants import build_variants


def main(argv: list[str] | None = None) -> int:
    """`python -m judgeflow.core.check_config FILE...`: merge and validate config files as snakemake --configfile does
    (config/config.yaml first when it is not given), with the ablation variants. Snakemake reads --configfile
    itself before the workflow starts and says only 'not valid JSON or YAML' on a syntax error; this names the
    file and line."""
    paths = with_default_config(sys.argv[1:] if argv is None else argv)
    try:
        variants = build_variants(load_config(*paths))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    missing = missing_inputs(variants)
    if missing:
        print("missing input files:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    print(f"valid: {' + '.join(map(str, paths))} ({len(variants)} variants)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
