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

from collections.abc import Callable
from dataclasses import dataclass

from judgeflow.data import questions as data
from judgeflow.domains.code import CODE_PROMPT, grade_code, synthetic_code
from judgeflow.domains.tool_use import TOOL_USE_PROMPT, grade_tool_use, synthetic_tool_use
from judgeflow.judge.templates import SOLVE_PROMPT

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
