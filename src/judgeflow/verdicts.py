"""Strict verdict parsing: a pairwise judgment names exactly one of [[A]] / [[B]] or it is a parse error."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"\[\[([A-Za-z]+)\]\]")


@dataclass(frozen=True)
class Verdict:
    verdict: str | None  # "A", "B" or None
    error: str | None  # None, "no_verdict", "conflicting_verdicts", "unknown_tag"


def parse_pairwise(text: str) -> Verdict:
    """[[A]] or [[B]], possibly repeated, and nothing else in double brackets.

    Both tags, no tag, or a tag other than A/B (e.g. [[C]], [[a]]) is a parse error; it is never guessed.
    """
    tags = _TAG.findall(text)
    if not tags:
        return Verdict(None, "no_verdict")
    if any(tag not in ("A", "B") for tag in tags):
        return Verdict(None, "unknown_tag")
    if len(set(tags)) > 1:
        return Verdict(None, "conflicting_verdicts")
    return Verdict(tags[0], None)
