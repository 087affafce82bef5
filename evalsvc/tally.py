"""Tallies of closed rounds: counts, shares and rates, with small cells suppressed.

The counts come from one pass over the round's ballots (see ``services.results``); this
module turns them into results by item, by respondent group and by member. Suppression
is applied here, once, so every view and export shows the same thing:

* a breakdown (the whole round, or one respondent group) with fewer than ``min_cell``
  ballots shows no distribution;
* if exactly one group is suppressed, the next smallest is suppressed too, so that the
  total minus the groups shown never reveals the hidden one;
* free-text answers are listed only when there are at least ``min_text_cell`` of them,
  in random order, and never broken down by group.
"""
import random
from dataclasses import asdict, dataclass, field

from evalsvc.definitions import Question

# (group id, question, value) → number of ballots that chose it
Counts = dict[tuple[int, str, str], int]
ALL = -1  # the group id under which the whole round's counts are summed


@dataclass(frozen=True)
class TallyInput:
    """What a kind tallies: the laid-out questions and the counts read from the ballots."""

    round_id: int
    title: str
    kind: str
    poster: bool
    groups: list[tuple[int, str, str, int]]  # (group id, code, label, cards issued)
    questions: tuple[Question, ...]
    counts: Counts  # option counts, per group and under ALL
    ballots: dict[int, int]  # ballots per group id
    answered: Counts  # (group, question, "") → ballots answering a multi question
    texts: dict[str, list[str]]  # free-text question → answers
    # Each ballot's answers as (group id, question → values picked), in no particular
    # order and without ballot ids; read only for kinds that set ``reads_ballots``.
    ballot_answers: list[tuple[int, dict[str, frozenset[str]]]] = field(default_factory=list)


@dataclass
class OptionCount:
    """How many valid ballots chose one option; ``count`` is None when suppressed."""

    value: str
    label: str
    count: int | None
    share: float | None  # of the item's answers (不了解 included); the rate is over valid


@dataclass
class ItemResult:
    """One question's distribution."""

    key: str
    text: str
    type: str
    options: list[OptionCount]
    answered: int | None  # ballots that answered it (any option)
    valid: int | None  # answers that count (不了解 and blanks do not)
    rate: float | None  # positive / valid, for scales that have positive options
    rated: bool = False


@dataclass
class GroupResult:
    """The round broken down for one respondent group."""

    code: str
    label: str
    cards: int
    ballots: int
    suppressed: bool
    items: list[ItemResult] = field(default_factory=list)
    rate: float | None = None


@dataclass
class MemberResult:
    """民主评议: the grades one member received."""

    member_id: int
    name: str
    counts: dict[str, int]
    valid: int
    flagged: bool = False  # preliminary 不合格 proposed
    extra: dict[str, float | None] = field(default_factory=dict)  # the kind's shares, by label
    # The kind's separate tallies, by label (e.g. 党员评议, 群众评议): counts and valid
    # votes, or None when that side is suppressed.
    sides: dict[str, dict | None] = field(default_factory=dict)


@dataclass
class ResultTable:
    """A table a kind adds to its results (e.g. a score distribution): shown on the
    results page and exported as its own sheet. ``shares`` are the proportion columns."""

    title: str
    header: list[str]
    rows: list[list]
    shares: list[int] = field(default_factory=list)


