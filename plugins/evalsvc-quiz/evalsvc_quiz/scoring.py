"""Scoring a knowledge test: one point per question answered exactly right.

A question's correct options are the options its definition marks ``positive``; a multiple
choice question counts only when exactly the correct set was picked. Scores belong to
ballots: they are computed from each ballot's answers at tally time and never stored
against a card or a person.
"""
import math
from collections import Counter
from collections.abc import Iterable

from evalsvc.definitions import Question

Picked = dict[str, frozenset[str]]  # question key → the options one ballot picked


def answer_key(questions: Iterable[Question]) -> dict[str, frozenset[str]]:
    """Question key → its correct options, for every question that has some."""
    return {q.key: frozenset(o.value for o in q.options if o.positive)
            for q in questions if q.type in ("choice", "multi")
            and any(o.positive for o in q.options)}


def score(picked: Picked, key: dict[str, frozenset[str]]) -> int:
    """Questions answered exactly right."""
    return sum(1 for question, right in key.items() if picked.get(question) == right)


def passing_score(pass_mark: float, questions: int) -> int:
    """The lowest score at or above the pass mark (a share of the questions)."""
    return math.ceil(round(pass_mark * questions, 9))


def distribution(scores: list[int], questions: int) -> list[tuple[int, int]]:
    """(score, ballots) for every possible score, 0 to ``questions``."""
    counted = Counter(scores)
    return [(s, counted.get(s, 0)) for s in range(questions + 1)]


def share(part: int, whole: int) -> float | None:
    """part / whole, or None for an empty whole."""
    return part / whole if whole else None
