import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from judgeflow import domains
from judgeflow.data import questions as data
from judgeflow.domains import injection
from judgeflow.judge.templates import SOLVE_PROMPT

from test_sandbox import ATTACKS

CONTRACT_KEYS = {"id", "source", "kind", "domain", "question", "answer", "solution"}


# ---------------------------------------------------------------------------------------------------------
# Generators


@pytest.mark.parametrize("source_type,domain", [("synthetic_code", "code"), ("synthetic_tool_use", "tool_use")])
def test_generators_are_seeded_and_follow_the_contract(source_type, domain):
    spec = {"type": source_type, "name": f"syn-{domain}", "num_questions": 30}
    first, again = domains.make_questions(spec, 7), domains.make_questions(spec, 7)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert json.dumps(domains.make_questions(spec, 8)) != json.dumps(first)
    # a longer run starts with the same questions
    longer = domains.make_questions({**spec, "num_questions": 40}, 7)
    assert longer[:30] == first
    assert [r["id"] for r in first] == [f"syn-{domain}-{i:06d}" for i in range(30)]
    for record in first:
        assert CONTRACT_KEYS <= set(record)
        assert (record["kind"], record["domain"], record["source"]) == ("question", domain, f"syn-{domain}")
        assert all(isinstance(record[k], str) and record[k] for k in ("question", "answer", "solution"))


def test_make_questions_rejects_unknown_types_and_names():
    with pytest.raises(ValueError, match="unknown synthetic source type"):
        domains.make_questions({"type": "synthetic_poetry", "name": "p", "num_questions": 1}, 0)
    with pytest.raises(ValueError, match="unknown code families"):
        domains.make_questions({"type": "synthetic_code", "name": "c", "num_questions": 1, "families": ["nope"]}, 0)
    with pytest.raises(ValueError, match="unknown tools"):
        domains.make_questions({"type": "synthetic_tool_use", "name": "t", "num_questions": 1, "tools": ["x"]}, 0)


def test_code_generator_covers_twenty_families_with_hidden_tests():
    assert len(domains.code.CODE_FAMILIES) == 20
    records = domains.synthetic_code("code", 200, 0, tests_per_question=5)
    assert {r["family"] for r in records} == set(domains.code.CODE_FAMILIES)
    for record in records:
        answer = json.loads(record["answer"])
        assert answer["entry_point"] == record["entry_point"] == record["family"]
        assert len(answer["tests"]) == 5
        assert len({json.dumps(t["args"]) for t in answer["tests"]}) == 5  # no duplicate test inputs
        assert f"`{record['entry_point']}(" in record["question"]
        assert record["solution"].startswith("```python\ndef ")


def test_code_expectations_match_hand_computation():
    """The expected outputs in `answer` agree with the stated task, recomputed here independently."""
    for record in domains.synthetic_code("hand", 6, 3, families=["scale_shift", "to_base", "rotate_left"]):
        params, tests = record["params"], json.loads(record["answer"])["tests"]
        for case in tests:
            (arg,), expected = case["args"], case["expected"]
            if record["family"] == "scale_shift":
                assert expected == [params["a"] * x + params["b"] for x in arg]
                assert f"{params['a']} * x" in record["question"]
            elif record["family"] == "to_base":
                assert int(expected, params["b"]) == arg and set(expected) <= set("012345678"[:params["b"]])
            else:
                k = params["k"] % len(arg) if arg else 0
                assert expected == arg[k:] + arg[:k]
    fizz = domains.synthetic_code("fizz", 1, 0, families=["fizz_words"])[0]
    p, q, w1, w2 = (fizz["params"][k] for k in ("p", "q", "w1", "w2"))
    case = json.loads(fizz["answer"])["tests"][1]  # the edge case n = p * q
    assert case["args"] == [p * q] and case["expected"][-1] == w1 + w2 and case["expected"][0] == "1"


def test_every_code_reference_solution_grades_correct():
    records = [r for family in sorted(domains.code.CODE_FAMILIES)
               for r in domains.synthetic_code(f"ref-{family}", 1, 11, families=[family])]
    for record in records:
        graded = domains.grade_response(record, record["solution"])
        assert graded["correct"], (record["family"], graded["detail"])
        assert graded["method"] == "python_block" and graded["detail"].startswith("passed: 6/6")


def test_every_tool_use_reference_solution_grades_correct():
    records = domains.synthetic_tool_use("tools", 150, 2)
    assert {r["tool"] for r in records} == set(domains.tool_use.TOOL_NAMES)
    for record in records:
        graded = domains.grade_response(record, record["solution"])
        assert graded == {"extracted": record["answer"], "method": "raw", "correct": True, "detail": "ok"}
        assert record["tool"] in [t["name"] for t in record["tools"]] and len(record["tools"]) == 3
        assert all(t["parameters"]["additionalProperties"] is False for t in record["tools"])


