"""Strict verdict parsing for the five judge task types; a verdict is never guessed.

A verdict is written in double square brackets, the same for every template language:

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

TASK_TYPES = ("pairwise", "step_level", "ref_verification", "ref_free_verification", "single_rating")
ERRORS = ("no_verdict", "unknown_tag", "out_of_range", "conflicting_verdicts")

_TAG = re.compile(r"(?<![A-Za-z0-9_])\[\[([^\[\]\n]*)\]\]")
_INTEGER = re.compile(r"-?[0-9]+")
NO_WRONG_STEP = "none"


@dataclass(frozen=True)
class Verdict:
    verdict: str | int | None  # "A"/"B"/"C", "yes"/"no", or an int (step index, 0 = none; rating); None on error
    error: str | None  # None or one of ERRORS


def tag_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of every verdict tag ("[[A]]") in a text."""
    return [match.span() for match in _TAG.finditer(text)]


def _check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise ValueError(f"unknown task type {task_type!r}; known: {', '.join(TASK_TYPES)}")


def _read_tag(token: str, task_type: str, scale, allows_tie: bool, num_steps: int | None):
    """(verdict, error) for one tag's token."""
    if task_type == "pairwise":
        return (token, None) if token in (("A", "B", "C") if allows_tie else ("A", "B")) else (None, "unknown_tag")
    if task_type in ("ref_verification", "ref_free_verification"):
        return (token, None) if token in ("yes", "no") else (None, "unknown_tag")
    if task_type == "step_level" and token == NO_WRONG_STEP:
        return 0, None
    if not _INTEGER.fullmatch(token):
        return None, "unknown_tag"
    value = int(token)
    if task_type == "step_level":
        in_range = value >= 1 and (num_steps is None or value <= num_steps)
    else:
        in_range = scale[0] <= value <= scale[1]
    return (value, None) if in_range else (None, "out_of_range")


def parse_verdict(text: str, task_type: str, scale: list[int] | tuple[int, int] | None = None,
                  allows_tie: bool = False, num_steps: int | None = None) -> Verdict:
    """The one verdict in `text` for `task_type`, or the error (see the module docstring for the rules).

    scale ([min, max]) is required for single_rating; num_steps (the number of steps shown) optionally
    bounds step_level indices; allows_tie admits [[C]] for pairwise."""
    _check_task_type(task_type)
    if task_type == "single_rating" and (scale is None or len(scale) != 2 or scale[0] > scale[1]):
        raise ValueError(f"single_rating needs scale=[min, max] with min <= max, got {scale!r}")
    tokens = [tag.strip() for tag in _TAG.findall(text)]
    if not tokens:
        return Verdict(None, "no_verdict")
    read = [_read_tag(token, task_type, scale, allows_tie, num_steps) for token in tokens]
    for error in ("unknown_tag", "out_of_range"):
        if any(err == error for _, err in read):
            return Verdict(None, error)
    verdicts = {verdict for verdict, _ in read}
    if len(verdicts) > 1:
        return Verdict(None, "conflicting_verdicts")
    return Verdict(read[0][0], None)


def format_verdict(task_type: str, verdict: str | int) -> str:
    """The tag a judge writes for `verdict` (what parse_verdict reads back): step_level 0 -> "[[none]]"."""
    _check_task_type(task_type)
    if task_type == "step_level" and verdict == 0:
        return f"[[{NO_WRONG_STEP}]]"
    return f"[[{verdict}]]"


def is_correct(task_type: str, verdict: str | int | None, label: str | int) -> bool:
    """A parsed verdict against the gold label (same types as parse_verdict returns); None is wrong."""
    _check_task_type(task_type)
    return verdict is not None and type(verdict) is type(label) and verdict == label
