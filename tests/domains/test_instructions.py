import re
from collections import Counter

from judgeflow.domains.instructions import (
    MODIFY_PROMPT,
    WORSE_PROMPT,
    categorise,
    clean_instruction,
    select_balanced,
    synthetic_instructions,
)

FORMS = ("explanation", "list", "writing", "advice", "rewrite")


def test_synthetic_instructions_are_seeded_and_well_formed():
    records = synthetic_instructions("ins", 40, seed=1)
    assert records == synthetic_instructions("ins", 40, seed=1)
    assert records != synthetic_instructions("ins", 40, seed=2)
    assert records != synthetic_instructions("other", 40, seed=1), "the source name is part of the seed"
    assert synthetic_instructions("ins", 10, seed=1) == records[:10], "a longer run extends a shorter one"
    assert [r["id"] for r in records[:3]] == ["ins-000000", "ins-000001", "ins-000002"]
    assert len({r["id"] for r in records}) == 40
    for record in records:
        assert (record["source"], record["kind"], record["domain"]) == ("ins", "instruction", "chat")
        assert record["category"] in FORMS and record["complexity"] in ("simple", "complex")
        assert "{" not in record["question"], "every placeholder filled"
        opening = {"explanation": "Explain ", "list": "List ", "writing": "Write a ", "advice": "Give ",
                   "rewrite": "Rewrite this sentence "}[record["category"]]
        assert record["question"].startswith(opening)
    cells = Counter((r["category"], r["complexity"]) for r in synthetic_instructions("ins", 200, seed=1))
    assert set(cells) == {(c, x) for c in FORMS for x in ("simple", "complex")}, "every cell is drawn"
    simple_list = next(r for r in records if r["category"] == "list" and r["complexity"] == "simple")
    assert re.fullmatch(r"List [345] facts about [a-zA-Z ]+\.", simple_list["question"])
    assert categorise(simple_list) == simple_list, "the generator's category and complexity are kept"


def _instruction(text, **extra):
    return {"id": extra.pop("id", "x"), "source": "s", "question": text, **extra}


def test_categorise_keyword_cues():
    cases = {
        "Please rephrase my email to sound friendlier.": "rewrite",
        "Name 5 rivers in Europe.": "list",
        "Enumerate the planets.": "list",
        "Compose a letter to my landlord.": "writing",
        "How can I sleep better?": "advice",
        "Why is the sky blue?": "explanation",
        "Describe how a bicycle gear works.": "explanation",
        "Fix this SQL query: SELECT * FORM t": "coding",
        "Calculate 12 * 7.": "math",
        "Hello there, nice weather today.": "other",
        # cues are tried in order: rewrite before writing
        "Rewrite this poem in plain words.": "rewrite",
    }
    assert {text: categorise(_instruction(text))["category"] for text in cases} == cases
    assert categorise(_instruction("Hello", category="roleplay"))["category"] == "roleplay"
    got = categorise(_instruction("Why is the sky blue?", id="q7", extra_field=1))
    assert got == {"id": "q7", "source": "s", "question": "Why is the sky blue?", "extra_field": 1,
                   "category": "explanation", "complexity": "simple"}


def test_categorise_complexity():
    def complexity(text, **extra):
        return categorise(_instruction(text, **extra))["complexity"]

    assert complexity("Describe Paris without adjectives.") == "simple", "one constraint"
    assert complexity("Describe Paris in exactly 3 sentences.") == "complex", "'exactly' and '3 sentences'"
    assert complexity("List every bridge in Paris, each with its year.") == "complex"
    assert complexity("Summarise the plot of Hamlet.") == "simple"
    assert complexity(" ".join(["word"] * 40)) == "simple"
    assert complexity(" ".join(["word"] * 41)) == "complex", "over 40 words"
    assert complexity("Describe Paris in exactly 3 sentences.", complexity="simple") == "simple", "kept"
    assert complexity("Do it only if you must.") == "complex", "'only' and 'must'"
    assert complexity("Help me understand eachother.") == "simple", "cues are whole words"


def test_select_balanced_caps_each_cell():
    records = ([_instruction("List 3 facts about owls.", id=f"l{n}") for n in range(5)]
               + [_instruction("List every owl, each with its range.", id=f"c{n}") for n in range(3)]
               + [_instruction("Why do owls hoot?", id="e0"), _instruction("Hi", id="o0", category="other")])
    kept, rejects = select_balanced(records, per_cell=2, seed=0)
    cells = Counter((r["category"], r["complexity"]) for r in kept)
    assert cells == Counter({("list", "simple"): 2, ("list", "complex"): 2, ("explanation", "simple"): 1,
                             ("other", "simple"): 1})
    assert [r["id"] for r in kept] == sorted(r["id"] for r in kept)
    assert len(rejects) == 4
    assert Counter(tuple(r["cell"]) for r in rejects) == Counter({("list", "simple"): 3, ("list", "complex"): 1})
    assert all(r["reason"] == "selection_cell_full" and r["source"] == "s" for r in rejects)
    assert sorted([r["id"] for r in kept] + [r["id"] for r in rejects]) == sorted(r["id"] for r in records)
    assert select_balanced(list(reversed(records)), 2, 0) == (kept, rejects), "input order does not matter"
    picks = {tuple(r["id"] for r in select_balanced(records, 2, seed)[0] if r["id"].startswith("l"))
             for seed in range(10)}
    assert len(picks) > 1, "which instructions fill a cell depends on the seed"
    everything, none = select_balanced(records, per_cell=None, seed=0)
    assert none == [] and len(everything) == len(records)
    assert all("category" in r and "complexity" in r for r in everything)
    assert select_balanced(records, per_cell=0, seed=0)[0] == []


def test_pair_prompts_and_clean_instruction():
    assert "Explain owls." in MODIFY_PROMPT.format(question="Explain owls.")
    worse = WORSE_PROMPT.format(question="Explain owls.", response="Owls are birds.")
    assert "[Instruction]\nExplain owls." in worse and "[Response]\nOwls are birds." in worse
    assert clean_instruction("New instruction: Explain bats to a child.\n\nThis differs because ...") == (
        "Explain bats to a child.")
    assert clean_instruction("\n\n  instruction : List 3 bats.  ") == "List 3 bats."
    assert clean_instruction("Describe the instruction: of a bat.") == "Describe the instruction: of a bat."
    assert clean_instruction("   \n\n ") == ""