def test_tool_use_question_shows_schema_and_asks_for_json():
    record = domains.synthetic_tool_use("tools", 1, 0)[0]
    for tool in record["tools"]:
        assert json.dumps(tool) in record["question"]
    assert record["request"] in record["question"] and '"arguments"' in record["question"]


# ---------------------------------------------------------------------------------------------------------
# Code grading


@pytest.fixture(scope="module")
def scale_record():
    return domains.synthetic_code("g", 1, 0, families=["scale_shift"])[0]


def test_code_grader_extracts_the_last_python_block(scale_record):
    a, b = scale_record["params"]["a"], scale_record["params"]["b"]
    right = f"def scale_shift(xs):\n    return [{a} * x + {b} for x in xs]\n"
    wrong = f"def scale_shift(xs):\n    return [{a} * x for x in xs]\n"
    text = f"First try:\n```python\n{wrong}```\nFixed:\n```python\n{right}```\nDone."
    graded = domains.grade_response(scale_record, text)
    assert (graded["correct"], graded["method"], graded["extracted"]) == (True, "python_block", right)
    graded = domains.grade_response(scale_record, f"```python\n{right}```\n```python\n{wrong}```")
    assert graded["correct"] is False and graded["detail"].startswith("failed: ")
    assert domains.grade_response(scale_record, right)["method"] == "whole_text"
    assert domains.grade_response(scale_record, f"```\n{right}```")["method"] == "code_block"
    cut_off = domains.grade_response(scale_record, f"Here:\n```python\n{right}")
    assert (cut_off["correct"], cut_off["method"]) == (True, "open_block")
    assert domains.grade_response(scale_record, "  ") == {"extracted": None, "method": "none", "correct": False,
                                                          "detail": "no_code"}


def test_code_grader_is_type_strict_and_sandboxed(scale_record):
    a, b = scale_record["params"]["a"], scale_record["params"]["b"]
    as_strings = f"def scale_shift(xs):\n    return [str({a} * x + {b}) for x in xs]\n"
    graded = domains.grade_response(scale_record, as_strings)
    assert graded["correct"] is False and graded["detail"].startswith("failed: 1/6")  # only [] == [] passes
    loop = domains.grade_code(scale_record, "def scale_shift(xs):\n    while True:\n        pass\n",
                              domains.sandbox.Limits(wall_seconds=3, cpu_seconds=1))
    assert loop["correct"] is False and loop["detail"].startswith("timeout: 0/6")
    escape = domains.grade_response(scale_record, "import socket\nsocket.socket()\n" + as_strings)
    assert escape["correct"] is False and escape["detail"].startswith("blocked")


def _as_scale_shift(code: str) -> str:
    return code.replace("def add(a, b):", "def scale_shift(*a):").replace("name == 'add'", "name == 'scale_shift'")


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_issue_13_attacks_on_the_code_grader_grade_failing(scale_record, attack):
    """Each way a wrong candidate once graded as correct (issue 13) grades failing through grade_code."""
    graded = domains.grade_code(scale_record, f"```python\n{_as_scale_shift(ATTACKS[attack])}```",
                                domains.sandbox.Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256))
    assert graded["correct"] is False and graded["tests_passed"] < graded["tests_total"] == 6, graded
    assert len(graded["detail"]) < 500


def test_code_cases_keep_expected_values_out_of_the_calls_and_refuse_malformed_answers(scale_record):
    answer = json.loads(scale_record["answer"])
    cases = domains.code.code_cases(scale_record["answer"])
    assert [(c.function, c.args, c.expected) for c in cases] == \
        [("scale_shift", t["args"], t["expected"]) for t in answer["tests"]]
    for bad in ({"entry_point": "x; import os", "tests": []}, {"entry_point": "f", "tests": [{"args": 1}]},
                {"entry_point": "f"}):
        with pytest.raises(ValueError):
            domains.code.code_cases(json.dumps(bad))


GRADER = ("import json, sys\nfrom judgeflow import domains\nsys.path.insert(0, sys.argv[1])\n"
          "from test_sandbox import ENVIRON_THIEF\n"
          "record = domains.synthetic_code('g', 1, 0, families=['scale_shift'])[0]\n"
          "code = ENVIRON_THIEF.replace('def add(a, b):', 'def scale_shift(*a):').replace('if a == 1', 'if False')\n"
          "print(json.dumps(domains.grade_code(record, code)))\n")


def test_issue_13_the_api_key_never_reaches_the_graded_record():
    """The key is in the grading process's environment from its start, as in a pipeline; the candidate tries
    /proc/<pid>/environ and returns, prints and raises what it finds; nothing of it reaches the record."""
    secret = "jf-secret-" + os.urandom(12).hex()
    done = subprocess.run([sys.executable, "-c", GRADER, str(Path(__file__).parent)],
                          env={**os.environ, "JUDGEFLOW_TEST_API_KEY": secret}, capture_output=True, text=True,
                          timeout=120, check=True)
    graded = json.loads(done.stdout)
    assert graded["correct"] is False and secret not in done.stdout and secret[:12] not in done.stdout


