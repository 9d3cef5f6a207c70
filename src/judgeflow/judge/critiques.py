"""A programmatic critique teacher for verifiable math items (`teacher.critiques: programmatic`).

A near-random model teacher makes SFT a lottery: its critique carries no evidence for its verdict. For math
items the evidence can be written from the known truth instead, in a form that makes the verdict a local
step the judge can learn (the CPU probes in docs/learning.md):

  ref_verification       copy the response's final answer and the reference, say whether they match
  step_level             recompute each step's arithmetic in order, stop at the first wrong one
  ref_free_verification  recompute the response's arithmetic; right everywhere -> yes, first wrong -> no
  single_rating          the same check; 5 when every line is right, 1 at the first wrong one
  pairwise               the same check for Response A, then for Response B; the one without an error wins

Each critique ends with "Verdict: [[x]]" (the same text the verdict cue completes), and it is written only
when what it shows decides the gold label: a wrong response whose arithmetic is all right (a wrong plan, not a
slip) gets no critique, because nothing the critique could show explains its verdict. Such items, and items of
other domains, get a reason instead and go to the DPO pool. The critique is a teacher, recorded as such
(model "programmatic"); DPO and rollout rounds then improve on the model's own judgments.
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

from judgeflow.core.records import read_jsonl
from judgeflow.data.questions import extract_answer, normalize_number
from judgeflow.judge.judging import PROMPT_FIELDS
from judgeflow.tasks.verdicts import format_verdict, parse_verdict, tag_spans

TEACHER = "programmatic"
# "a op b = c" with optional further operations on the left ("3 + 4 * 2 = 11"); numbers may carry commas
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_EQUATION = re.compile(rf"(?<![\w.])(-?{_NUM}(?:\s*[-+*/×÷x]\s*\(?-?{_NUM}\)?)+)\s*=\s*(-?{_NUM})(?![\w.])")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class NoCritique(ValueError):
    """The item cannot get a programmatic critique; the message is the reason (counted in the summary)."""


def _value(node) -> Fraction:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ZeroDivisionError
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(str(node.value))
    raise ValueError("not arithmetic")


def evaluate(expression: str) -> Fraction | None:
    """The exact value of a plain arithmetic expression (digits, + - * / × ÷ x, parentheses), else None."""
    cleaned = expression.replace(",", "").replace("×", "*").replace("÷", "/").replace("x", "*")
    try:
        return _value(ast.parse(cleaned, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else format(float(value), "g")


def equations(text: str) -> list[tuple[str, str, Fraction]]:
    """Every 'expression = result' in the text, in order: (expression as written, result as written, true value)."""
    found = []
    for match in _EQUATION.finditer(text):
        expression, stated = match.group(1).strip(), match.group(2)
        value = evaluate(expression)
        if value is not None:
            found.append((expression, stated, value))
    return found


def check_line(expression: str, stated: str, value: Fraction) -> tuple[str, bool]:
    """'16 + 12 = 28, right' or '28 + 14 = 43, wrong (28 + 14 = 42)'."""
    written = normalize_number(stated)
    right = written is not None and Fraction(written) == value
    text = (f"{expression} = {stated}, right" if right
            else f"{expression} = {stated}, wrong ({expression} = {_show(value)})")
    return text, right


def arithmetic_check(text: str) -> tuple[list[str], bool]:
    """Recompute every equation of a response, stopping at the first wrong one: (lines, all right)."""
    found = equations(text)
    if not found:
        raise NoCritique("no_checkable_arithmetic")
    lines = []
    for expression, stated, value in found:
        line, right = check_line(expression, stated, value)
        lines.append(line)
        if not right:
            return lines, False
    return lines, True


def _step_level(prompt: dict, item: dict) -> tuple[str, object]:
    lines, first_wrong = [], 0
    for number, step in enumerate(item["steps"], start=1):
        found = equations(step)
        if not found:
            raise NoCritique("no_checkable_arithmetic")
        checks = [check_line(*eq) for eq in found]
        wrong = [text for text, right in checks if not right]
        lines.append(f"Step {number}: {wrong[0] if wrong else checks[-1][0]}.")
        if wrong:
            first_wrong = number
            break
    lines.append(f"The first wrong step is step {first_wrong}." if first_wrong else "Every step is right.")
    return "\n".join(lines), first_wrong


def _verification(prompt: dict, item: dict) -> tuple[str, object]:
    lines, right = arithmetic_check(item["response"])
    verdict = "yes" if right else "no"
    if prompt["task_type"] == "single_rating":
        low, high = item["scale"]
        verdict = high if right else low
    summary = "The response has no arithmetic error." if right else "The response has an arithmetic error."
    return "Checking the arithmetic: " + "; ".join(lines) + ".\n" + summary, verdict


def _reference(prompt: dict, item: dict) -> tuple[str, object]:
    extracted, _ = extract_answer(item["response"])
    reference = normalize_number(str(item["reference"]))
    if reference is None:
        raise NoCritique("reference_not_a_number")
    same = extracted is not None and Fraction(extracted) == Fraction(reference)
    return (f"Final answer in the response: {extracted if extracted is not None else 'none'}. Reference answer: "
            f"{reference}. They {'match' if same else 'differ'}."), "yes" if same else "no"


def _pairwise(prompt: dict, item: dict) -> tuple[str, object]:
    chosen_first = prompt["label"] == "A"
    texts = {"A": item["chosen"] if chosen_first else item["rejected"],
             "B": item["rejected"] if chosen_first else item["chosen"]}
    results = {side: arithmetic_check(text) for side, text in texts.items()}
    if results["A"][1] == results["B"][1]:
        raise NoCritique("error_not_visible_in_arithmetic")
    lines = [f"Response {side}: " + "; ".join(results[side][0]) + "." for side in ("A", "B")]
    winner, loser = ("A", "B") if results["A"][1] else ("B", "A")
    lines.append(f"Response {winner} has no arithmetic error; Response {loser} has one.")
    return "\n".join(lines), winner


_WRITERS = {"step_level": _step_level, "ref_verification": _reference, "ref_free_verification": _verification,
            "single_rating": _verification, "pairwise": _pairwise}


def critique(prompt: dict, item: dict) -> str:
    """The critique and verdict for one rendered prompt of a math item; raises NoCritique with the reason when
    none can be written or when what it shows does not decide the gold label."""
    if item.get("domain", "math") != "math":
        raise NoCritique(f"no_programmatic_critique_for_{item.get('domain')}")
    if prompt["protocol"] != "critique":
        body = ""
        verdict = prompt["label"]
    else:
        writer = _WRITERS.get(prompt["task_type"])
        if writer is None:  # a task type without a programmatic writer: its items go to the DPO pool
            raise NoCritique(f"no_programmatic_critique_for_{prompt['task_type']}")
        body, verdict = writer(prompt, item)
    tag = format_verdict(prompt["task_type"], verdict)
    text = f"{body}\nVerdict: {tag}" if body else tag
    parsed = parse_verdict(text, prompt["task_type"], **prompt["verdict_args"])
    if parsed.error or parsed.verdict != prompt["label"]:
        raise NoCritique("critique_disagrees_with_label")
    return text


def teacher_judgments(items: list[dict], prompts: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """One programmatic judgment per prompt that can have one, in sample_judgments' record format; and per
    item without one (in some order), the reason."""
    by_id = {item["id"]: item for item in items}
    judgments, reasons = [], {}
    for prompt in prompts:
        try:
            text = critique(prompt, by_id[prompt["item_id"]])
        except NoCritique as why:
            reasons.setdefault(prompt["item_id"], str(why))
            continue
        judgments.append({**{key: prompt[key] for key in PROMPT_FIELDS if key in prompt}, "sample": 0, "model": TEACHER,
                          "text": text, "verdict": prompt["label"], "parse_error": None, "correct": True,
                          "num_tokens": 0, "cue_used": False})
    return judgments, reasons


# ------------------------------------------------------------------------------ auditing a judge's critiques

# the words that carry a decision in a programmatic critique, and the recomputed value after a wrong line
_DECISIONS = re.compile(r"\b(right|wrong|match|differ|no arithmetic error|an arithmetic error|has one|"
                        r"first wrong step is step \d+|every step is right)\b|\s*\([^)]*\)", re.IGNORECASE)
AUDIT_OUTCOMES = ("same_as_teacher", "decision_error", "copy_error", "missing_or_extra_line", "no_teacher_critique")


def decision_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens that decide in a critique: the decision words of the programmatic grammar
    (right / wrong, match / differ, which response has the error, the first wrong step, a recomputed value)
    and the verdict tag. `decision_weight` of an SFT-trained stage weights them in its loss; in a model-written
    critique the same words and the tag are weighted where they occur."""
    spans = [match.span() for match in _DECISIONS.finditer(text)] + tag_spans(text)
    return sorted(spans)


