"""Programmatic error injection (FARE): turn a correct reference into a known-wrong response.

Tool use: wrong argument type, redundant parameter, missing required parameter, JSON syntax error, each
applied to the record's true call. Math: an arithmetic slip at one step of a chained "Step i: a op b = c"
trace (as data.synthetic_arithmetic writes them), with every later step recomputed from the wrong value, so
the final answer is wrong and the first wrong step is known exactly.
"""

from __future__ import annotations

import json
import random
import re

INJECTION_METHODS: dict[str, tuple[str, ...]] = {
    "math": ("arithmetic_slip",),
    "tool_use": ("wrong_type", "redundant_parameter", "missing_required", "json_syntax"),
}
# What domains.tool_use.check_call / extract_call report for each injected tool-use fault.
EXPECTED_DETAIL = {"wrong_type": "wrong_type", "redundant_parameter": "unexpected_parameter",
                   "missing_required": "missing_required", "json_syntax": "json_syntax"}
JSON_SYNTAX_VARIANTS = ("missing_closing_brace", "trailing_comma", "single_quotes", "unquoted_keys")


def inject_error(record: dict, method: str, rng: random.Random, step: int | None = None) -> dict:
    """A wrong response for a question record: {"text", "method", "first_error_step", "detail"}.

    first_error_step is the 1-based index of the slipped step for math and None for tool use; detail says
    what was changed. `step` picks the slipped step (default: drawn with rng).
    """
    domain = record.get("domain") or "math"
    if method not in INJECTION_METHODS.get(domain, ()):
        raise ValueError(f"record {record.get('id')!r}: no injection method {method!r} for domain {domain!r} "
                         f"(known: {INJECTION_METHODS.get(domain, ())})")
    if domain == "math":
        text, first, detail = _arithmetic_slip(record, rng, step)
        return {"text": text, "method": method, "first_error_step": first, "detail": detail}
    text, detail = _TOOL_FAULTS[method](record, rng)
    return {"text": text, "method": method, "first_error_step": None, "detail": detail}


# ---------------------------------------------------------------------------------------------------------
# Math

_STEP = re.compile(r"^Step (\d+): (-?\d+) ([-+*]) (-?\d+) = (-?\d+)$")
_ANSWER = re.compile(r"^The answer is (-?\d+)\.$")
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def parse_steps(solution: str, where: str = "solution") -> tuple[list[tuple[int, str, int, int]], int]:
    """A chained step trace as ([(a, op, b, c), ...], final answer); ValueError when it is not one."""
    lines = [line.strip() for line in solution.strip().splitlines() if line.strip()]
    steps = []
    for number, line in enumerate(lines[:-1], start=1):
        match = _STEP.match(line)
        if not match or int(match.group(1)) != number:
            raise ValueError(f"{where}: line {number} is not 'Step {number}: a op b = c': {line!r}")
        a, op, b, c = int(match.group(2)), match.group(3), int(match.group(4)), int(match.group(5))
        if _OPS[op](a, b) != c:
            raise ValueError(f"{where}: step {number} is not correct arithmetic: {line!r}")
        if steps and a != steps[-1][3]:
            raise ValueError(f"{where}: step {number} does not start from the result of step {number - 1}")
        steps.append((a, op, b, c))
    final = _ANSWER.match(lines[-1]) if lines else None
    if not steps or not final:
        raise ValueError(f"{where}: expected step lines and a last line 'The answer is N.'")
    if int(final.group(1)) != steps[-1][3]:
        raise ValueError(f"{where}: the answer line does not repeat the last step's result")
    return steps, int(final.group(1))