# ---------------------------------------------------------------------------------------------------------
# Tool-use grading


@pytest.fixture(scope="module")
def weather():
    """A get_weather question with city and days but no unit (default 'celsius')."""
    for record in domains.synthetic_tool_use("w", 200, 0, tools=["get_weather"]):
        args = json.loads(record["answer"])["arguments"]
        if set(args) == {"city", "days"}:
            return record
    raise AssertionError("no such question")


def call(name, **arguments):
    return json.dumps({"name": name, "arguments": arguments})


@pytest.mark.parametrize("make_text,correct,detail", [
    (lambda c, d: f"Sure.\n```json\n{call('get_weather', city=c, days=d)}\n```", True, "ok"),
    (lambda c, d: call("get_weather", city=c.lower(), days=d, unit="celsius"), True, "ok"),  # default spelled out
    (lambda c, d: call("get_weather", city=c, days=float(d)), True, "ok"),  # 3.0 is the integer 3
    (lambda c, d: call("get_weather", city=c, days=d, unit="fahrenheit"), False, "wrong_value"),
    (lambda c, d: call("get_weather", city=c, days=d + 1), False, "wrong_value"),
    (lambda c, d: call("get_weather", city=c), False, "wrong_value"),  # days falls back to 1
    (lambda c, d: call("get_weather", city=c, days=True), False, "wrong_type"),
    (lambda c, d: call("get_weather", city=c, days=d, unit="kelvin"), False, "invalid_value"),
    (lambda c, d: call("get_weather", days=d), False, "missing_required"),
    (lambda c, d: call("get_weather", city=c, days=d, hourly=True), False, "unexpected_parameter"),
    (lambda c, d: call("get_forecast", city=c, days=d), False, "unknown_tool"),
    (lambda c, d: json.dumps({"tool": "get_weather", "args": {"city": c}}), False, "not_a_call"),
    (lambda c, d: json.dumps({"name": "get_weather", "arguments": [c]}), False, "not_a_call"),
    (lambda c, d: f"I would call get_weather for {c}.", False, "no_json"),
    (lambda c, d: '{"name": "get_weather", "arguments": {"city": "' + c + '"}', False, "json_syntax"),
])
def test_tool_use_grader(weather, make_text, correct, detail):
    args = json.loads(weather["answer"])["arguments"]
    graded = domains.grade_response(weather, make_text(args["city"], args["days"]))
    assert (graded["correct"], graded["detail"].split(":")[0]) == (correct, detail), graded


def test_tool_use_grader_names_a_wrong_but_valid_tool(weather):
    other = next(t for t in weather["tools"] if t["name"] != "get_weather")
    params = other["parameters"]
    sample = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "array": ["x"]}
    arguments = {p: sample[params["properties"][p]["type"]] for p in params["required"]}
    graded = domains.grade_response(weather, call(other["name"], **arguments))
    assert graded["detail"] == f"wrong_tool: called {other['name']}, the request needs get_weather"


# ---------------------------------------------------------------------------------------------------------
# Error injection


def test_every_tool_use_injection_grades_incorrect_with_the_right_detail():
    records = domains.synthetic_tool_use("inj", 80, 5)
    variants = set()
    for record in records:
        for n, method in enumerate(injection.INJECTION_METHODS["tool_use"]):
            rng = random.Random(f"{record['id']}:{n}")
            injected = injection.inject_error(record, method, rng)
            assert (injected["method"], injected["first_error_step"]) == (method, None)
            graded = domains.grade_response(record, injected["text"])
            assert graded["correct"] is False
            assert graded["detail"].split(":")[0] == injection.EXPECTED_DETAIL[method], (injected, graded)
            if method == "json_syntax":
                variants.add(injected["detail"])
                with pytest.raises(json.JSONDecodeError):
                    json.loads(injected["text"])
            elif method in ("wrong_type", "missing_required"):
                parameter = re.search(r"'([a-z_]+)'", injected["detail"]).group(1)
                assert f"'{parameter}'" in graded["detail"]
            else:
                added = re.search(r"'([a-z_]+)'", injected["detail"]).group(1)
                assert graded["detail"].startswith(f"unexpected_parameter: '{added}'")
    assert variants == set(injection.JSON_SYNTAX_VARIANTS)


