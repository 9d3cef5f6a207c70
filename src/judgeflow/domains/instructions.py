"""Open instructions (no verifiable answer): an offline seeded generator, categorisation and balanced selection,
and the prompts that make Self-Taught Evaluators' synthetic preference pairs from them."""

from __future__ import annotations

import random
import re
from collections import defaultdict

# Offline instructions in five categories, filled from small topic lists with a seed. A user with real
# instruction data (MT-Bench, WildChat, UltraFeedback prompts) loads it instead; this keeps the default run
# self-contained.
_TOPICS = ["photosynthesis", "the water cycle", "compound interest", "volcanoes", "the printing press",
           "honeybees", "recycling plastic", "sleep", "black holes", "the immune system", "bread baking",
           "electric cars", "the Roman Empire", "coral reefs", "chess openings", "public libraries"]
_AUDIENCES = ["a ten-year-old", "a busy manager", "a first-year student", "a retired engineer"]
_FORMS = {
    "explanation": ["Explain {topic} to {audience}.",
                    "Explain {topic} to {audience} in at most {n} sentences, and give one everyday example."],
    "list": ["List {n} facts about {topic}.",
             "List {n} common misconceptions about {topic}, each with a one-sentence correction."],
    "writing": ["Write a short poem about {topic}.",
                "Write a {n}-line poem about {topic} for {audience}, where every line starts with a capital letter."],
    "advice": ["Give advice to {audience} who wants to learn about {topic}.",
               "Give {audience} a {n}-step plan to learn about {topic}, with a time estimate for each step."],
    "rewrite": ["Rewrite this sentence to be more formal: '{topic} is pretty cool stuff.'",
                "Rewrite this sentence for {audience}, keeping it under {n} words: '{topic} is pretty cool stuff.'"],
}


def synthetic_instructions(source: str, num_instructions: int, seed: int) -> list[dict]:
    """Seeded open instructions, each with its category and complexity (simple: one requirement; complex:
    several constraints)."""
    rng = random.Random(f"{source}:{seed}")
    records = []
    for index in range(num_instructions):
        category = rng.choice(sorted(_FORMS))
        complexity = rng.choice(["simple", "complex"])
        form = _FORMS[category][0 if complexity == "simple" else 1]
        text = form.format(topic=rng.choice(_TOPICS), audience=rng.choice(_AUDIENCES), n=rng.randint(3, 5))
        records.append({"id": f"{source}-{index:06d}", "source": source, "kind": "instruction", "domain": "chat",
                        "question": text, "category": category, "complexity": complexity})
    return records


_CATEGORY_CUES = [
    ("coding", r"\b(code|python|function|program|sql|javascript)\b"),
    ("rewrite", r"\b(rewrite|rephrase|paraphrase|edit|translate)\b"),
    ("list", r"\b(list|enumerate|name \d+|give \d+)\b"),
    ("writing", r"\b(write|compose|draft|poem|story|essay|letter)\b"),
    ("advice", r"\b(advice|should i|how (can|do) i|plan|tips?)\b"),
    ("explanation", r"\b(explain|why|what is|describe|how does)\b"),
    ("math", r"\d+\s*[-+*/^]\s*\d+|\b(solve|calculate|equation|integral)\b"),
]
_CONSTRAINT_CUES = re.compile(r"\b(at most|at least|exactly|under|each|every|without|only|must|no more than|"
                              r"\d+ (words|sentences|lines|steps))\b", re.IGNORECASE)


def categorise(instruction: dict) -> dict:
    """The instruction with `category` (kept when the source gives one, else from keyword cues; 'other')
    and `complexity` (kept, else 'complex' when it states two or more constraints or runs over 40 words)."""
    text = instruction["question"]
    category = instruction.get("category")
    if not category:
        category = next((name for name, cue in _CATEGORY_CUES if re.search(cue, text, re.IGNORECASE)), "other")
    complexity = instruction.get("complexity")
    if not complexity:
        constraints = len(_CONSTRAINT_CUES.findall(text))
        complexity = "complex" if constraints >= 2 or len(text.split()) > 40 else "simple"
    return {**instruction, "category": category, "complexity": complexity}


def select_balanced(instructions: list[dict], per_cell: int | None, seed: int) -> tuple[list[dict], list[dict]]:
    """Categorise, then keep at most `per_cell` instructions per (category, complexity) cell, drawn with the
    seed. Returns (kept, rejects with reason 'selection_cell_full')."""
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in sorted((categorise(r) for r in instructions), key=lambda r: r["id"]):
        cells[(record["category"], record["complexity"])].append(record)
    kept, rejects = [], []
    for cell in sorted(cells):
        pool = cells[cell]
        random.Random(f"{seed}:{cell}").shuffle(pool)
        limit = len(pool) if per_cell is None else per_cell
        kept.extend(pool[:limit])
        rejects.extend({"source": r["source"], "id": r["id"], "reason": "selection_cell_full",
                        "cell": list(cell)} for r in pool[limit:])
    return sorted(kept, key=lambda r: r["id"]), rejects


# Self-Taught Evaluators: the rejected response answers a similar but different instruction, so it looks
# plausible but misses what was asked. The simpler variant asks the model for a worse answer directly.
MODIFY_PROMPT = ("Here is an instruction:\n{question}\n\nWrite one new instruction that is similar to it and on "
                 "the same topic, but asks for something different, so that a good answer to the new instruction "
                 "would not be a good answer to the original. Reply with the new instruction only.")
WORSE_PROMPT = ("Here is an instruction and a response to it.\n\n[Instruction]\n{question}\n\n[Response]\n"
                "{response}\n\nWrite a worse response to the same instruction: plausible at first sight, but "
                "less helpful, less accurate or incomplete. Reply with the worse response only.")


def clean_instruction(text: str) -> str:
    """The first non-empty paragraph of a generated instruction, without a leading label."""
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    first = paragraphs[0] if paragraphs else ""
    return re.sub(r"^(new instruction|instruction)\s*:\s*", "", first, flags=re.IGNORECASE).strip()


def instruction_pairs(rows: list[dict], backend, params, method: str, generator: str) -> list[dict]:
    """Self-Taught Evaluators' synthetic pairs, sampled by a generation backend with `params` (n=1).
    modified_instruction: the model writes a similar but different instruction and answers both; its answer to
    the modified one is the rejected response. worse_answer: the model answers, then is asked for a worse answer."""
    if not rows:
        return []

    def ask(prompts):
        return [c[0].text.strip()
                for c in backend.generate([[{"role": "user", "content": p}] for p in prompts], params)]

    answers = ask([r["question"] for r in rows])
    if method == "modified_instruction":
        modified = [clean_instruction(t) for t in ask([MODIFY_PROMPT.format(question=r["question"]) for r in rows])]
        rejected = ask([m or r["question"] for m, r in zip(modified, rows)])
    else:
        modified = [None] * len(rows)
        rejected = ask([WORSE_PROMPT.format(question=r["question"], response=a) for r, a in zip(rows, answers)])
    return [{"id": f"{r['id']}-{generator}-pair", "question_id": r["id"], "generator": generator,
             "method": method, "chosen": a, "rejected": b, "modified_instruction": m}
            for r, a, b, m in zip(rows, answers, rejected, modified)]
