"""Domains with verifiable truth for generate-then-grade: math, code and tool use.

Per domain one solve prompt and one grader, dispatched on record["domain"] (math when the field is missing,
so the records of data.py keep working), and offline seeded generators of kind "question" records:

- code: small Python function tasks from 20 families with random parameters. `answer` is JSON
  {"entry_point", "tests": [{"args": [...], "expected": ...}]} (the hidden unit tests), `solution` the
  reference function in a ```python block. Responses are graded by running the hidden tests on the last
  ```python block of the response in judgeflow.domains.sandbox.
- tool_use: a few tool schemas (JSON schema of the parameters, required list, no extra parameters) and a user
  request. `answer` is the exact call {"name", "arguments"} as JSON; responses are graded by extracting the
  JSON object, validating it against the called tool's schema and comparing it with the truth.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import jsonschema

from judgeflow.data import questions as data
from judgeflow.domains import sandbox
from judgeflow.judge.templates import SOLVE_PROMPT

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


# ---------------------------------------------------------------------------------------------------------
# Tool use: a catalog of tools, each with a request generator giving (user request, exact arguments).

_CITIES = ["Paris", "Lagos", "Osaka", "Lima", "Oslo", "Denver", "Cairo", "Hanoi", "Quito", "Perth", "Porto"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_PEOPLE = ["ana", "bo", "chen", "dara", "eli", "femi", "gia", "hugo"]


def _p(kind: str, description: str, **extra) -> dict:
    return {"type": kind, "description": description, **extra}


def _date(rng: random.Random) -> tuple[str, str]:
    """(spoken form, ISO form) of a random date in 2025-2026."""
    year, month, day = rng.randint(2025, 2026), rng.randint(1, 12), rng.randint(1, 28)
    return f"{_MONTHS[month - 1]} {day}, {year}", f"{year:04d}-{month:02d}-{day:02d}"


def _weather(rng):
    city, args = rng.choice(_CITIES), {}
    args["city"] = city
    text = f"What's the weather going to be in {city}"
    if rng.random() < 0.5:
        args["days"] = rng.randint(2, 7)
        text += f" over the next {args['days']} days"
    if rng.random() < 0.5:
        args["unit"] = rng.choice(["celsius", "fahrenheit"])
        text += f", in {args['unit']}"
    return text + "?", args


def _currency(rng):
    amount = rng.choice([rng.randint(5, 5000), round(rng.uniform(1, 999), 2)])
    src, dst = rng.sample(["USD", "EUR", "JPY", "GBP", "INR", "BRL", "CHF"], 2)
    return f"How much is {amount} {src} in {dst}?", {"amount": amount, "from_currency": src, "to_currency": dst}


def _flight(rng):
    origin, destination = rng.sample(_CITIES, 2)
    spoken, iso = _date(rng)
    args = {"origin": origin, "destination": destination, "date": iso, "passengers": rng.randint(1, 5)}
    text = (f"Book a flight from {origin} to {destination} on {spoken} for {args['passengers']} "
            f"passenger{'s' if args['passengers'] > 1 else ''}")
    if rng.random() < 0.4:
        args["cabin"] = rng.choice(["economy", "premium", "business", "first"])
        text += f" in {args['cabin']} class"
    return text + ".", args


def _reminder(rng):
    message = rng.choice(["call the dentist", "water the plants", "submit the report", "pick up the kids",
                          "take the medicine", "renew the passport"])
    minutes = rng.choice([5, 10, 15, 20, 30, 45, 60, 90, 120])
    args = {"message": message, "minutes_from_now": minutes}
    text = f'Remind me to "{message}" in {minutes} minutes'
    if rng.random() < 0.4:
        args["repeat_daily"] = True
        text += ", and repeat it every day"
    return text + ".", args


def _products(rng):
    query = rng.choice(["wireless earbuds", "running shoes", "desk lamp", "yoga mat", "coffee grinder",
                        "backpack", "mechanical keyboard"])
    args, text = {"query": query}, f'Search the shop for "{query}"'
    if rng.random() < 0.6:
        args["max_price"] = rng.choice([20, 35, 49.99, 80, 120, 250])
        text += f" under {args['max_price']} dollars"
    if rng.random() < 0.5:
        args["in_stock_only"] = True
        text += ", only items in stock"
    if rng.random() < 0.4:
        args["limit"] = rng.randint(3, 20)
        text += f", showing {args['limit']} results"
    return text + ".", args


def _email(rng):
    to = [f"{name}@example.com" for name in rng.sample(_PEOPLE, rng.randint(1, 3))]
    subject = rng.choice(["Quarterly numbers", "Lunch on Friday", "Trip plan", "Project update"])
    body = rng.choice(["See the attached draft.", "Can we move it to noon?", "All tasks are on track.",
                       "Tickets are booked."])
    args = {"to": to, "subject": subject, "body": body}
    text = f'Email {" and ".join(to)} with the subject "{subject}" and the body "{body}"'
    if rng.random() < 0.3:
        args["cc"] = [f"{rng.choice([p for p in _PEOPLE if f'{p}@example.com' not in to])}@example.com"]
        text += f", cc {args['cc'][0]}"
    return text + ".", args


def _event(rng):
    title = rng.choice(["Design review", "Dentist", "Team lunch", "Budget meeting", "Piano lesson"])
    spoken, iso = _date(rng)
    hour, minute = rng.randint(8, 18), rng.choice([0, 15, 30, 45])
    duration = rng.choice([15, 30, 45, 60, 90])
    args = {"title": title, "date": iso, "start_time": f"{hour:02d}:{minute:02d}", "duration_minutes": duration}
    text = f'Put "{title}" on my calendar on {spoken} at {hour:02d}:{minute:02d} for {duration} minutes'
    if rng.random() < 0.4:
        args["attendees"] = sorted(rng.sample(_PEOPLE, 2))
        text += f" with {args['attendees'][0]} and {args['attendees'][1]}"
    return text + ".", args


def _translate(rng):
    phrase = rng.choice(["Where is the train station?", "Thank you for your help.", "The meeting starts at nine.",
                         "I would like a table for two."])
    language = rng.choice(["french", "german", "spanish", "japanese", "swahili"])
    args = {"text": phrase, "target_language": language}
    text = f'Translate "{phrase}" into {language.capitalize()}'
    if rng.random() < 0.4:
        args["formal"] = rng.choice([True, False])
        text += ", formal register" if args["formal"] else ", informal register"
    return text + ".", args


def _stock(rng):
    symbol = rng.choice(["AAPL", "MSFT", "TSLA", "NVDA", "SAP", "TM", "BABA"])
    args, text = {"symbol": symbol}, f"What is the current price of {symbol}"
    if rng.random() < 0.5:
        args["exchange"] = rng.choice(["NASDAQ", "NYSE", "XETRA", "TSE"])
        text += f" on {args['exchange']}"
    return text + "?", args


def _loan(rng):
    principal = rng.choice([5000, 12000, 25000, 180000, 350000])
    rate = rng.choice([2.5, 3.9, 4.25, 5.0, 6.75])
    years = rng.choice([3, 5, 10, 15, 30])
    return (f"What would the monthly payment be on a {principal} dollar loan at {rate}% a year over {years} years?",
            {"principal": principal, "annual_rate_percent": rate, "years": years})


def _restaurants(rng):
    city = rng.choice(_CITIES)
    args, text = {"location": city}, f"Find restaurants in {city}"
    if rng.random() < 0.6:
        args["cuisine"] = rng.choice(["thai", "italian", "ethiopian", "vegan", "sushi"])
        text = f"Find {args['cuisine']} restaurants in {city}"
    if rng.random() < 0.4:
        args["open_now"] = True
        text += " that are open now"
    if rng.random() < 0.4:
        args["max_results"] = rng.randint(2, 10)
        text += f", at most {args['max_results']}"
    return text + ".", args


def _thermostat(rng):
    room = rng.choice(["living room", "bedroom", "office", "kitchen"])
    temperature = rng.choice([18, 19.5, 20, 21, 22.5, 23])
    args = {"room": room, "temperature_c": temperature}
    text = f"Set the {room} to {temperature} degrees Celsius"
    if rng.random() < 0.5:
        args["mode"] = rng.choice(["heat", "cool", "auto"])
        text += f" in {args['mode']} mode"
    return text + ".", args


def _package(rng):
    carrier = rng.choice(["ups", "fedex", "dhl", "usps"])
    number = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(10, 14)))
    return f"Where is my {carrier.upper()} package {number}?", {"tracking_number": number, "carrier": carrier}


def _order(rng):
    restaurant = rng.choice(["Casa Verde", "Pho 99", "Luigi's", "Spice Route"])
    items = rng.sample(["margherita pizza", "pad thai", "falafel wrap", "miso soup", "green salad", "tacos"],
                       rng.randint(1, 3))
    delivery = rng.choice([True, False])
    return (f"Order {', '.join(items)} from {restaurant} for {'delivery' if delivery else 'pickup'}.",
            {"restaurant": restaurant, "items": items, "delivery": delivery})


def _account(rng):
    user = rng.choice(_PEOPLE) + str(rng.randint(10, 99))
    args = {"username": user, "email": f"{user}@example.org"}
    text = f"Create an account with username {user} and email {user}@example.org"
    if rng.random() < 0.5:
        args["age"] = rng.randint(18, 80)
        text += f"; I am {args['age']} years old"
    if rng.random() < 0.4:
        args["newsletter"] = rng.choice([True, False])
        text += ", and sign me up for the newsletter" if args["newsletter"] else ", and no newsletter please"
    return text + ".", args


_ISO_DATE = "date as YYYY-MM-DD"
_TOOLS: list[tuple[dict, Callable]] = [
    ({"name": "get_weather", "description": "Weather forecast for a city.",
      "properties": {"city": _p("string", "city name"),
                     "days": _p("integer", "number of forecast days", default=1),
                     "unit": _p("string", "temperature unit", enum=["celsius", "fahrenheit"], default="celsius")},
      "required": ["city"]}, _weather),
    ({"name": "convert_currency", "description": "Convert an amount between currencies.",
      "properties": {"amount": _p("number", "amount to convert"),
                     "from_currency": _p("string", "ISO 4217 code of the source currency"),
                     "to_currency": _p("string", "ISO 4217 code of the target currency")},
      "required": ["amount", "from_currency", "to_currency"]}, _currency),
    ({"name": "book_flight", "description": "Book a one-way flight.",
      "properties": {"origin": _p("string", "departure city"), "destination": _p("string", "arrival city"),
                     "date": _p("string", _ISO_DATE), "passengers": _p("integer", "number of passengers"),
                     "cabin": _p("string", "cabin class", enum=["economy", "premium", "business", "first"],
                                 default="economy")},
      "required": ["origin", "destination", "date", "passengers"]}, _flight),
    ({"name": "set_reminder", "description": "Set a reminder.",
      "properties": {"message": _p("string", "what to remind about"),
                     "minutes_from_now": _p("integer", "delay in minutes"),
                     "repeat_daily": _p("boolean", "repeat every day", default=False)},
      "required": ["message", "minutes_from_now"]}, _reminder),
    ({"name": "search_products", "description": "Search the product catalog.",
      "properties": {"query": _p("string", "search terms"), "max_price": _p("number", "price cap in USD"),
                     "in_stock_only": _p("boolean", "only items in stock", default=False),
                     "limit": _p("integer", "number of results", default=10)},
      "required": ["query"]}, _products),
    ({"name": "send_email", "description": "Send an email.",
      "properties": {"to": _p("array", "recipient addresses", items={"type": "string"}),
                     "subject": _p("string", "subject line"), "body": _p("string", "message text"),
                     "cc": _p("array", "copy addresses", items={"type": "string"})},
      "required": ["to", "subject", "body"]}, _email),
    ({"name": "create_calendar_event", "description": "Add an event to the calendar.",
      "properties": {"title": _p("string", "event title"), "date": _p("string", _ISO_DATE),
                     "start_time": _p("string", "24-hour time as HH:MM"),
                     "duration_minutes": _p("integer", "length in minutes"),
                     "attendees": _p("array", "user names of attendees", items={"type": "string"})},
      "required": ["title", "date", "start_time", "duration_minutes"]}, _event),
    ({"name": "translate_text", "description": "Translate text.",
      "properties": {"text": _p("string", "text to translate"),
                     "target_language": _p("string", "language",
                                           enum=["french", "german", "spanish", "japanese", "swahili"]),
                     "formal": _p("boolean", "use the formal register")},
      "required": ["text", "target_language"]}, _translate),
    ({"name": "get_stock_price", "description": "Latest price of a stock.",
      "properties": {"symbol": _p("string", "ticker symbol"),
                     "exchange": _p("string", "exchange", enum=["NASDAQ", "NYSE", "XETRA", "TSE"])},
      "required": ["symbol"]}, _stock),
    ({"name": "calculate_loan_payment", "description": "Monthly payment of an amortized loan.",
      "properties": {"principal": _p("number", "loan amount"),
                     "annual_rate_percent": _p("number", "yearly interest rate in percent"),
                     "years": _p("integer", "loan term in years")},
      "required": ["principal", "annual_rate_percent", "years"]}, _loan),
    ({"name": "find_restaurants", "description": "Find restaurants near a place.",
      "properties": {"location": _p("string", "city or address"), "cuisine": _p("string", "kind of food"),
                     "open_now": _p("boolean", "only places open now", default=False),
                     "max_results": _p("integer", "number of results", default=5)},
      "required": ["location"]}, _restaurants),
    ({"name": "set_thermostat", "description": "Set a room's target temperature.",
      "properties": {"room": _p("string", "room name"), "temperature_c": _p("number", "target in Celsius"),
                     "mode": _p("string", "mode", enum=["heat", "cool", "auto"], default="auto")},
      "required": ["room", "temperature_c"]}, _thermostat),
    ({"name": "track_package", "description": "Status of a parcel.",
      "properties": {"tracking_number": _p("string", "tracking number"),
                     "carrier": _p("string", "carrier", enum=["ups", "fedex", "dhl", "usps"])},
      "required": ["tracking_number", "carrier"]}, _package),
    ({"name": "order_food", "description": "Order food from a restaurant.",
      "properties": {"restaurant": _p("string", "restaurant name"),
                     "items": _p("array", "dishes", items={"type": "string"}),
                     "delivery": _p("boolean", "true for delivery, false for pickup")},
      "required": ["restaurant", "items", "delivery"]}, _order),
    ({"name": "create_account", "description": "Create a user account.",
      "properties": {"username": _p("string", "user name"), "email": _p("string", "email address"),
                     "age": _p("integer", "age in years"),
                     "newsletter": _p("boolean", "subscribe to the newsletter", default=False)},
      "required": ["username", "email"]}, _account),
]
TOOL_NAMES = [spec["name"] for spec, _ in _TOOLS]


def _tool_schema(spec: dict) -> dict:
    return {"name": spec["name"], "description": spec["description"],
            "parameters": {"type": "object", "properties": spec["properties"], "required": spec["required"],
                           "additionalProperties": False}}


def synthetic_tool_use(source: str, num_questions: int, seed: int, tools_per_question: int = 3,
                       tools: list[str] | None = None) -> list[dict]:
    """Function-call questions: the target tool plus distractors, a request, the exact call as truth."""
    names = sorted(tools or TOOL_NAMES)
    unknown = [n for n in names if n not in TOOL_NAMES]
    if unknown:
        raise ValueError(f"source {source!r}: unknown tools {unknown} (known: {sorted(TOOL_NAMES)})")
    if tools_per_question < 1:
        raise ValueError(f"source {source!r}: tools_per_question must be at least 1")
    catalog = {spec["name"]: (spec, make) for spec, make in _TOOLS}
    rng = random.Random(f"{source}:{seed}")
    records = []
    for index in range(num_questions):
        name = rng.choice(names)
        request, arguments = catalog[name][1](rng)
        others = rng.sample([n for n in TOOL_NAMES if n != name], min(tools_per_question - 1, len(TOOL_NAMES) - 1))
        shown = [name] + others
        rng.shuffle(shown)
        schemas = [_tool_schema(catalog[n][0]) for n in shown]
        call = {"name": name, "arguments": arguments}
        question = ("You can call the following tools (each with a JSON schema of its parameters):\n"
                    + "\n".join(json.dumps(schema) for schema in schemas) + f"\n\nUser request: {request}\n\n"
                    'Answer with one function call as a JSON object {"name": <tool name>, "arguments": '
                    "{<parameter>: <value>, ...}}. Give every required parameter, and optional parameters only "
                    "when the request sets them.")
        truth = json.dumps(call, sort_keys=True)
        records.append({
            "id": f"{source}-{index:06d}", "source": source, "kind": "question", "domain": "tool_use",
            "question": question, "answer": truth, "solution": json.dumps(call), "reference": truth,
            "tools": schemas, "request": request, "tool": name,
        })
    return records


TOOL_USE_PROMPT = "{question}\n\nReply with the JSON object only."
_JSON_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()


def extract_call(text: str) -> tuple[dict | None, str, str | None]:
    """The function call in a response: (call or None, method, error code or None).

    Looks in the last ```json (or bare ```) block when there is one, else in the whole text; the call is the
    first JSON object with both 'name' and 'arguments'. Error codes: 'no_json' (no '{' at all),
    'json_syntax' (the first object does not parse), 'not_a_call' (parses, but is no call).
    """
    blocks = _JSON_FENCE.findall(text)
    body, method = (blocks[-1], "json_block") if blocks else (text, "raw")
    starts = [m.start() for m in re.finditer(r"\{", body)]
    if not starts:
        return None, method, "no_json"
    first_parsed = False
    for position in starts:
        try:
            value, _ = _DECODER.raw_decode(body, position)
        except json.JSONDecodeError:
            continue
        if position == starts[0]:
            first_parsed = True
        if isinstance(value, dict) and "name" in value and "arguments" in value:
            return value, method, None
    return None, method, "not_a_call" if first_parsed else "json_syntax"


_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object",
               type(None): "null"}


def _same_value(got, want) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return got == want
    if isinstance(want, str) and isinstance(got, str):
        return " ".join(got.split()).casefold() == " ".join(want.split()).casefold()
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same_value(g, w) for g, w in zip(got, want))
    return got == want


def check_call(call: dict, tools: list[dict], truth: dict) -> tuple[bool, str]:
    """Validate a parsed call against the tool schemas and compare it with the truth: (correct, detail).

    Detail codes, in the order checked: not_a_call, unknown_tool, missing_required, unexpected_parameter,
    wrong_type, invalid_value, wrong_tool, wrong_value; 'ok' when correct. Optional parameters left out
    count as their schema default; strings compare ignoring case and repeated whitespace; numbers by value.
    """
    name, arguments = call.get("name"), call.get("arguments")
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return False, "not_a_call: 'name' must be a string and 'arguments' an object"
    schemas = {tool["name"]: tool["parameters"] for tool in tools}
    if name not in schemas:
        return False, f"unknown_tool: {name!r} is not one of {sorted(schemas)}"
    schema = schemas[name]
    missing = [p for p in schema["required"] if p not in arguments]
    if missing:
        return False, f"missing_required: parameter {missing[0]!r} is required"
    extra = sorted(set(arguments) - set(schema["properties"]))
    if extra:
        return False, f"unexpected_parameter: {extra[0]!r} is not a parameter of {name}"
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(arguments),
                    key=lambda e: ([str(p) for p in e.path], e.validator != "type"))
    for error in errors:
        where = ".".join(str(p) for p in error.path) or "arguments"
        if error.validator == "type":
            got = _TYPE_NAMES.get(type(error.instance), type(error.instance).__name__)
            return False, f"wrong_type: parameter {where!r} must be {error.validator_value}, got {got}"
        return False, f"invalid_value: parameter {where!r}: {error.message}"
    if name != truth["name"]:
        return False, f"wrong_tool: called {name}, the request needs {truth['name']}"
    properties = schema["properties"]
    for parameter in sorted(set(arguments) | set(truth["arguments"])):
        default = properties[parameter].get("default")
        got, want = arguments.get(parameter, default), truth["arguments"].get(parameter, default)
        if not _same_value(got, want):
            return False, f"wrong_value: parameter {parameter!r} is {got!r}, expected {want!r}"
    return True, "ok"


def grade_tool_use(record: dict, text: str) -> dict:
    call, method, error = extract_call(text)
    if call is None:
        return {"extracted": None, "method": method, "correct": False, "detail": error}
    correct, detail = check_call(call, record["tools"], json.loads(record["answer"]))
    return {"extracted": json.dumps(call, sort_keys=True), "method": method, "correct": correct, "detail": detail}


# ---------------------------------------------------------------------------------------------------------
# Registry


def grade_math(record: dict, text: str) -> dict:
    graded = data.grade(text, record["answer"])
    detail = "ok" if graded["correct"] else ("no_answer" if graded["extracted"] is None else "wrong_answer")
    return {**graded, "detail": detail}


@dataclass(frozen=True)
class Domain:
    name: str
    solve_prompt: Callable[[dict], str]
    grade: Callable[[dict, str], dict]


DOMAINS: dict[str, Domain] = {
    "math": Domain("math", lambda r: SOLVE_PROMPT.format(question=r["question"]), grade_math),
    "code": Domain("code", lambda r: CODE_PROMPT.format(question=r["question"]), grade_code),
    "tool_use": Domain("tool_use", lambda r: TOOL_USE_PROMPT.format(question=r["question"]), grade_tool_use),
}


def domain_of(record: dict) -> Domain:
    """The record's domain ('math' when the field is missing); an unknown one is an error naming the record."""
    name = record.get("domain") or "math"
    if name not in DOMAINS:
        raise ValueError(f"record {record.get('id')!r}: field 'domain' is {name!r}; graded domains are "
                         f"{sorted(DOMAINS)}")
    return DOMAINS[name]


