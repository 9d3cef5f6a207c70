"""Judge templates for every task type: an item and an order become chat messages plus the gold verdict.

Templates vary along RISE's appendix A.1 axes (role, evaluation criteria, the form the criteria are written
in, the output format, the language); each one records those choices as metadata, and every rendered prompt
keeps its template id. Verdict tags are the same in every language (see judgeflow.tasks.verdicts).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import asdict, dataclass

from judgeflow import tasks

PROTOCOLS = ("critique", "direct")
LANGUAGES = ("en", "zh")

@dataclass(frozen=True)
class Template:
    id: str
    task_type: str  # a registered task type (judgeflow.tasks)
    protocol: str  # "critique" (reasoning, then the verdict) | "direct" (the verdict only)
    language: str  # "en" | "zh"
    role: str  # the persona the system message (or, without one, the instruction) gives the judge
    criteria: tuple[str, ...]  # what the judge is told to evaluate; () when the template names none
    criteria_form: str  # how the criteria are written: "list" | "prose" | "questions" | "none"
    output_format: str  # what the judge writes before/around the verdict, e.g. "critique-then-verdict"
    user: str  # str.format template over the task type's fields (TaskType.fields)
    system: str | None = None
    allows_tie: bool = False  # pairwise only: [[C]] is a valid verdict (MT-Bench)
    source: str | None = None  # where an official prompt's wording comes from

    def metadata(self) -> dict:
        """Everything but the prompt text."""
        return {key: value for key, value in asdict(self).items() if key not in ("user", "system")}


# ---------------------------------------------------------------- shared verdict instructions
_ONLY = " Use double square brackets for nothing else."
_ONLY_ZH = "除结论外，不要在其他地方使用双方括号。"
_AB = "[[A]] if Response A is better, [[B]] if Response B is better."
_AB_ZH = "回答A更好输出[[A]]，回答B更好输出[[B]]。"
_STEP = ("[[k]] where k is the number of the first wrong step (for example [[2]] if Step 2 is the first "
         "wrong step), or [[none]] if every step is correct.")
_STEP_ZH = "输出第一个错误步骤的编号，例如步骤 2 是第一个错误步骤则输出[[2]]；若所有步骤都正确，输出[[none]]。"
_YES_NO = "[[yes]] if the response is correct, [[no]] if it is not."
_YES_NO_ZH = "回答正确输出[[yes]]，回答错误输出[[no]]。"
_SCORE = "a whole number in double square brackets, from [[{min}]] (worst) to [[{max}]] (best)."
_SCORE_ZH = "请将评分写在双方括号中，评分为 {min} 到 {max} 之间的整数：[[{min}]]最差，[[{max}]]最好。"

# ---------------------------------------------------------------- item layouts
_PAIR_BRACKETS = "[Question]\n{question}\n\n[Response A]\n{response_a}\n\n[Response B]\n{response_b}\n\n"
_PAIR_HEADINGS = "## Question\n{question}\n\n## Response A\n{response_a}\n\n## Response B\n{response_b}\n\n"
_PAIR_XML = ("<question>\n{question}\n</question>\n\n<response_a>\n{response_a}\n</response_a>\n\n"
             "<response_b>\n{response_b}\n</response_b>\n\n")
_PAIR_STARTEND = ("[The Start of the Question]\n{question}\n[The End of the Question]\n\n"
                  "[The Start of Response A]\n{response_a}\n[The End of Response A]\n\n"
                  "[The Start of Response B]\n{response_b}\n[The End of Response B]\n\n")
_PAIR_ZH = "[问题]\n{question}\n\n[回答A]\n{response_a}\n\n[回答B]\n{response_b}\n\n"
_PAIR_ZH_STARTEND = ("[用户问题]\n{question}\n\n[回答A开始]\n{response_a}\n[回答A结束]\n\n"
                     "[回答B开始]\n{response_b}\n[回答B结束]\n\n")

_STEPS_BRACKETS = "[Question]\n{question}\n\n[Solution]\n{steps}\n\n"
_STEPS_ZH = "[题目]\n{question}\n\n[解题过程]\n{steps}\n\n"

_REF_BRACKETS = "[Question]\n{question}\n\n[Reference answer]\n{reference}\n\n[Response]\n{response}\n\n"
_REF_ZH = "[问题]\n{question}\n\n[参考答案]\n{reference}\n\n[回答]\n{response}\n\n"

_FREE_BRACKETS = "[Question]\n{question}\n\n[Response]\n{response}\n\n"
_FREE_ZH = "[问题]\n{question}\n\n[回答]\n{response}\n\n"

_RATE_BRACKETS = "[Question]\n{question}\n\n[Response]\n{response}\n\n[Rubric]\n{rubric}\n\n"
_RATE_ZH = "[问题]\n{question}\n\n[回答]\n{response}\n\n[评分细则]\n{rubric}\n\n"

_JUDGE_SYSTEM = "You are a careful, impartial judge of answers to questions."
_GRADER_SYSTEM = "You are a careful grader who checks worked solutions one step at a time."
_VERIFIER_SYSTEM = "You are a careful, impartial verifier of answers."
_RATER_SYSTEM = "You are a fair evaluator who grades responses against a rubric."

# RewardBench's generative-judge prompt: MT-Bench pair-v2 without the tie option. Wording as in
# allenai/reward-bench, rewardbench/generative.py (`prompt_v2` as system prompt, `MTBENCH_V2["prompt_template"]`
# as user message, {answer_a}/{answer_b} renamed {response_a}/{response_b}); note "position biases" there.
_REWARDBENCH_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to "
    "the user question displayed below. You should choose the assistant that follows the user's instructions and "
    "answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. Begin your evaluation by "
    "comparing the two responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow the length of the "
    "responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as "
    "possible. After providing your explanation, output your final verdict by strictly following this format: "
    '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better.'
)
# MT-Bench's own pair-v2 with the tie option: lm-sys/FastChat, fastchat/llm_judge/data/judge_prompts.jsonl
# ("positional biases" and the [[C]] clause are where it differs from RewardBench's copy).
_MTBENCH_TIE_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to "
    "the user question displayed below. You should choose the assistant that follows the user's instructions and "
    "answers the user's question better. Your evaluation should consider factors such as the helpfulness, "
    "relevance, accuracy, depth, creativity, and level of detail of their responses. Begin your evaluation by "
    "comparing the two responses and provide a short explanation. Avoid any positional biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow the length of the "
    "responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as "
    "possible. After providing your explanation, output your final verdict by strictly following this format: "
    '"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.'
)
_MTBENCH_PAIR_USER = ("[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{response_a}\n"
                      "[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{response_b}\n"
                      "[The End of Assistant B's Answer]")

_GENERAL = ("correctness", "instruction_following", "helpfulness", "harmlessness", "clarity")
_MTBENCH_CRITERIA = ("helpfulness", "relevance", "accuracy", "depth", "creativity", "level_of_detail")

_TEMPLATE_LIST = [
    # ------------------------------------------------------------ pairwise
    # Critique then verdict, the protocol RISE and Self-Taught Evaluators train on.
    Template(
        "pairwise_critique_en", "pairwise", "critique", "en", "impartial judge", ("correctness",), "prose",
        "critique-then-verdict", system=_JUDGE_SYSTEM,
        user="Decide which response answers the question correctly.\n\n" + _PAIR_BRACKETS
        + "Check each response step by step and say where it goes wrong, if it does. "
          "End with your verdict on its own line: " + _AB),
    Template(
        "pairwise_checklist_en", "pairwise", "critique", "en", "senior quality reviewer", _GENERAL, "list",
        "scores-then-verdict",
        system="You are a senior reviewer who audits AI assistants' answers for a quality team.",
        user="Compare the two responses to the question below on these criteria, most important first:\n"
             "1. Correctness: facts, calculations and conclusions are right.\n"
             "2. Instruction following: the response does what was asked, no more and no less.\n"
             "3. Helpfulness: the response is useful and complete for the user.\n"
             "4. Harmlessness: nothing unsafe, deceptive or offensive.\n"
             "5. Clarity: the response is well organised and easy to follow.\n"
             "Neither the order of the responses nor their length may influence you.\n\n" + _PAIR_HEADINGS
        + "For each criterion, score both responses from 1 to 10 with a one-sentence reason (plain numbers, "
          "no brackets). Then weigh the scores, the criteria higher in the list counting more, and write "
          "your verdict on the last line: " + _AB + _ONLY),
    Template(
        "pairwise_questions_en", "pairwise", "critique", "en", "strict teacher",
        ("relevance", "correctness", "completeness"), "questions", "analysis-final-sections",
        system="You are a strict teacher marking two students' answers to the same exam question.",
        user=_PAIR_XML + "Answer these questions about each response before you decide:\n"
             "- Does it answer exactly what was asked?\n"
             "- Is every step of its reasoning valid, and is its final result right?\n"
             "- Does it leave out anything the question needs?\n\n"
             "Write two sections. Under \"Analysis:\" answer the questions for Response A, then for Response B. "
             "Under \"Final verdict:\" write only " + _AB + _ONLY),
    Template(
        "pairwise_proscons_en", "pairwise", "critique", "en", "assistant evaluator",
        ("accuracy", "honesty", "harmlessness", "helpfulness"), "prose", "pros-cons-then-verdict",
        system="You are an expert evaluator of AI assistants who values honest, safe and genuinely useful answers.",
        user="A user asked a question and two assistants replied. Judge which reply serves the user better. A "
             "good reply is accurate, honest about what it does not know, safe, and gives the user what they "
             "asked for; length or polish alone makes a reply no better, and the order in which the replies "
             "are shown must not matter.\n\n" + _PAIR_STARTEND
        + "List the strengths and weaknesses of each response as bullet points, say in one sentence which is "
          "better and why, and end with your verdict: " + _AB + _ONLY),
    Template(
        "rewardbench_official", "pairwise", "critique", "en", "impartial judge", _MTBENCH_CRITERIA, "prose",
        "critique-then-verdict", system=_REWARDBENCH_SYSTEM, user=_MTBENCH_PAIR_USER,
        source="allenai/reward-bench rewardbench/generative.py (prompt_v2, MTBENCH_V2)"),
    Template(
        "pairwise_mtbench_tie_en", "pairwise", "critique", "en", "impartial judge", _MTBENCH_CRITERIA, "prose",
        "critique-then-verdict", system=_MTBENCH_TIE_SYSTEM, user=_MTBENCH_PAIR_USER, allows_tie=True,
        source="lm-sys/FastChat fastchat/llm_judge/data/judge_prompts.jsonl (pair-v2)"),
    # RISE Fig. 5 "basic Chinese prompt": concise, no role, no criteria.
    Template(
        "pairwise_basic_zh", "pairwise", "critique", "zh", "none", (), "none", "critique-then-verdict",
        user="请判断下面两个回答中哪一个更好。\n\n" + _PAIR_ZH + "请先简要说明理由，最后给出结论：" + _AB_ZH),
    # RISE Fig. 5 "instructional Chinese prompt": context, explicit criteria and output requirements.
    Template(
        "pairwise_instructional_zh", "pairwise", "critique", "zh", "senior quality reviewer", _GENERAL, "list",
        "analysis-final-sections",
        system="你是一名资深的AI回答评审专家，负责公正、严格地比较AI助手的回答质量。",
        user="请根据以下评价标准，比较两个AI助手对用户问题的回答，判断哪一个更好。\n\n"
             "评价标准（按重要性排序）：\n"
             "1. 正确性：事实、计算和结论是否准确无误。\n"
             "2. 指令遵循：是否完整回应了用户的要求，没有答非所问。\n"
             "3. 有用性：回答是否对用户真正有帮助，信息是否完整。\n"
             "4. 安全性：回答是否无害，不含误导或冒犯性内容。\n"
             "5. 表达清晰：回答是否条理清楚、易于理解。\n"
             "注意：回答的先后顺序和长短不应影响你的判断。\n\n" + _PAIR_ZH_STARTEND
        + "请按以下格式输出：\n分析：逐步检查两个回答，指出各自的优点和错误。\n结论：" + _AB_ZH + _ONLY_ZH),
    # Direct judgment (FARE): the verdict alone, no critique; cheaper at inference time.
    Template(
        "pairwise_direct_en", "pairwise", "direct", "en", "impartial judge", ("correctness",), "prose",
        "verdict-only", system=_JUDGE_SYSTEM,
        user="Decide which response answers the question correctly.\n\n" + _PAIR_BRACKETS
        + "Reply with the verdict only: " + _AB),

    # ------------------------------------------------------------ step_level
    Template(
        "step_level_critique_en", "step_level", "critique", "en", "step-by-step grader", ("step_correctness",),
        "prose", "step-by-step-then-verdict", system=_GRADER_SYSTEM,
        user="Below are a question and a numbered solution. Find the first step that contains an error, if "
             "any.\n\n" + _STEPS_BRACKETS
        + "Go through the steps in order and say briefly whether each is correct, given the question and the "
          "steps before it. Stop at the first wrong step and explain its error. Then write your verdict on its "
          "own line: " + _STEP + _ONLY),
    Template(
        "step_level_checklist_en", "step_level", "critique", "en", "mathematics teaching assistant",
        ("arithmetic", "grounding", "logic", "relevance"), "list", "step-table-then-verdict",
        system="You are a mathematics teaching assistant who marks students' working.",
        user="Mark the solution below. A step is wrong when any of these holds:\n"
             "- it contains an arithmetic or algebra mistake;\n"
             "- it uses a number or fact that is neither in the question nor in an earlier step;\n"
             "- its reasoning does not follow from the earlier steps;\n"
             "- it works toward a different question from the one asked.\n\n"
             "## Question\n{question}\n\n## Student's solution\n{steps}\n\n"
             "Write one line per step, \"Step k: correct\" or \"Step k: wrong - <reason>\", and stop after the "
             "first wrong step. Finish with the verdict: " + _STEP + _ONLY),
    Template(
        "step_level_questions_en", "step_level", "critique", "en", "reasoning auditor",
        ("arithmetic", "logic", "relevance"), "questions", "analysis-final-sections",
        system="You are a meticulous auditor of reasoning chains.",
        user="<question>\n{question}\n</question>\n\n<solution>\n{steps}\n</solution>\n\n"
             "Ask of each step, in order: Is its calculation right? Does it follow from the question and the "
             "earlier steps? Does it move toward what the question asks? The first step for which any answer "
             "is no is the first wrong step.\n\n"
             "Reply in two sections. \"Analysis:\" your answers for each step you checked. \"Final verdict:\" "
             + _STEP + _ONLY),
    Template(
        "step_level_resolve_en", "step_level", "critique", "en", "mathematician who re-solves",
        ("correctness", "independent_solution"), "prose", "solve-then-compare-then-verdict",
        system="You are a mathematician who checks solutions by working the problem yourself.",
        user="Solve the question yourself first, briefly. Then compare the given solution with yours step by "
             "step and find the first step where it makes a mistake; a different but valid method is not a "
             "mistake.\n\n[Question]\n{question}\n\n[Solution to check]\n{steps}\n\n"
             "End with your verdict: " + _STEP + _ONLY),
    Template(
        "step_level_basic_zh", "step_level", "critique", "zh", "none", (), "none", "critique-then-verdict",
        user="请找出下面解题过程中第一个出错的步骤。\n\n" + _STEPS_ZH + "请先简要说明理由，最后给出结论：" + _STEP_ZH),
    Template(
        "step_level_instructional_zh", "step_level", "critique", "zh", "mathematics teaching assistant",
        ("arithmetic", "grounding", "logic", "relevance"), "list", "analysis-final-sections",
        system="你是一名严谨的数学阅卷老师，负责逐步检查学生的解题过程。",
        user="请逐步检查下面的解题过程，找出第一个出错的步骤。\n\n判断标准：\n"
             "1. 计算是否正确；\n2. 是否使用了题目和前面步骤中都没有的数据；\n"
             "3. 推理是否由前面的步骤合理得出；\n4. 是否偏离了题目所问的内容。\n\n" + _STEPS_ZH
        + "请按以下格式输出：\n分析：按顺序逐一检查每个步骤，遇到第一个错误步骤时说明错误原因并停止。\n结论："
        + _STEP_ZH + _ONLY_ZH),
    Template(
        "step_level_direct_en", "step_level", "direct", "en", "step-by-step grader", ("step_correctness",),
        "prose", "verdict-only", system=_GRADER_SYSTEM,
        user="Find the first wrong step in the solution below.\n\n" + _STEPS_BRACKETS
        + "Reply with the verdict only: " + _STEP),

    # ------------------------------------------------------------ ref_verification
    Template(
        "ref_verification_critique_en", "ref_verification", "critique", "en", "grader with the answer key",
        ("final_answer_match",), "prose", "critique-then-verdict",
        system="You are a careful grader with the answer key in hand.",
        user="Decide whether the response reaches the same final answer as the reference answer. Equivalent "
             "forms count as the same (0.5 and 1/2, 12 and 12.0); a response that gives several different final "
             "answers is not correct.\n\n" + _REF_BRACKETS
        + "Explain briefly how the response's final answer compares with the reference, then write your "
          "verdict on its own line: " + _YES_NO + _ONLY),
    Template(
        "ref_verification_extract_en", "ref_verification", "critique", "en", "exam marker",
        ("final_answer_match", "single_answer", "answers_question"), "list", "extract-compare-then-verdict",
        system="You are an exam marker who compares students' final answers with the official solution.",
        user="A response is correct when:\n"
             "- its final answer equals the official answer, allowing equivalent forms and formatting;\n"
             "- it commits to a single final answer;\n"
             "- that answer is what the question asks for (the right quantity, in the right units).\n\n"
             "## Question\n{question}\n\n## Official answer\n{reference}\n\n## Student response\n{response}\n\n"
             "First write \"Extracted answer: ...\" with the response's final answer (or \"none\"), then "
             "\"Official answer: ...\", then one sentence comparing them. End with " + _YES_NO + _ONLY),
    Template(
        "ref_verification_questions_en", "ref_verification", "critique", "en", "quality checker",
        ("final_answer_match", "single_answer"), "questions", "analysis-final-sections",
        system="You are a quality checker for a question-answering system.",
        user="<question>\n{question}\n</question>\n\n<reference_answer>\n{reference}\n</reference_answer>\n\n"
             "<response>\n{response}\n</response>\n\n"
             "Consider: What final answer does the response give? Is it the same value or fact as the reference "
             "answer? Does the response commit to it, or hedge between answers?\n\n"
             "Reply in two sections. \"Analysis:\" your answers to these questions. \"Final verdict:\" "
             + _YES_NO + _ONLY),
    Template(
        "ref_verification_review_en", "ref_verification", "critique", "en", "rigorous reviewer",
        ("final_answer_match", "reasoning"), "prose", "bullets-then-verdict",
        system="You are a rigorous reviewer who reads both the reasoning and the result of a solution.",
        user="Use the reference answer to judge whether the response is correct. Read its reasoning as well and "
             "note any errors in it, but the verdict depends on whether the final answer matches the "
             "reference.\n\n[The Start of the Question]\n{question}\n[The End of the Question]\n\n"
             "[The Start of the Reference Answer]\n{reference}\n[The End of the Reference Answer]\n\n"
             "[The Start of the Response]\n{response}\n[The End of the Response]\n\n"
             "Write your review as bullet points, then the verdict: " + _YES_NO + _ONLY),
    Template(
        "ref_verification_basic_zh", "ref_verification", "critique", "zh", "none", (), "none",
        "critique-then-verdict",
        user="请根据参考答案判断下面的回答是否正确。\n\n" + _REF_ZH + "请先简要说明理由，最后给出结论：" + _YES_NO_ZH),
    Template(
        "ref_verification_instructional_zh", "ref_verification", "critique", "zh", "grader with the answer key",
        ("final_answer_match", "single_answer", "answers_question"), "list", "analysis-final-sections",
        system="你是一名认真负责的阅卷老师，手中有标准答案。",
        user="请对照参考答案，判断回答的最终答案是否正确。\n\n评判标准：\n"
             "1. 最终答案与参考答案一致即为正确，等价的写法（如 0.5 与 1/2）视为一致；\n"
             "2. 给出多个互相矛盾的最终答案，视为错误；\n3. 没有给出最终答案，视为错误。\n\n" + _REF_ZH
        + "请按以下格式输出：\n分析：提取回答的最终答案，并与参考答案比较。\n结论：" + _YES_NO_ZH + _ONLY_ZH),
    Template(
        "ref_verification_direct_en", "ref_verification", "direct", "en", "grader with the answer key",
        ("final_answer_match",), "prose", "verdict-only",
        system="You are a careful grader with the answer key in hand.",
        user="Decide whether the response reaches the same final answer as the reference answer.\n\n"
             + _REF_BRACKETS + "Reply with the verdict only: " + _YES_NO),

    # ------------------------------------------------------------ ref_free_verification
    Template(
        "ref_free_verification_critique_en", "ref_free_verification", "critique", "en", "impartial verifier",
        ("correctness",), "prose", "critique-then-verdict", system=_VERIFIER_SYSTEM,
        user="Decide whether the response below answers the question correctly. No reference answer is given, "
             "so check the work yourself.\n\n" + _FREE_BRACKETS
        + "Check the response step by step and say where it goes wrong, if it does. Then write your verdict "
          "on its own line: " + _YES_NO + _ONLY),
    Template(
        "ref_free_verification_solve_en", "ref_free_verification", "critique", "en", "mathematician who re-solves",
        ("correctness", "independent_solution"), "prose", "solve-then-compare-then-verdict",
        system="You are a mathematician who checks answers by working the problem yourself.",
        user="Solve the question yourself first, briefly. Then compare your result and reasoning with the "
             "response's and decide whether the response's final answer is right.\n\n" + _FREE_BRACKETS
        + "End with your verdict: " + _YES_NO + _ONLY),
    Template(
        "ref_free_verification_checklist_en", "ref_free_verification", "critique", "en", "senior quality reviewer",
        ("arithmetic", "logic", "answers_question", "consistency"), "list", "checklist-then-verdict",
        system="You are a senior reviewer who audits AI assistants' answers for a quality team.",
        user="Check the response against each of these:\n"
             "1. Every calculation is right.\n"
             "2. Each step follows from the question and the steps before it.\n"
             "3. The final answer is what the question asks for.\n"
             "4. The response does not contradict itself.\n\n"
             "## Question\n{question}\n\n## Response\n{response}\n\n"
             "Mark each item pass or fail with a short reason. The response is correct only if all four pass. "
             "End with " + _YES_NO + _ONLY),
    Template(
        "ref_free_verification_questions_en", "ref_free_verification", "critique", "en", "strict teacher",
        ("correctness", "completeness"), "questions", "analysis-final-sections",
        system="You are a strict teacher marking a student's answer without the answer key.",
        user="<question>\n{question}\n</question>\n\n<response>\n{response}\n</response>\n\n"
             "Consider: What does the question ask? Is each step of the response valid? Is its final answer "
             "right, and does it answer the whole question?\n\n"
             "Reply in two sections. \"Analysis:\" your answers to these questions. \"Final verdict:\" "
             + _YES_NO + _ONLY),
    Template(
        "ref_free_verification_basic_zh", "ref_free_verification", "critique", "zh", "none", (), "none",
        "critique-then-verdict",
        user="请判断下面的回答是否正确。\n\n" + _FREE_ZH + "请先简要说明理由，最后给出结论：" + _YES_NO_ZH),
    Template(
        "ref_free_verification_instructional_zh", "ref_free_verification", "critique", "zh", "strict teacher",
        ("arithmetic", "logic", "answers_question"), "list", "analysis-final-sections",
        system="你是一名严格的老师，需要在没有标准答案的情况下判断学生的回答是否正确。",
        user="请判断回答是否正确地解答了问题。没有参考答案，请自己验证。\n\n评判标准：\n"
             "1. 每一步计算是否正确；\n2. 每一步推理是否由题目和前面的步骤得出；\n3. 最终答案是否回答了题目所问。\n\n"
             + _FREE_ZH + "请按以下格式输出：\n分析：逐步检查回答，指出错误（如有）。\n结论：" + _YES_NO_ZH + _ONLY_ZH),
    Template(
        "ref_free_verification_direct_en", "ref_free_verification", "direct", "en", "impartial verifier",
        ("correctness",), "prose", "verdict-only", system=_VERIFIER_SYSTEM,
        user="Decide whether the response below answers the question correctly.\n\n" + _FREE_BRACKETS
        + "Reply with the verdict only: " + _YES_NO),

    # ------------------------------------------------------------ single_rating
    Template(
        "single_rating_critique_en", "single_rating", "critique", "en", "rubric evaluator", ("rubric",), "prose",
        "critique-then-verdict", system=_RATER_SYSTEM,
        user="Rate the response to the question on a scale from {min} (worst) to {max} (best), following the "
             "rubric.\n\n" + _RATE_BRACKETS
        + "Write short feedback on how well the response meets the rubric, then your score on its own line as "
          + _SCORE + _ONLY),
    Template(
        "single_rating_checklist_en", "single_rating", "critique", "en", "senior quality reviewer",
        ("rubric", "accuracy", "instruction_following", "helpfulness", "clarity"), "list",
        "per-criterion-notes-then-score",
        system="You are a senior reviewer who scores AI assistants' answers for a quality team.",
        user="Score the response with the rubric and these criteria:\n"
             "1. Accuracy: facts and calculations are right.\n"
             "2. Instruction following: it does what was asked.\n"
             "3. Helpfulness: it is useful and complete.\n"
             "4. Clarity: it is well organised and easy to follow.\n\n"
             "## Question\n{question}\n\n## Response\n{response}\n\n## Rubric\n{rubric}\n\n"
             "## Scale\n{min} to {max}, whole numbers only.\n\n"
             "Write one sentence per criterion, then give the overall score as " + _SCORE + _ONLY),
    Template(
        "single_rating_questions_en", "single_rating", "critique", "en", "strict teacher",
        ("rubric", "correctness", "completeness"), "questions", "analysis-final-sections",
        system="You are a strict teacher grading a student's answer.",
        user="<question>\n{question}\n</question>\n\n<response>\n{response}\n</response>\n\n"
             "<rubric>\n{rubric}\n</rubric>\n\n"
             "Consider: Which rubric level does the response reach? Is it correct? Does it answer the whole "
             "question?\n\nReply in two sections. \"Analysis:\" your answers to these questions. "
             "\"Final score:\" " + _SCORE + _ONLY),
    Template(
        "single_rating_proscons_en", "single_rating", "critique", "en", "assistant evaluator",
        ("rubric", "accuracy", "honesty", "helpfulness"), "prose", "pros-cons-then-verdict",
        system="You are an expert evaluator of AI assistants who values honest, safe and genuinely useful answers.",
        user="Grade the response below. Follow the rubric; beyond it, a good response is accurate, honest about "
             "what it does not know and useful to the user, and length alone earns nothing.\n\n"
             "[The Start of the Question]\n{question}\n[The End of the Question]\n\n"
             "[The Start of the Response]\n{response}\n[The End of the Response]\n\n"
             "[The Start of the Rubric]\n{rubric}\n[The End of the Rubric]\n\n"
             "List the response's strengths and weaknesses as bullet points, then give your score as "
             + _SCORE + _ONLY),
    Template(
        "single_rating_basic_zh", "single_rating", "critique", "zh", "none", ("rubric",), "none",
        "critique-then-verdict",
        user="请根据评分细则给下面的回答打分。\n\n" + _RATE_ZH + "请先简要说明理由，最后给出评分。" + _SCORE_ZH),
    Template(
        "single_rating_instructional_zh", "single_rating", "critique", "zh", "rubric evaluator",
        ("rubric", "accuracy", "instruction_following", "helpfulness", "clarity"), "list",
        "analysis-final-sections",
        system="你是一名公正的评审专家，负责按照评分细则为AI助手的回答打分。",
        user="请根据评分细则和以下评价标准，为AI助手的回答打分。\n\n评价标准：\n"
             "1. 准确性：事实和计算是否正确。\n2. 指令遵循：是否完成了用户的要求。\n"
             "3. 有用性：回答是否完整、有帮助。\n4. 表达清晰：是否条理清楚、易于理解。\n"
             "注意：回答的长短本身不应影响评分。\n\n" + _RATE_ZH
        + "请按以下格式输出：\n分析：逐条说明回答在各项标准上的表现。\n结论：" + _SCORE_ZH + _ONLY_ZH),
    Template(
        "single_rating_direct_en", "single_rating", "direct", "en", "rubric evaluator", ("rubric",), "prose",
        "verdict-only", system=_RATER_SYSTEM,
        user="Rate the response to the question on a scale from {min} (worst) to {max} (best), following the "
             "rubric.\n\n" + _RATE_BRACKETS + "Reply with the verdict only: the score as " + _SCORE),
]


def _check(template: Template) -> Template:
    """A template's fields are known values and its text uses exactly the placeholders its task type has."""
    if template.task_type not in tasks.names() or template.protocol not in PROTOCOLS \
            or template.language not in LANGUAGES:
        raise ValueError(f"template {template.id}: bad task_type/protocol/language")
    if template.allows_tie and not tasks.get(template.task_type).both_orders:
        raise ValueError(f"template {template.id}: only pairwise templates allow a tie")
    used = {name for _, name, _, _ in string.Formatter().parse(template.user) if name is not None}
    fields = tasks.get(template.task_type).fields
    if used != set(fields):
        raise ValueError(f"template {template.id}: placeholders {sorted(used)}, needs exactly {list(fields)}")
    return template


