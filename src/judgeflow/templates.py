"""Pairwise judge templates: an item and an order become chat messages; every rendered prompt keeps its id."""

from __future__ import annotations

import hashlib

_JUDGE_SYSTEM = "You are a careful, impartial judge of answers to questions."
_PAIR = ("Decide which response answers the question correctly.\n\n"
         "[Question]\n{question}\n\n"
         "[Response A]\n{response_a}\n\n"
         "[Response B]\n{response_b}\n\n")
_VERDICT_TAGS = "[[A]] if Response A is better, [[B]] if Response B is better."

TEMPLATES = {
    # Critique then verdict, the protocol RISE and Self-Taught Evaluators train on.
    "pairwise_critique_en": {
        "system": _JUDGE_SYSTEM,
        "user": _PAIR + "Check each response step by step and say where it goes wrong, if it does. "
                        "End with your verdict on its own line: " + _VERDICT_TAGS,
    },
    # Direct judgment (FARE): the verdict alone, no critique; cheaper at inference time.
    "pairwise_direct_en": {
        "system": _JUDGE_SYSTEM,
        "user": _PAIR + "Reply with the verdict only: " + _VERDICT_TAGS,
    },
}


# What the generator models are asked in generate-then-grade: the answer line is what data.extract_answer finds.
SOLVE_PROMPT = "{question}\nSolve it step by step and finish with: The answer is <number>."


def order_label(item_id: str, seed: int) -> str:
    """Which position holds the chosen response in the 'original' order: a seeded, balanced coin per item."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return "A" if digest[0] % 2 == 0 else "B"


def judge_prompt(item: dict, order: str, template_id: str, seed: int) -> dict:
    """Render one pairwise item in one order ('original' or 'swapped') into {messages, label, ...}."""
    label = order_label(item["id"], seed)
    if order == "swapped":
        label = "B" if label == "A" else "A"
    elif order != "original":
        raise ValueError(f"order must be 'original' or 'swapped', got {order!r}")
    first, second = (item["chosen"], item["rejected"]) if label == "A" else (item["rejected"], item["chosen"])
    template = TEMPLATES[template_id]
    messages = []
    if template.get("system"):
        messages.append({"role": "system", "content": template["system"]})
    messages.append({"role": "user", "content": template["user"].format(
        question=item["question"], response_a=first, response_b=second)})
    return {"item_id": item["id"], "order": order, "label": label, "template_id": template_id,
            "messages": messages}