def solve_prompt(record: dict) -> str:
    """What a generator model is asked for this question."""
    return domain_of(record).solve_prompt(record)


def grade_response(record: dict, text: str) -> dict:
    """Grade a response with the record's domain verifier: {extracted, method, correct, detail}."""
    return domain_of(record).grade(record, text)



def graded_answers(backend, questions: list[dict], params, generator: str) -> list[dict]:
    """params.n answers of `generator` to each question (its domain's prompt, sampled by a generation backend),
    graded by the domain's verifier."""
    outputs = backend.generate([[{"role": "user", "content": solve_prompt(q)}] for q in questions],
                               params) if questions else []
    return [{"id": f"{q['id']}-{generator}-{k}", "question_id": q["id"], "question": q["question"],
             "source": q["source"], "domain": q["domain"], "generator": generator, "sample": k, "text": c.text,
             "num_tokens": c.num_tokens, "finish_reason": c.finish_reason, **grade_response(q, c.text)}
            for q, completions in zip(questions, outputs) for k, c in enumerate(completions)]

SOURCE_TYPES = ("synthetic_code", "synthetic_tool_use")


def make_questions(spec: dict, seed: int) -> list[dict]:
    """Question records of one configured synthetic source (spec keys: type, name, num_questions, and
    tests_per_question / families for code, tools_per_question / tools for tool use)."""
    if spec["type"] == "synthetic_code":
        return synthetic_code(spec["name"], spec["num_questions"], seed, spec.get("tests_per_question", 6),
                              spec.get("families"))
    if spec["type"] == "synthetic_tool_use":
        return synthetic_tool_use(spec["name"], spec["num_questions"], seed, spec.get("tools_per_question", 3),
                                  spec.get("tools"))
    raise ValueError(f"source {spec.get('name')!r}: unknown synthetic source type {spec['type']!r} "
                     f"(domains.make_questions knows {list(SOURCE_TYPES)})")