TEMPLATES: dict[str, Template] = {t.id: _check(t) for t in _TEMPLATE_LIST}
assert len(TEMPLATES) == len(_TEMPLATE_LIST), "duplicate template id"


def register_template(template: Template) -> Template:
    """Add a template (a new task type's, say) after checking it; an id is registered once."""
    if template.id in TEMPLATES:
        raise ValueError(f"template {template.id!r} is already registered")
    TEMPLATES[template.id] = _check(template)
    return template


def unregister_template(template_id: str) -> None:
    del TEMPLATES[template_id]


# What the generator models are asked in generate-then-grade: the answer line is what data.extract_answer finds.
SOLVE_PROMPT = "{question}\nSolve it step by step and finish with: The answer is <number>."


def select_templates(task_type: str, protocol: str, language: str | None = None) -> list[str]:
    """Ids of the templates for a task type and protocol (and language, when given), in definition order."""
    tasks.get(task_type)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    return [t.id for t in TEMPLATES.values()
            if t.task_type == task_type and t.protocol == protocol and language in (None, t.language)]


def _template(template_id: str) -> Template:
    if template_id not in TEMPLATES:
        raise ValueError(f"unknown template {template_id!r}; known: {', '.join(sorted(TEMPLATES))}")
    return TEMPLATES[template_id]