def _body(text: str) -> list[str]:
    """A critique's lines before its verdict line, stripped."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("Verdict:") and not line.startswith("[[")]


def audit(judgment: dict, item: dict) -> str:
    """Where a judge's critique first departs from the programmatic critique of the same prompt (whose verdict is
    the gold label): 'same_as_teacher'; 'decision_error' (the first differing line restates the same numbers
    but decides differently: match/differ, right/wrong, the first wrong step); 'copy_error' (it restates
    different numbers or words); 'missing_or_extra_line'; 'no_teacher_critique' (none can be written).
    Separates a judge that learnt to copy what it must check from one that learnt the check itself."""
    try:
        teacher = _body(critique(judgment, item))
    except NoCritique:
        return "no_teacher_critique"
    written = _body(judgment["text"])
    for mine, gold in zip(written, teacher):
        if mine == gold:
            continue
        same_numbers = _DECISIONS.sub("<d>", mine) == _DECISIONS.sub("<d>", gold)
        return "decision_error" if same_numbers else "copy_error"
    return "same_as_teacher" if len(written) == len(teacher) else "missing_or_extra_line"


def audit_table(items: list[dict], judgments: list[dict]) -> list[dict]:
    """Per task type: judgments, the share of each audit outcome, and accuracy within each outcome."""
    by_id = {item["id"]: item for item in items}
    rows: dict[str, dict] = {}
    for judgment in judgments:
        if judgment.get("protocol") != "critique" or judgment["item_id"] not in by_id:
            continue
        outcome = audit(judgment, by_id[judgment["item_id"]])
        row = rows.setdefault(judgment["task_type"], {"task_type": judgment["task_type"], "judgments": 0,
                                                      **{o: 0 for o in AUDIT_OUTCOMES},
                                                      **{f"{o}_correct": 0 for o in AUDIT_OUTCOMES}})
        row["judgments"] += 1
        row[outcome] += 1
        row[f"{outcome}_correct"] += bool(judgment["correct"])
    return [rows[task] for task in sorted(rows)]


def main(argv: list[str] | None = None) -> int:
    """`python -m judgeflow.judge.critiques ITEMS JUDGMENTS...`: the audit table of each judgments file, Markdown."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m judgeflow.judge.critiques ITEMS.jsonl JUDGMENTS.jsonl...", file=sys.stderr)
        return 2
    items = read_jsonl(args[0])
    print("| judgments file | task type | n | " + " | ".join(AUDIT_OUTCOMES) + " |")
    print("|---|---|---|" + "---|" * len(AUDIT_OUTCOMES))
    for path in args[1:]:
        for row in audit_table(items, read_jsonl(path)):
            cells = [f"{row[o]} ({row[f'{o}_correct']} right)" if row[o] else "0" for o in AUDIT_OUTCOMES]
            print(f"| {path} | {row['task_type']} | {row['judgments']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