def _arithmetic_slip(record: dict, rng: random.Random, step: int | None) -> tuple[str, int, str]:
    steps, _ = parse_steps(record["solution"], f"record {record.get('id')!r} field 'solution'")
    index = rng.randint(1, len(steps)) if step is None else step
    if not 1 <= index <= len(steps):
        raise ValueError(f"record {record.get('id')!r}: step {index} is outside 1..{len(steps)}")
    a, op, b, c = steps[index - 1]
    delta = rng.choice([-10, -9, -2, -1, 1, 2, 9, 10])
    wrong = c + delta if c + delta >= 0 or c < 0 else c + abs(delta)
    lines, carry = [], None
    for number, (a_j, op_j, b_j, c_j) in enumerate(steps, start=1):
        if number < index:
            lines.append(f"Step {number}: {a_j} {op_j} {b_j} = {c_j}")
            continue
        if number == index:
            carry = wrong
            lines.append(f"Step {number}: {a_j} {op_j} {b_j} = {wrong}")
            continue
        previous, carry = carry, _OPS[op_j](carry, b_j)  # correct arithmetic on the carried wrong value
        lines.append(f"Step {number}: {previous} {op_j} {b_j} = {carry}")
    lines.append(f"The answer is {carry}.")
    return "\n".join(lines), index, f"step {index}: {a} {op} {b} = {wrong} instead of {c}"


# ---------------------------------------------------------------------------------------------------------
# Tool use

_REDUNDANT = {"verbose": lambda r: True, "request_id": lambda r: f"req-{r.randint(1000, 9999)}",
              "priority": lambda r: r.choice(["low", "high"]), "timeout_seconds": lambda r: r.choice([10, 30, 60]),
              "confirm": lambda r: True, "notes": lambda r: "as discussed", "debug": lambda r: False,
              "locale": lambda r: "en_US", "dry_run": lambda r: False, "user_id": lambda r: r.randint(100, 999)}


def _truth(record: dict) -> tuple[dict, dict]:
    call = json.loads(record["answer"])
    schema = next(t["parameters"] for t in record["tools"] if t["name"] == call["name"])
    return {"name": call["name"], "arguments": dict(call["arguments"])}, schema


def _wrong_type(record: dict, rng: random.Random) -> tuple[str, str]:
    call, schema = _truth(record)
    parameter = rng.choice(sorted(call["arguments"]))
    value, kind = call["arguments"][parameter], schema["properties"][parameter]["type"]
    if kind in ("integer", "number"):
        wrong = str(value)
    elif kind == "boolean":
        wrong = "true" if value else "false"
    elif kind == "array":
        wrong = ", ".join(str(v) for v in value)
    elif kind == "string":
        wrong = int(value) if value.isdigit() else [value]
    else:
        raise ValueError(f"record {record.get('id')!r}: no wrong type for parameter type {kind!r}")
    call["arguments"][parameter] = wrong
    return json.dumps(call), f"parameter {parameter!r} ({kind}): {value!r} -> {wrong!r}"


def _redundant_parameter(record: dict, rng: random.Random) -> tuple[str, str]:
    call, schema = _truth(record)
    name = rng.choice([n for n in sorted(_REDUNDANT) if n not in schema["properties"]])
    call["arguments"][name] = _REDUNDANT[name](rng)
    return json.dumps(call), f"added parameter {name!r} = {call['arguments'][name]!r}"


def _missing_required(record: dict, rng: random.Random) -> tuple[str, str]:
    call, schema = _truth(record)
    parameter = rng.choice(sorted(schema["required"]))
    del call["arguments"][parameter]
    return json.dumps(call), f"dropped required parameter {parameter!r}"


def _json_syntax(record: dict, rng: random.Random) -> tuple[str, str]:
    call, _ = _truth(record)
    text = json.dumps(call)  # {"name": ..., "arguments": {...}}
    variant = rng.choice(JSON_SYNTAX_VARIANTS)
    if variant == "missing_closing_brace":
        text = text[:-1]
    elif variant == "trailing_comma":
        text = text[:-1] + ", }"
    elif variant == "single_quotes":
        text = text.replace('"', "'")
    else:
        text = re.sub(r'"([A-Za-z_][A-Za-z0-9_]*)":', r"\1:", text)
    return text, variant


_TOOL_FAULTS = {"wrong_type": _wrong_type, "redundant_parameter": _redundant_parameter,
                "missing_required": _missing_required, "json_syntax": _json_syntax}
