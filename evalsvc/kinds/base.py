"""The interface every questionnaire kind implements, and what flows through it."""
from collections.abc import Sequence
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from evalsvc.definitions import Definition, Question
from evalsvc.kinds.forms import BallotForm, build_form


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
    form: BallotForm

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


@dataclass(frozen=True)
class Verdict:
    """What the rules propose for a closed round; humans confirm or override it."""

    passed: bool
    make_up: bool = False  # 补课
    summary: str = ""
    flagged_members: tuple[int, ...] = ()  # preliminary 不合格
    details: dict = field(default_factory=dict)


class Kind:
    """A questionnaire kind: lays out, validates, tallies and proposes a verdict.

    Subclasses set ``name`` and ``label`` and override what differs; a third party
    registers its own under the ``evalsvc.kinds`` entry-point group.
    """

    name: str = ""
    label: str = ""
    # True when the ballot lists the branch's members (frozen when the round opens).
    lists_members: bool = False
    # True when closing this kind can raise 补课.
    can_require_make_up: bool = False

    def layout(self, definition: Definition, members: Sequence[MemberRef] = ()) \
            -> tuple[Question, ...]:
        """The questions a respondent sees, in order."""
        return tuple(q for q in definition.questions if not q.per_member)

    def form(self, layout: tuple[Question, ...], formdata: MultiDict | None = None,
             text_limit: int = 500) -> BallotForm:
        """A WTForms form for the layout (for rendering, and for validating)."""
        return build_form(layout, formdata, text_limit)

    def validate(self, layout: tuple[Question, ...], formdata: MultiDict,
                 text_limit: int = 500) -> Submission:
        """Check a submission against the layout; never raises on bad input."""
        form = self.form(layout, formdata, text_limit)
        if not form.validate():
            errors = {name: messages[0] for name, messages in form.errors.items()}
            return Submission(answers=(), errors=errors, form=form)
        return Submission(answers=tuple(_answer_rows(layout, form)), errors={}, form=form)

    def tally(self, data, settings: Settings, suppress: bool = True):
        """A RoundResult from the counts (``evalsvc.tally.TallyInput``); small cells are
        suppressed unless ``suppress`` is False (the rules see everything)."""
        from evalsvc.tally import build_result

        return build_result(data, settings, suppress)

    def propose(self, result, settings: Settings) -> Verdict:
        """The verdict the rules propose for a closed round."""
        return Verdict(passed=True, summary="无需判定")


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
