"""The interface every questionnaire kind implements, and what flows through it."""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from werkzeug.datastructures import MultiDict

from evalsvc.definitions import Definition, Question
from evalsvc.kinds.forms import BallotForm, build_form, plain_answers
from evalsvc.kinds.settings import Setting, resolve


@dataclass(frozen=True)
class MemberRef:
    """A member as a ballot shows them: frozen with the round when it opens."""

    id: int
    name: str


@dataclass(frozen=True)
class Submission:
    """A validated (or refused) ballot: the answers to store, or the errors to show."""

    answers: tuple[tuple[str, str, str], ...]  # (question key, option value, free text)
    errors: dict[str, str]
    # The bound form, to show the page again; None for a plainly valid ballot accepted
    # without building one (a refused ballot always has its form).
    form: BallotForm | None = None

    @property
    def ok(self) -> bool:
        """True when the ballot may be stored."""
        return not self.errors


@dataclass(frozen=True)
class Settings:
    """The rule thresholds a verdict is measured against (per campaign)."""

    satisfaction_threshold: float = 0.60
    stage_pass_threshold: float = 0.60
    unqualified_threshold: float = 0.50
    excellent_cap: float = 1 / 3
    min_cell: int = 5
    min_text_cell: int = 10
    # The round's kind's own settings (``Kind.settings``), resolved for the campaign.
    kind: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """What the rules propose for a closed round; humans confirm or override it."""

    passed: bool | None  # None: the rules do not decide (a human does)
    make_up: bool = False  # 补课
    summary: str = ""
    flagged_members: tuple[int, ...] = ()  # preliminary 不合格
    details: dict = field(default_factory=dict)
    decidable: bool = True


def capped_limit(members: int, cap: float) -> int:
    """How many of ``members`` may hold a capped grade (one third: 3 of 9, 10 or 11)."""
    return int(members * cap + 1e-9)


