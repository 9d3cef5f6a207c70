"""Questions with verifiable answers: the offline arithmetic generator, answer grading, splits (dataset loaders:
judgeflow.data.loaders)."""

from __future__ import annotations

import random
import re
from fractions import Fraction

# ---------------------------------------------------------------------------------------------------------
# Answers


_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"
_MARKERS = [
    re.compile(r"####\s*(" + _NUMBER + ")"),
    re.compile(r"\\boxed\{\s*(" + _NUMBER + r")\s*\}"),
    re.compile(r"answer is[:\s]*(" + _NUMBER + ")", re.IGNORECASE),
]
_ANY_NUMBER = re.compile(_NUMBER)


def normalize_number(text: str) -> str | None:
    """'1,234.50' -> '1234.5', '$7' -> '7', '14.0' -> '14'; None when it is not a number."""
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None
    if value.denominator == 1:
        return str(value.numerator)
    return format(float(value), "g")


def extract_answer(text: str) -> tuple[str | None, str]:
    """Final answer of a free-text solution and how it was found.

    An explicit marker wins ('#### N', '\\boxed{N}', 'the answer is N'; the last occurrence), else the last
    number in the text, else None. Returns (normalized answer or None, method).
    """
    for pattern in _MARKERS:
        found = pattern.findall(text)
        if found:
            return normalize_number(found[-1]), "marker"
    numbers = _ANY_NUMBER.findall(text)
    if numbers:
        return normalize_number(numbers[-1]), "last_number"
    return None, "none"


_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
_PLAIN_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def boxed_answer(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}) in a LaTeX solution, nested braces included;
    '\\boxed 5' (no braces) gives the token after it. None when there is none or it is unbalanced."""
    for match in reversed(list(_BOXED.finditer(text))):
        position = match.end()
        while position < len(text) and text[position] == " ":
            position += 1
        if position < len(text) and text[position] == "{":
            depth, index = 0, position
            while index < len(text):
                char = text[index]
                if char == "\\":
                    index += 2  # an escaped character, \{ and \} included, does not nest
                    continue
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                    if depth == 0:
                        return text[position + 1:index].strip()
                index += 1
        elif position > match.end():
            token = re.match(r"[^\s$]+", text[position:])
            if token:
                return token.group(0)
    return None


def normalize_math_answer(answer: str) -> str:
    """A MATH-style final answer: outer $...$ and '\\!' removed, whitespace collapsed, and a plain number
    ('40,\\!000', '14.0') written canonically ('40000', '14'). Lists such as '1,2' stay as they are."""
    text = " ".join(answer.strip().strip("$").replace("\\!", "").split())
    if _PLAIN_NUMBER.fullmatch(text):
        return normalize_number(text) or text
    return text


def grade(response: str, truth: str) -> dict:
    """Grade a response against the exact answer: {'extracted', 'method', 'correct'}. A symbolic answer
    (MATH: '\\frac{5}{6}') is compared with the response's last \\boxed{} after normalisation."""
    if normalize_number(truth) is None:
        found = boxed_answer(response)
        correct = found is not None and normalize_math_answer(found) == normalize_math_answer(truth)
        return {"extracted": found, "method": "boxed" if found is not None else "none", "correct": correct}
    extracted, method = extract_answer(response)
    correct = extracted is not None and Fraction(extracted) == Fraction(truth)
    return {"extracted": extracted, "method": method, "correct": bool(correct)}


# ---------------------------------------------------------------------------------------------------------
# Offline multi-step arithmetic word problems with exact answers and step-by-step reference solutions

_NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena",
          "Mateo", "Nia", "Omar", "Priya"]
_ITEMS = ["apples", "marbles", "stickers", "books", "coins", "pencils", "cards", "shells", "stamps", "beads"]


def synthetic_arithmetic(source: str, num_questions: int, min_steps: int, max_steps: int, max_operand: int,
                         seed: int) -> list[dict]:
    """Generate word problems whose answer is computed exactly; the same seed gives the same problems."""
    rng = random.Random(f"{source}:{seed}")
    records = []
    for index in range(num_questions):
        name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
        total = rng.randint(2, max_operand)
        sentences = [f"{name} has {total} {item}."]
        steps = []
        for _ in range(rng.randint(min_steps, max_steps)):
            operation = rng.choice(["gain", "lose", "multiply"] if total <= max_operand else ["gain", "lose"])
            if operation == "lose" and total < 2:
                operation = "gain"
            if operation == "gain":
                amount = rng.randint(1, max_operand)
                sentences.append(rng.choice([f"Then {name} gets {amount} more {item}.",
                                             f"A friend gives {name} {amount} {item}."]))
                steps.append(f"{total} + {amount} = {total + amount}")
                total += amount
            elif operation == "lose":
                amount = rng.randint(1, total - 1)
                sentences.append(rng.choice([f"Then {name} gives away {amount} {item}.",
                                             f"{name} loses {amount} {item}."]))
                steps.append(f"{total} - {amount} = {total - amount}")
                total -= amount
            else:
                factor = rng.randint(2, 4)
                sentences.append(f"Then the number of {item} {name} has becomes {factor} times as large.")
                steps.append(f"{total} * {factor} = {total * factor}")
                total *= factor
        sentences.append(f"How many {item} does {name} have now?")
        solution = "\n".join(f"Step {i}: {step}" for i, step in enumerate(steps, start=1))
        records.append({
            "id": f"{source}-{index:06d}",
            "source": source,
            "question": " ".join(sentences),
            "answer": str(total),
            "solution": f"{solution}\nThe answer is {total}.",
        })
    return records


def assign_splits(records: list[dict], splits: dict, rounds: int, seed: int) -> list[dict]:
    """Shuffle with the seed and cut disjoint question splits: benchmark, seed, rollout (rounds x
    rollout_batch questions, later drawn into per-round batches by task ratio), rest 'unused'."""
    wanted = [("benchmark", splits["benchmark"]), ("seed", splits["seed"]),
              ("rollout", splits["rollout_batch"] * rounds)]
    needed = sum(size for _, size in wanted)
    if needed > len(records):
        raise ValueError(f"the splits need {needed} questions (data.splits, rollout.rounds) but the sources "
                         f"give {len(records)}: add questions or shrink the splits")
    shuffled = sorted(records, key=lambda r: r["id"])
    random.Random(seed).shuffle(shuffled)
    out, start = [], 0
    for split, size in wanted:
        out.extend({**record, "split": split} for record in shuffled[start:start + size])
        start += size
    out.extend({**record, "split": "unused"} for record in shuffled[start:])
    return out
