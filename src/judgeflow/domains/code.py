"""Code: small Python function tasks from 20 families with random parameters, graded by running the hidden unit
tests on the response's last ```python block in judgeflow.domains.sandbox (see judgeflow.domains)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

from judgeflow.domains import sandbox

# ---------------------------------------------------------------------------------------------------------
# Code: task families. Each family draws its parameters and returns the statement, the reference source
# and two input makers: fixed edge cases and a random case. Expected outputs come from running the
# reference source in-process (it is ours, not a candidate's), so reference and tests cannot drift apart.

_WORDS = ["apple", "river", "stone", "cloud", "tiger", "lamp", "orbit", "maple", "quartz", "ember", "fig",
          "harbor", "violet", "sky", "meadow", "pixel", "zebra", "north", "candle", "echo", "an", "of", "jump"]


def _int_list(rng: random.Random, low: int = -20, high: int = 20, max_len: int = 8) -> list[int]:
    return [rng.randint(low, high) for _ in range(rng.randint(1, max_len))]


def _sentence(rng: random.Random, max_words: int = 7) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, max_words)))


def _signed(value: int) -> str:
    return f"+ {value}" if value >= 0 else f"- {-value}"


def _scale_shift(rng):
    a, b = rng.randint(2, 9), rng.randint(-10, 10)
    return {
        "params": {"a": a, "b": b}, "signature": "xs: list[int]) -> list[int]",
        "description": f"returns a new list in which every element x of xs is replaced by {a} * x {_signed(b)}.",
        "source": f"def scale_shift(xs):\n    return [{a} * x + ({b}) for x in xs]\n",
        "edge": [[[]], [[0]]], "random": lambda r: [_int_list(r)],
    }


def _count_multiples(rng):
    k = rng.randint(2, 7)
    return {
        "params": {"k": k}, "signature": "xs: list[int]) -> int",
        "description": f"returns how many elements of xs are divisible by {k} (0 counts as divisible).",
        "source": f"def count_multiples(xs):\n    return sum(1 for x in xs if x % {k} == 0)\n",
        "edge": [[[]], [[0, k, -k]]], "random": lambda r: [_int_list(r, -30, 30, 10)],
    }


def _clamp_all(rng):
    low = rng.randint(-10, 0)
    high = low + rng.randint(3, 15)
    return {
        "params": {"low": low, "high": high}, "signature": "xs: list[int]) -> list[int]",
        "description": f"returns a new list in which every element of xs is clamped to the closed range "
                       f"[{low}, {high}] (values below {low} become {low}, values above {high} become {high}).",
        "source": f"def clamp_all(xs):\n    return [min(max(x, {low}), {high}) for x in xs]\n",
        "edge": [[[]], [[low - 1, high + 1, low, high]]], "random": lambda r: [_int_list(r, -25, 25)],
    }


def _caesar(rng):
    k = rng.randint(1, 25)
    return {
        "params": {"k": k}, "signature": "text: str) -> str",
        "description": f"shifts every lowercase ASCII letter of text {k} places forward in the alphabet, "
                       f"wrapping from 'z' to 'a', and leaves every other character unchanged.",
        "source": f"def caesar(text):\n    return ''.join(chr((ord(c) - 97 + {k}) % 26 + 97) if 'a' <= c <= 'z' else c"
                  f" for c in text)\n",
        "edge": [[""], ["xyz ABC!"]], "random": lambda r: [_sentence(r) + r.choice(["", ".", "!", " 42"])],
    }


def _digit_power_sum(rng):
    p = rng.randint(2, 4)
    return {
        "params": {"p": p}, "signature": "n: int) -> int",
        "description": f"returns the sum of the decimal digits of the non-negative integer n, each digit raised "
                       f"to the power {p}.",
        "source": f"def digit_power_sum(n):\n    return sum(int(d) ** {p} for d in str(n))\n",
        "edge": [[0], [9]], "random": lambda r: [r.randint(10, 99999)],
    }


def _sequence_term(rng):
    u, v, c = rng.randint(0, 5), rng.randint(1, 5), rng.randint(1, 3)
    return {
        "params": {"u": u, "v": v, "c": c}, "signature": "n: int) -> int",
        "description": f"returns a(n) for the sequence with a(0) = {u}, a(1) = {v} and "
                       f"a(n) = a(n-1) + {c} * a(n-2) for n >= 2 (n is a non-negative integer).",
        "source": f"def sequence_term(n):\n    a, b = {u}, {v}\n    for _ in range(n):\n        a, b = b, b + {c} * a\n"
                  f"    return a\n",
        "edge": [[0], [1]], "random": lambda r: [r.randint(2, 25)],
    }


def _chunk_sums(rng):
    k = rng.randint(2, 4)
    return {
        "params": {"k": k}, "signature": "xs: list[int]) -> list[int]",
        "description": f"splits xs into consecutive chunks of {k} elements (the last chunk may be shorter) and "
                       f"returns the list of the chunk sums; an empty list gives an empty list.",
        "source": f"def chunk_sums(xs):\n    return [sum(xs[i:i + {k}]) for i in range(0, len(xs), {k})]\n",
        "edge": [[[]], [[5]]], "random": lambda r: [_int_list(r, -9, 9, 11)],
    }


def _rotate_left(rng):
    k = rng.randint(1, 9)
    return {
        "params": {"k": k}, "signature": "xs: list[int]) -> list[int]",
        "description": f"returns xs rotated left by {k} positions (the first element moves to the end, {k} "
                       f"times; {k} may exceed the length); an empty list gives an empty list.",
        "source": f"def rotate_left(xs):\n    if not xs:\n        return []\n    k = {k} % len(xs)\n"
                  f"    return xs[k:] + xs[:k]\n",
        "edge": [[[]], [[1, 2]]], "random": lambda r: [_int_list(r, 0, 50)],
    }


def _long_words(rng):
    k = rng.randint(2, 5)
    return {
        "params": {"k": k}, "signature": "text: str) -> list[str]",
        "description": f"returns, in order, the words of text (split on whitespace) that have more than {k} "
                       f"characters.",
        "source": f"def long_words(text):\n    return [w for w in text.split() if len(w) > {k}]\n",
        "edge": [[""], ["  " + "a" * k + "  " + "b" * (k + 1) + " "]], "random": lambda r: [_sentence(r, 9)],
    }


def _compress_runs(rng):
    m = rng.randint(2, 4)
    return {
        "params": {"m": m}, "signature": "text: str) -> str",
        "description": f"replaces every run of {m} or more equal consecutive characters by the character "
                       f"followed by the run length (so 'a' repeated 5 times becomes 'a5') and keeps shorter "
                       f"runs unchanged.",
        "source": f"def compress_runs(text):\n    out, i = [], 0\n    while i < len(text):\n        j = i\n"
                  f"        while j < len(text) and text[j] == text[i]:\n            j += 1\n"
                  f"        run = j - i\n        out.append(text[i] + str(run) if run >= {m} else text[i] * run)\n"
                  f"        i = j\n    return ''.join(out)\n",
        "edge": [[""], ["x" * m + "y" * (m - 1)]],
        "random": lambda r: ["".join(r.choice("abc") * r.randint(1, 5) for _ in range(r.randint(1, 6)))],
    }


def _fizz_words(rng):
    p, q = rng.sample(range(2, 8), 2)
    w1, w2 = rng.sample(["Fizz", "Buzz", "Bang", "Pop", "Zap", "Boom"], 2)
    return {
        "params": {"p": p, "q": q, "w1": w1, "w2": w2}, "signature": "n: int) -> list[str]",
        "description": f"returns a list of strings for i = 1..n: '{w1}{w2}' if i is divisible by both {p} and "
                       f"{q}, '{w1}' if only by {p}, '{w2}' if only by {q}, otherwise str(i).",
        "source": f"def fizz_words(n):\n    out = []\n    for i in range(1, n + 1):\n"
                  f"        word = ('{w1}' if i % {p} == 0 else '') + ('{w2}' if i % {q} == 0 else '')\n"
                  f"        out.append(word or str(i))\n    return out\n",
        "edge": [[0], [p * q]], "random": lambda r: [r.randint(1, 30)],
    }


def _kth_largest_distinct(rng):
    k = rng.randint(1, 3)
    return {
        "params": {"k": k}, "signature": "xs: list[int]) -> int | None",
        "description": f"returns the {['', 'largest', '2nd largest', '3rd largest'][k]} distinct value in xs, "
                       f"or None when xs has fewer than {k} distinct values.",
        "source": f"def kth_largest_distinct(xs):\n    values = sorted(set(xs), reverse=True)\n"
                  f"    return values[{k - 1}] if len(values) >= {k} else None\n",
        "edge": [[[]], [[4] * (k + 1)]], "random": lambda r: [_int_list(r, -9, 9, 9)],
    }


_BRACKETS = ["()", "[]", "{}", "<>"]


def _is_balanced(rng):
    pairs = sorted(rng.sample(_BRACKETS, rng.randint(2, 3)), key=_BRACKETS.index)
    listed = ", ".join(f"'{p[0]}' with '{p[1]}'" for p in pairs)
    return {
        "params": {"pairs": pairs}, "signature": "text: str) -> bool",
        "description": f"returns True when the brackets in text are balanced and properly nested, for the "
                       f"bracket pairs {listed}; every other character is ignored.",
        "source": f"def is_balanced(text):\n    pairs = { {p[1]: p[0] for p in pairs}!r}\n"
                  f"    opening = set(pairs.values())\n    stack = []\n    for c in text:\n"
                  f"        if c in opening:\n            stack.append(c)\n        elif c in pairs:\n"
                  f"            if not stack or stack.pop() != pairs[c]:\n                return False\n"
                  f"    return not stack\n",
        "edge": [[""], [pairs[0][1] + pairs[0][0]]], "random": lambda r: [_bracket_text(r, pairs)],
    }


def _bracket_text(rng: random.Random, pairs: list[str]) -> str:
    """A nested bracket string with letters; half the time one character is then dropped or swapped."""
    def nest(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(1, 2)):
            pair = rng.choice(pairs)
            inner = nest(depth + 1) if depth < 2 and rng.random() < 0.6 else rng.choice(["", "a", "b"])
            parts.append(pair[0] + inner + pair[1])
        return "".join(parts)

    text = nest(0)
    if rng.random() < 0.5:
        i = rng.randrange(len(text))
        text = text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + rng.choice("".join(pairs)) + text[i + 1:]
    return text


def _power_sum_mod(rng):
    p, m = rng.randint(2, 4), rng.choice([7, 11, 13, 97, 101, 1000])
    return {
        "params": {"p": p, "m": m}, "signature": "n: int) -> int",
        "description": f"returns (1**{p} + 2**{p} + ... + n**{p}) modulo {m} for a non-negative integer n "
                       f"(0 for n = 0).",
        "source": f"def power_sum_mod(n):\n    return sum(i ** {p} for i in range(1, n + 1)) % {m}\n",
        "edge": [[0], [1]], "random": lambda r: [r.randint(2, 60)],
    }


def _count_letters(rng):
    letters = "".join(sorted(rng.sample("abcdefghijklmnopqrstuvwxyz", rng.randint(3, 5))))
    return {
        "params": {"letters": letters}, "signature": "text: str) -> int",
        "description": f"returns how many characters of text are one of the letters '{letters}', ignoring case.",
        "source": f"def count_letters(text):\n    return sum(1 for c in text.lower() if c in {letters!r})\n",
        "edge": [[""], [letters.upper()]], "random": lambda r: [_sentence(r).title()],
    }


def _pair_count(rng):
    t = rng.randint(-5, 12)
    return {
        "params": {"t": t}, "signature": "xs: list[int]) -> int",
        "description": f"returns the number of index pairs (i, j) with i < j such that xs[i] + xs[j] == {t}.",
        "source": f"def pair_count(xs):\n    return sum(1 for i in range(len(xs)) for j in range(i + 1, len(xs))"
                  f" if xs[i] + xs[j] == {t})\n",
        "edge": [[[]], [[t]]], "random": lambda r: [_int_list(r, min(t, 0) - 3, max(t, 0) + 3, 9)],
    }


def _window_max(rng):
    w = rng.randint(2, 4)
    return {
        "params": {"w": w}, "signature": "xs: list[int]) -> list[int]",
        "description": f"returns the maximum of every window of {w} consecutive elements of xs, in order "
                       f"(an empty list when xs has fewer than {w} elements).",
        "source": f"def window_max(xs):\n    return [max(xs[i:i + {w}]) for i in range(len(xs) - {w} + 1)]\n",
        "edge": [[[1] * (w - 1)], [list(range(w))]], "random": lambda r: [_int_list(r, -20, 20, 10)],
    }


def _steps_below(rng):
    t = rng.randint(2, 10)
    return {
        "params": {"t": t}, "signature": "n: int) -> int",
        "description": f"starts from the positive integer n and repeatedly replaces it by n // 2 when it is "
                       f"even and by 3 * n + 1 when it is odd; returns the number of replacements made until "
                       f"the value is below {t} (0 when n is already below {t}).",
        "source": f"def steps_below(n):\n    steps = 0\n    while n >= {t}:\n"
                  f"        n = n // 2 if n % 2 == 0 else 3 * n + 1\n        steps += 1\n    return steps\n",
        "edge": [[1], [t]], "random": lambda r: [r.randint(2, 200)],
    }


def _limit_repeats(rng):
    m = rng.randint(1, 3)
    return {
        "params": {"m": m}, "signature": "xs: list[int]) -> list[int]",
        "description": f"returns xs with, for each value, only its first {m} occurrence(s) kept, in the "
                       f"original order.",
        "source": f"def limit_repeats(xs):\n    seen, out = {{}}, []\n    for x in xs:\n"
                  f"        seen[x] = seen.get(x, 0) + 1\n        if seen[x] <= {m}:\n            out.append(x)\n"
                  f"    return out\n",
        "edge": [[[]], [[7] * (m + 2)]], "random": lambda r: [_int_list(r, 0, 4, 12)],
    }


def _to_base(rng):
    b = rng.randint(2, 9)
    return {
        "params": {"b": b}, "signature": "n: int) -> str",
        "description": f"returns the representation of the non-negative integer n in base {b} as a string of "
                       f"digits, most significant first ('0' for 0).",
        "source": f"def to_base(n):\n    digits = ''\n    while n:\n        digits = str(n % {b}) + digits\n"
                  f"        n //= {b}\n    return digits or '0'\n",
        "edge": [[0], [b]], "random": lambda r: [r.randint(1, 5000)],
    }


CODE_FAMILIES: dict[str, Callable[[random.Random], dict]] = {
    "scale_shift": _scale_shift, "count_multiples": _count_multiples, "clamp_all": _clamp_all,
    "caesar": _caesar, "digit_power_sum": _digit_power_sum, "sequence_term": _sequence_term,
    "chunk_sums": _chunk_sums, "rotate_left": _rotate_left, "long_words": _long_words,
    "compress_runs": _compress_runs, "fizz_words": _fizz_words, "kth_largest_distinct": _kth_largest_distinct,
    "is_balanced": _is_balanced, "power_sum_mod": _power_sum_mod, "count_letters": _count_letters,
    "pair_count": _pair_count, "window_max": _window_max, "steps_below": _steps_below,
    "limit_repeats": _limit_repeats, "to_base": _to_base,
}


def _run_reference(source: str, name: str, args: list):
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - our own reference source, never a candidate's
    return namespace[name](*json.loads(json.dumps(args)))


def synthetic_code(source: str, num_questions: int, seed: int, tests_per_question: int = 6,
                   families: list[str] | None = None) -> list[dict]:
    """Python function tasks with hidden unit tests; the same seed gives the same records."""
    names = sorted(families or CODE_FAMILIES)
    unknown = [n for n in names if n not in CODE_FAMILIES]
    if unknown:
        raise ValueError(f"source {source!r}: unknown code families {unknown} (known: {sorted(CODE_FAMILIES)})")
    if tests_per_question < 1:
        raise ValueError(f"source {source!r}: tests_per_question must be at least 1")
    rng = random.Random(f"{source}:{seed}")
    records = []
    for index in range(num_questions):
        name = rng.choice(names)
        task = CODE_FAMILIES[name](rng)
        cases, seen = [], set()
        candidates = task["edge"] + [task["random"](rng) for _ in range(4 * tests_per_question)]
        for args in candidates:
            key = json.dumps(args)
            if key not in seen and len(cases) < tests_per_question:
                seen.add(key)
                cases.append({"args": args, "expected": _run_reference(task["source"], name, args)})
        example_args = task["random"](rng)
        example = _run_reference(task["source"], name, example_args)
        call = f"{name}({', '.join(repr(a) for a in example_args)})"
        question = (f"Write a Python function `{name}({task['signature']}` that {task['description']}\n"
                    f"For example, `{call}` returns `{example!r}`. Use only the Python standard library.")
        solution = f"```python\n{task['source']}```"
        records.append({
            "id": f"{source}-{index:06d}", "source": source, "kind": "question", "domain": "code",
            "question": question,
            "answer": json.dumps({"entry_point": name, "tests": cases}, sort_keys=True),
            "solution": solution, "reference": solution, "entry_point": name, "family": name,
            "params": task["params"],
        })
    return records


CODE_PROMPT = ("{question}\n\nReply with the complete function in a single ```python code block; do not include "
               "tests or example calls.")
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```(?:python|py|python3)[ \t]*\n(.*)\Z", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> tuple[str | None, str]:
    """The last ```python block, else the last fenced block, else the code after an unclosed ```python
    fence (a cut-off reply), else the whole text: (code or None, method)."""
    blocks = _FENCE.findall(text)
    python = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3")]
    if python:
        return python[-1], "python_block"
    if blocks:
        return blocks[-1][1], "code_block"
    opened = _OPEN_FENCE.search(text)
    if opened:
        return opened.group(1), "open_block"
    return (text, "whole_text") if text.strip() else (None, "none")


def code_cases(answer: str) -> list[sandbox.Case]:
    """The hidden tests of a code question's `answer` as sandbox cases: call the entry point on the JSON
    arguments, compare the result JSON-exactly with the expected value. The expected values stay in the
    grading process; only the calls go to the candidate's. ValueError when `answer` is not of that form."""
    spec = json.loads(answer)
    entry_point, tests = spec.get("entry_point"), spec.get("tests")
    if not (isinstance(entry_point, str) and entry_point.isidentifier()) or not isinstance(tests, list):
        raise ValueError("code answer needs an identifier `entry_point` and a list of `tests`")
    cases = []
    for case in tests:
        if not (isinstance(case, dict) and isinstance(case.get("args"), list) and "expected" in case):
            raise ValueError(f"code test for {entry_point} needs a list `args` and an `expected` value")
        cases.append(sandbox.Case(entry_point, json.loads(json.dumps(case["args"])), expected=case["expected"]))
    return cases


def grade_code(record: dict, text: str, limits: sandbox.Limits | None = None) -> dict:
    """Run the hidden tests on the extracted code in judgeflow.domains.sandbox. The detail is bounded and scrubbed of
    secrets by the sandbox; no repr of a candidate's value reaches it."""
    code, method = extract_code(text)
    if code is None:
        return {"extracted": None, "method": method, "correct": False, "detail": "no_code"}
    result = sandbox.run_cases(code, code_cases(record["answer"]), limits)
    detail = f"{result['status']}: {result['tests_passed']}/{result['tests_total']} tests passed"
    if result["detail"]:
        detail += f"; {result['detail']}"
    return {"extracted": code, "method": method, "correct": result["passed"], "detail": detail,
            "tests_passed": result["tests_passed"], "tests_total": result["tests_total"]}