def test_wrong_type_injection_by_parameter_type():
    record = next(r for r in domains.synthetic_tool_use("types", 100, 1, tools=["order_food"]))
    truth = json.loads(record["answer"])["arguments"]
    seen = {}
    for seed in range(40):
        injected = json.loads(injection.inject_error(record, "wrong_type", random.Random(seed))["text"])
        for key, value in injected["arguments"].items():
            if value != truth[key]:
                seen[key] = value
    assert seen == {"restaurant": [truth["restaurant"]], "items": ", ".join(truth["items"]),
                    "delivery": "true" if truth["delivery"] else "false"}


HAND = {"id": "hand-1", "question": "q", "answer": "9",
        "solution": "Step 1: 4 + 3 = 7\nStep 2: 7 * 2 = 14\nStep 3: 14 - 5 = 9\nThe answer is 9."}


def test_arithmetic_slip_by_hand():
    injected = injection.inject_error(HAND, "arithmetic_slip", random.Random(0), step=2)
    lines = injected["text"].splitlines()
    assert injected["first_error_step"] == 2 and lines[0] == "Step 1: 4 + 3 = 7"
    wrong = int(re.fullmatch(r"Step 2: 7 \* 2 = (-?\d+)", lines[1]).group(1))
    assert wrong != 14
    assert lines[2:] == [f"Step 3: {wrong} - 5 = {wrong - 5}", f"The answer is {wrong - 5}."]
    assert domains.grade_response(HAND, injected["text"])["correct"] is False
    assert domains.grade_response(HAND, HAND["solution"])["correct"] is True


def test_arithmetic_slip_label_is_exact_on_generated_traces():
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
    step = re.compile(r"Step (\d+): (-?\d+) ([-+*]) (-?\d+) = (-?\d+)")
    for record in data.synthetic_arithmetic("arith", 40, 2, 6, 30, 4):
        original = record["solution"].splitlines()
        for i in range(1, len(original)):
            injected = injection.inject_error(record, "arithmetic_slip", random.Random(i), step=i)
            lines = injected["text"].splitlines()
            assert injected["first_error_step"] == i and len(lines) == len(original)
            assert lines[:i - 1] == original[:i - 1]
            results = []
            for number, line in enumerate(lines[:-1], start=1):
                n, a, op, b, c = step.fullmatch(line).groups()
                assert int(n) == number
                assert (ops[op](int(a), int(b)) == int(c)) is (number != i)  # only step i is wrong
                if results:
                    assert int(a) == results[-1]  # later steps carry the wrong value
                results.append(int(c))
            assert lines[-1] == f"The answer is {results[-1]}." and str(results[-1]) != record["answer"]
            assert domains.grade_response(record, injected["text"])["correct"] is False


def test_injection_rejects_bad_input():
    with pytest.raises(ValueError, match="no injection method 'json_syntax' for domain 'math'"):
        injection.inject_error(HAND, "json_syntax", random.Random(0))
    with pytest.raises(ValueError, match="domain 'code'"):
        injection.inject_error({"id": "c", "domain": "code"}, "arithmetic_slip", random.Random(0))
    with pytest.raises(ValueError, match="outside 1..3"):
        injection.inject_error(HAND, "arithmetic_slip", random.Random(0), step=4)
    gsm8k_style = {**HAND, "solution": "She has 4 + 3 = 7 apples.\nThe answer is 7."}
    with pytest.raises(ValueError, match="record 'hand-1' field 'solution': line 1"):
        injection.inject_error(gsm8k_style, "arithmetic_slip", random.Random(0))
    unchained = {**HAND, "solution": "Step 1: 4 + 3 = 7\nStep 2: 8 * 2 = 16\nThe answer is 16."}
    with pytest.raises(ValueError, match="step 2 does not start from the result of step 1"):
        injection.inject_error(unchained, "arithmetic_slip", random.Random(0))


# ---------------------------------------------------------------------------------------------------------
# Registry


def test_math_is_the_default_domain():
    record = data.synthetic_arithmetic("arith", 1, 2, 3, 10, 0)[0]
    assert "domain" not in record
    assert domains.solve_prompt(record) == SOLVE_PROMPT.format(question=record["question"])
    assert domains.grade_response(record, record["solution"]) == {
        "extracted": record["answer"], "method": "marker", "correct": True, "detail": "ok"}
    assert domains.grade_response(record, "no idea")["detail"] == "no_answer"
    assert domains.grade_response({**record, "domain": "math"}, "The answer is -1.")["detail"] == "wrong_answer"


def test_solve_prompts_and_unknown_domain():
    code = domains.synthetic_code("c", 1, 0)[0]
    tool = domains.synthetic_tool_use("t", 1, 0)[0]
    assert domains.solve_prompt(code).startswith(code["question"]) and "```python" in domains.solve_prompt(code)
    assert domains.solve_prompt(tool).startswith(tool["question"]) and "JSON" in domains.solve_prompt(tool)
    with pytest.raises(ValueError, match="record 'x-1': field 'domain' is 'chat'"):
        domains.grade_response({"id": "x-1", "domain": "chat"}, "hi")