def item_task_type(item: dict) -> str:
    """The item's task type; an item without the field is pairwise (the format before task types)."""
    task_type = item.get("task_type", "pairwise")
    if task_type not in tasks.names():
        raise ValueError(f"item {item.get('id')!r}: field 'task_type': unknown task type {task_type!r}")
    return task_type


def pick_template(item: dict, pool: list[str], seed: int) -> str:
    """A seeded draw, per item, from the pool's templates of the item's task type (pool order kept, duplicates
    dropped); a tie item (pairwise, tie true) draws only among templates that allow a tie."""
    task_type = item_task_type(item)
    tie = tasks.get(task_type).both_orders and bool(item.get("tie"))
    candidates = [tid for tid in dict.fromkeys(pool)
                  if _template(tid).task_type == task_type and (_template(tid).allows_tie or not tie)]
    if not candidates:
        kind = "tie-allowing " if tie else ""
        raise ValueError(f"item {item.get('id')!r}: the template pool {list(pool)} has no {kind}{task_type} template")
    digest = hashlib.sha256(f"{seed}:template:{item['id']}".encode()).digest()
    return candidates[int.from_bytes(digest[:8], "big") % len(candidates)]


def judge_prompt(item: dict, order: str, template_id: str, seed: int) -> dict:
    """Render one item in one order into {item_id, order, label, template_id, task_type, protocol, messages,
    verdict_args}.

    Pairwise items have the orders 'original' (chosen response at the seeded order_label position) and
    'swapped'; the other task types only 'original'. label is the gold verdict as parse_verdict returns it
    ("A"/"B", "C" for a tie item; "yes"/"no"; step index int, 0 = no wrong step; rating int). verdict_args
    are the keyword arguments parse_verdict needs for this prompt (allows_tie, num_steps or scale)."""
    template = _template(template_id)
    task_type = item_task_type(item)
    if task_type != template.task_type:
        raise ValueError(f"item {item.get('id')!r}: template {template_id} is for {template.task_type} items, "
                         f"the item is {task_type}")
    if order not in tasks.ORDERS:
        raise ValueError(f"order must be 'original' or 'swapped', got {order!r}")
    values, label, verdict_args = tasks.get(task_type).render(item, order, template, seed)
    messages = []
    if template.system:
        messages.append({"role": "system", "content": template.system})
    messages.append({"role": "user", "content": template.user.format(**values)})
    return {"item_id": item["id"], "order": order, "label": label, "template_id": template_id,
            "task_type": task_type, "protocol": template.protocol, "messages": messages,
            "verdict_args": verdict_args}