class Kind:
    """A questionnaire kind: lays out, validates, tallies and proposes a verdict.

    Subclasses set ``name`` and ``label`` and override what differs; a third party
    registers its own under the ``evalsvc.kinds`` entry-point group. Everything that is
    particular to a kind is declared here; core code reads it and never names a kind.
    """

    name: str = ""
    label: str = ""
    # True when the ballot lists the branch's members (frozen when the round opens).
    lists_members: bool = False
    # True when a 党委 or 党总支 may hold a round of this kind (班子 民主测评), not only a branch.
    for_leadership: bool = False
    # True when a closed round's shown result names problems a 整改方案 may take up
    # (its categories and the free texts that suppression lets through).
    supplies_problems: bool = False
    # True when a round may add one question per 整改方案 item to the definition's.
    accepts_extra_items: bool = False
    extra_item_text: str = "对“{problem}”整改情况的评价"
    # True when closing this kind can raise 补课.
    can_require_make_up: bool = False
    # True when the round's rate is a headline figure (dashboard, weekly report).
    reports_rate: bool = False
    rate_label: str = "比率"  # the round's rate, e.g. 满意率, 合格率
    item_rate_label: str = ""  # each item's rate, e.g. 正确率; defaults to rate_label
    verdict_words: tuple[str, str] = ("通过", "未通过，需要补课")  # passed, not passed
    # Where the kind's own TOML definitions live (None: only the app's forms directory).
    definitions_dir: Path | None = None
    # Stages whose transition needs a passed round of this kind (the campaign's default).
    required_in: tuple[str, ...] = ()
    # Stages in which a round of this kind may be held (None: any stage).
    stages: tuple[str, ...] | None = None
    # True when the tally needs each ballot's answers, not only the counts.
    reads_ballots: bool = False
    # The kind's own settings, stored per campaign (see ``evalsvc.kinds.settings``).
    settings: tuple[Setting, ...] = ()
    # 组织评定: the final grades a branch gives each listed member, (value, label), best
    # first; empty when the kind grades nobody. ``capped_grade`` may be given to at most
    # ``Settings.excellent_cap`` of the members; ``failing_grade`` needs a follow-up.
    final_grades: tuple[tuple[str, str], ...] = ()
    capped_grade: str | None = None
    failing_grade: str | None = None

    def resolve_settings(self, stored: Mapping | None) -> dict[str, float]:
        """This kind's settings for a campaign: stored values over the defaults."""
        return resolve(self.settings, stored)

    def report_cells(self, result) -> tuple[tuple[str, float], ...]:
        """(label, proportion) figures the dashboard and the weekly report show for a
        closed round of this kind."""
        if self.reports_rate and result.rate is not None:
            return ((self.rate_label, result.rate),)
        return ()

    def layout(self, definition: Definition, members: Sequence[MemberRef] = ()) \
            -> tuple[Question, ...]:
        """The questions a respondent sees, in order."""
        return tuple(q for q in definition.questions if not q.per_member)

    def extra_questions(self, definition: Definition,
                        items: Sequence[tuple[str, str]]) -> tuple[Question, ...]:
        """One question per (key, problem) on the scale of the definition's rated item
        (总体评价), not rated itself; empty unless the kind ``accepts_extra_items``."""
        if not self.accepts_extra_items or not items:
            return ()
        model = next((q for q in definition.questions if q.rated), None) or next(
            (q for q in definition.questions if q.type == "choice"), None)
        if model is None:  # nothing to rate them on
            return ()
        return tuple(replace(model, key=key, text=self.extra_item_text.format(problem=text),
                             rated=False) for key, text in items)

    def with_extra_questions(self, layout: tuple[Question, ...],
                             extra: tuple[Question, ...]) -> tuple[Question, ...]:
        """The layout with the extra questions placed before the rated item (or at the
        end when there is none)."""
        if not extra:
            return layout
        at = next((i for i, q in enumerate(layout) if q.rated), len(layout))
        return layout[:at] + extra + layout[at:]

    def form(self, layout: tuple[Question, ...], formdata: MultiDict | None = None,
             text_limit: int = 500) -> BallotForm:
        """A WTForms form for the layout (for rendering, and for validating)."""
        return build_form(layout, formdata, text_limit)

    def validate(self, layout: tuple[Question, ...], formdata: MultiDict,
                 text_limit: int = 500, settings: Settings | None = None) -> Submission:
        """Check a submission against the layout (and, where the kind has ballot rules,
        the campaign's ``settings``); never raises on bad input."""
        answers = plain_answers(layout, formdata, text_limit)
        if answers is not None:
            return Submission(answers=answers, errors={})
        form = self.form(layout, formdata, text_limit)
        if not form.validate():
            errors = {name: messages[0] for name, messages in form.errors.items()}
            return Submission(answers=(), errors=errors, form=form)
        return Submission(answers=tuple(_answer_rows(layout, form)), errors={}, form=form)

    def tally(self, data, settings: Settings, suppress: bool = True):
        """A RoundResult from the counts (``evalsvc.tally.TallyInput``); small cells are
        suppressed unless ``suppress`` is False (the rules see everything)."""
        from evalsvc.tally import build_result

        return self.labelled(build_result(data, settings, suppress))

    def labelled(self, result):
        """The result carrying this kind's rate labels (pages and exports read them)."""
        result.rate_label = self.rate_label
        result.item_rate_label = self.item_rate_label or self.rate_label
        result.verdict_words = list(self.verdict_words)
        return result

    def propose(self, result, settings: Settings) -> Verdict:
        """The verdict the rules propose for a closed round."""
        return Verdict(passed=True, summary="无需判定")

    def rate_verdict(self, rate: float | None, threshold: float) -> Verdict:
        """Passed when the round's rate reaches ``threshold``; below it, 补课."""
        if rate is None:
            return Verdict(passed=False, make_up=False, summary="没有有效票，无法判定",
                           details={"threshold": threshold})
        passed = rate >= threshold
        summary = (f"{self.rate_label} {rate:.1%}，" +
                   (f"达到 {threshold:.0%}" if passed else f"低于 {threshold:.0%}，需要补课"))
        return Verdict(passed=passed, make_up=not passed, summary=summary,
                       details={"rate": rate, "threshold": threshold})


def _answer_rows(layout: tuple[Question, ...], form: BallotForm):
    for question in layout:
        data = form[question.key].data
        if question.type == "choice" and data:
            yield (question.key, data, "")
        elif question.type == "multi":
            for value in sorted(set(data or ())):
                yield (question.key, value, "")
        elif question.type == "text" and data:
            yield (question.key, "", data)
