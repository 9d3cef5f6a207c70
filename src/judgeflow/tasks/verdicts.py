"""Strict verdict parsing for every judge task type; a verdict is never guessed.

A verdict is written in double square brackets, the same for every template language. What a tag may hold is
the task type's (judgeflow.tasks: TaskType.read_tag); the five shipped ones:

  pairwise               [[A]] or [[B]]; [[C]] (tie) only where the template allows a tie
  step_level             [[k]], k >= 1 the number of the first wrong step; [[none]] when no step is wrong (-> 0)
  ref_verification       [[yes]] or [[no]]
  ref_free_verification  [[yes]] or [[no]]
  single_rating          [[n]], n an integer within the item's scale [min, max]

Rules (what counts as a tag, and when a text is an error):
- A tag is "[[" + text without brackets or line breaks + "]]", not directly preceded by an ASCII letter,
  digit or underscore (so indexing in quoted code, `arr[[0, 1]]`, is no tag). Spaces around the token
  inside the brackets are ignored; tokens are case-sensitive ([[a]], [[Yes]] are unknown).
- Text outside tags is never read: prose before the verdict and trailing text after the last tag
  ("[[A]] because ...", "[[4]]/5") are allowed.
- Every tag in the text counts. Errors, checked in this order:
  no_verdict            no tag at all ("Response A is better", "[A]")
  unknown_tag           some tag is not a token of the task type: [[C]] without a tie, [[A or B]], [[4.5]],
                        [[4/5]], [[]], [[n]]
  out_of_range          an integer outside the allowed range: a rating outside the scale, a step index
                        below 1 ([[0]], [[-1]]; "no wrong step" is [[none]]) or above num_steps when given
  conflicting_verdicts  tags naming different verdicts ([[A]] ... [[B]]); a verdict repeated is fine
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from judgeflow import tasks

ERRORS = ("no_verdict", "unknown_tag", "out_of_range", "conflicting_verdicts")

_TAG = re.compile(r"(?<![A-Za-z0-9_])\[\[([^\[\]\n]*)\]\]")


@dataclass(frozen=True)
class Verdict:
    verdict: str | int | None  # "A"/"B"/"C", "yes"/"no", or an int (step index, 0 = none; rating); None on error
    error: str | None  # None or one of ERRORS


def tag_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of every verdict tag ("[[A]]") in a text."""
    return [match.span() for match in _TAG.finditer(text)]


def parse_verdict(text: str, task_type: str, **verdict_args) -> Verdict:
    """The one verdict in `text` for `task_type`, or the error (see the module docstring for the rules).

    verdict_args are the task type's (a judge prompt's `verdict_args`): scale ([min, max]) is required for
    single_rating; num_steps (the number of steps shown) optionally bounds step_level indices; allows_tie admits
    [[C]] for pairwise."""
    task = tasks.get(task_type)
    task.check_args(verdict_args)
    tokens = [tag.strip() for tag in _TAG.findall(text)]
    if not tokens:
        return Verdict(None, "no_verdict")
    read = [task.read_tag(token, verdict_args) for token in tokens]
    for error in ("unknown_tag", "out_of_range"):
        if any(err == error for _, err in read):
            return Verdict(None, error)
    verdicts = {verdict for verdict, _ in read}
    if len(verdicts) > 1:
        return Verdict(None, "conflicting_verdicts")
    return Verdict(read[0][0], None)


def format_verdict(task_type: str, verdict: str | int) -> str:
    """The tag a judge writes for `verdict` (what parse_verdict reads back): step_level 0 -> "[[none]]"."""
    return tasks.get(task_type).format_verdict(verdict)


def is_correct(task_type: str, verdict: str | int | None, label: str | int) -> bool:
    """A parsed verdict against the gold label (same types as parse_verdict returns); None is wrong."""
    tasks.get(task_type)
    return verdict is not None and type(verdict) is type(label) and verdict == label
