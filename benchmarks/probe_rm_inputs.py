"""Which part of its input a verification reward model reads: the held-out reference-verification items rescored
by the trained RM with the reference changed, and the rewards' ROC AUC against the gold labels for each change.

    python benchmarks/probe_rm_inputs.py [--run results/cpu_learning_enhancement/main] [--max-length 1024]

If the RM compares the response's final answer with the reference (the check the task asks for), its AUC falls to
chance once the reference is gone, is another item's, or is set to the response's own final answer (every response
then "matches"). If it judges from the response alone (a slip's surface, length, step arithmetic), the AUC stays
where it was. Two input-only baselines are printed beside it: the response's length in characters, and whether
the response's final answer equals the reference (the rule the labels follow). No retraining; it reads the run's
items and `models/rm`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from judgeflow.core.records import read_jsonl
from judgeflow.evaluation.bootstrap import roc_auc
from judgeflow.training import score_conversations
from judgeflow.training.rl import rm_conversation


def final_answer(text: str) -> str:
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    return numbers[-1] if numbers else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="results/cpu_learning_enhancement/main")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = Path(args.run)
    items = [i for i in read_jsonl(run / "data" / "items.jsonl")
             if i["split"] == "benchmark" and i["task_type"] == "ref_verification"]
    positive = [i["label"] == "yes" for i in items]
    others = [i["reference"] for i in items]
    random.Random(args.seed).shuffle(others)
    conditions = {
        "as trained: question + reference + response": [rm_conversation(i) for i in items],
        "no reference line": [rm_conversation({**i, "task_type": "ref_free_verification"}) for i in items],
        "another item's reference (seeded shuffle)": [rm_conversation({**i, "reference": r})
                                                      for i, r in zip(items, others)],
        "reference := the response's own final answer": [
            rm_conversation({**i, "reference": final_answer(i["response"])}) for i in items],
    }
    print(f"{len(items)} held-out items ({sum(positive)} 'yes'), RM {run / 'models' / 'rm'}")
    rows = [("baseline: response length (characters)", roc_auc([len(i["response"]) for i in items], positive)),
            ("baseline: final answer == reference (the labels' rule)",
             roc_auc([float(final_answer(i["response"]) == str(i["reference"]).strip()) for i in items], positive))]
    for name, conversations in conditions.items():
        rows.append((f"RM, {name}", roc_auc(score_conversations(run / "models" / "rm", conversations,
                                                                args.max_length), positive)))
    for name, auc in rows:
        print(f"{name:60} ROC AUC {auc:.3f}")
    print(json.dumps({name: round(auc, 4) for name, auc in rows}))


if __name__ == "__main__":
    main()
