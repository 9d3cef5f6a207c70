"""judgeflow: train LLM-as-a-judge models with a file-level Snakemake DAG.

The Snakemake rules stay declarative; every stage's logic lives in this package so tests import it directly.
"""

__version__ = "0.1.0"