@dataclass
class RoundResult:
    """Everything a closed round's results page, chart and export show."""

    round_id: int
    kind: str
    title: str
    ballots: int
    suppressed: bool
    poster: bool
    items: list[ItemResult]
    groups: list[GroupResult]
    members: list[MemberResult]
    comments: dict[str, list[str]]  # question key → texts (only when enough of them)
    comments_suppressed: dict[str, int]  # question key → how many were withheld
    rate: float | None  # the round's satisfaction / pass rate
    grade_labels: dict[str, str] = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    question_labels: dict[str, str] = field(default_factory=dict)  # free-text key → wording
    # Set by the kind: what its rates are called, what its verdict means, its own tables.
    rate_label: str = ""
    item_rate_label: str = ""
    verdict_words: list[str] = field(default_factory=list)
    tables: list[ResultTable] = field(default_factory=list)

    def to_data(self) -> dict:
        """Plain data, for storing with the closed round and for JSON output."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict) -> "RoundResult":
        """The inverse of ``to_data``."""
        def item(d):
            return ItemResult(**{**d, "options": [OptionCount(**o) for o in d["options"]]})

        return cls(**{
            **data,
            "items": [item(i) for i in data["items"]],
            "groups": [GroupResult(**{**g, "items": [item(i) for i in g["items"]]})
                       for g in data["groups"]],
            "members": [MemberResult(**m) for m in data["members"]],
            "tables": [ResultTable(**t) for t in data.get("tables", [])],
        })


def item_result(question: Question, counts: dict[str, int], answered: int,
                suppressed: bool) -> ItemResult:
    """One question's counts, shares of its answers (summing to one for a single choice),
    and its rate over the valid answers."""
    valid_values = {o.value for o in question.options if o.valid}
    valid = sum(n for v, n in counts.items() if v in valid_values)
    positive = sum(counts.get(o.value, 0) for o in question.options if o.positive and o.valid)
    has_rate = any(o.positive for o in question.options) and question.type == "choice"
    options = [  # one definition of a share everywhere: of the item's answers, 不了解 included
        OptionCount(o.value, o.label, None if suppressed else counts.get(o.value, 0),
                    None if suppressed or not answered else counts.get(o.value, 0) / answered)
        for o in question.options
    ]
    return ItemResult(
        key=question.key, text=question.text, type=question.type, options=options,
        answered=None if suppressed else answered, valid=None if suppressed else valid,
        rate=None if suppressed or not has_rate or not valid else positive / valid,
        rated=question.rated)


def suppressed_groups(ballots_by_group: dict[int, int], min_cell: int) -> set[int]:
    """Groups whose breakdown is hidden, including the complement that stops differencing.

    The round total minus the groups shown equals the hidden groups taken together, so
    more groups are hidden, smallest first, until that remainder spans at least two
    groups and ``min_cell`` ballots. Empty groups are hidden too, but count for nothing:
    that nobody in a group answered is already public in the participation figures.
    """
    hidden = {g for g, n in ballots_by_group.items() if 0 < n < min_cell}
    shown = sorted((n, g) for g, n in ballots_by_group.items() if n >= min_cell)
    while hidden and shown and (len(hidden) == 1 or
                                sum(ballots_by_group[g] for g in hidden) < min_cell):
        hidden.add(shown.pop(0)[1])
    return hidden | {g for g, n in ballots_by_group.items() if n == 0}


def shuffled(texts: list[str]) -> list[str]:
    """Free text in a random order, whatever order it was stored in."""
    texts = list(texts)
    random.SystemRandom().shuffle(texts)
    return texts


def build_result(data: TallyInput, settings, suppress: bool) -> RoundResult:
    """Counts, shares and rates by item, group and member; suppressed when asked."""
    questions, counts, ballots, answered = data.questions, data.counts, data.ballots, \
        data.answered
    total = sum(ballots.values())
    hidden_round = suppress and total < settings.min_cell
    every_group = {group_id: ballots.get(group_id, 0) for group_id, *_ in data.groups}
    hidden_groups = suppressed_groups(every_group, settings.min_cell) if suppress else set()
    items = [_item(q, ALL, counts, answered, hidden_round)
             for q in questions if q.type != "text" and q.member_id is None]
    groups = []
    for group_id, code, group_label, cards in data.groups:
        hidden = hidden_round or group_id in hidden_groups
        group_items = [] if hidden else [
            _item(q, group_id, counts, answered, False)
            for q in questions if q.type != "text" and q.member_id is None]
        groups.append(GroupResult(code, group_label, cards, ballots.get(group_id, 0), hidden,
                                  group_items, _rate(group_items)))
    comments, withheld = _comments(questions, data.texts, settings, suppress)
    return RoundResult(
        round_id=data.round_id, kind=data.kind, title=data.title, ballots=total,
        suppressed=hidden_round, poster=data.poster, items=items, groups=groups,
        members=[] if hidden_round else _members(questions, counts),
        comments=comments, comments_suppressed=withheld,
        rate=None if hidden_round else _rate(items), grade_labels=_grade_labels(questions),
        question_labels={q.key: q.text for q in questions if q.type == "text"})


def _item(question: Question, group_id: int, counts: Counts, answered: Counts, hidden: bool):
    option_counts = {o.value: counts.get((group_id, question.key, o.value), 0)
                     for o in question.options}
    n = (answered.get((group_id, question.key, ""), 0) if question.type == "multi"
         else sum(option_counts.values()))
    return item_result(question, option_counts, n, hidden)


def _rate(items) -> float | None:
    """The rated item's rate (总体评价); without a rated item, the rate over all scales.
    A rated item nobody answered validly gives no rate: the others do not stand in."""
    rated = [i for i in items if i.rated]
    if rated:
        return rated[0].rate
    scored = [i for i in items if i.rate is not None and i.valid]
    if not scored:
        return None
    return sum(i.rate * i.valid for i in scored) / sum(i.valid for i in scored)


def _members(questions, counts: Counts) -> list[MemberResult]:
    members = []
    for q in questions:
        if q.member_id is None or q.type != "choice":
            continue
        member_counts = {o.value: counts.get((ALL, q.key, o.value), 0) for o in q.options}
        valid = sum(n for v, n in member_counts.items() if q.option(v).valid)
        members.append(MemberResult(q.member_id, q.text, member_counts, valid))
    return members


def _grade_labels(questions) -> dict[str, str]:
    grade = next((q for q in questions if q.member_id is not None and q.type == "choice"), None)
    return {o.value: o.label for o in grade.options} if grade else {}


def _comments(questions, texts, settings, suppress: bool):
    comments, withheld = {}, {}
    for q in questions:
        if q.type != "text" or not texts.get(q.key):
            continue
        if suppress and len(texts[q.key]) < settings.min_text_cell:
            withheld[q.key] = len(texts[q.key])
        else:
            comments[q.key] = shuffled(texts[q.key])
    return comments, withheld


