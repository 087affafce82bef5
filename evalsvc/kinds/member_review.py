"""民主评议党员: one block per full member, four grades; 不合格 > 50 % → preliminary flag."""
from collections.abc import Sequence

from werkzeug.datastructures import MultiDict

from evalsvc.definitions import Definition, Question
from evalsvc.kinds.base import Kind, MemberRef, Settings, Submission, Verdict, capped_limit
from evalsvc.kinds.settings import Setting

EXCELLENT = "excellent"
UNQUALIFIED = "unqualified"
BALLOT_CAP = "ballot_excellent_cap"



class MemberReviewKind(Kind):
    """The branch committee decides final grades; the rules only flag (不唯票数)."""

    name = "member_review"
    label = "民主评议党员"
    lists_members = True
    required_in = ("review",)
    verdict_words = ("评议完成", "评议完成")  # the round itself neither passes nor fails
    final_grades = ((EXCELLENT, "优秀"), ("qualified", "合格"), ("basic", "基本合格"),
                    (UNQUALIFIED, "不合格"))
    capped_grade = EXCELLENT
    failing_grade = UNQUALIFIED
    settings = (
        Setting(BALLOT_CAP, "测评票评为优秀的人数不得超过三分之一（1 为检查，0 为不检查）",
                0, minimum=0, maximum=1, share=False),
    )

    def layout(self, definition: Definition, members: Sequence[MemberRef] = ()) \
            -> tuple[Question, ...]:
        """Every per-member question, member by member, then the rest."""
        templates = [q for q in definition.questions if q.per_member]
        per_member = tuple(t.for_member(m.id, m.name) for m in members for t in templates)
        return per_member + super().layout(definition, members)

    def validate(self, layout: tuple[Question, ...], formdata: MultiDict,
                 text_limit: int = 500, settings: Settings | None = None) -> Submission:
        """The common checks; where the campaign asks for it, a ballot that grades more
        than the cap as 优秀 is refused with the reason (the answers stay on the page)."""
        submission = super().validate(layout, formdata, text_limit, settings)
        if not submission.ok or settings is None or not settings.kind.get(BALLOT_CAP):
            return submission
        grades = [q for q in layout if q.member_id is not None and q.type == "choice"]
        graded_excellent = {key for key, value, _ in submission.answers if value == EXCELLENT}
        excellent = [q for q in grades if q.key in graded_excellent]
        limit = capped_limit(len(grades), settings.excellent_cap)
        if len(excellent) <= limit:
            return submission
        message = (f"评为优秀的党员不得超过参评党员的三分之一：本支部 {len(grades)} 名党员，"
                   f"最多评 {limit} 名优秀，您评了 {len(excellent)} 名，请修改后再提交")
        return Submission(answers=(), errors={excellent[0].key: message},
                          form=submission.form or self.form(layout, formdata, text_limit))

    def tally(self, data, settings: Settings, suppress: bool = True):
        """The common tally, with each member's 不合格 share, and the members' votes
        (自评/互评) and the masses' votes (群众评议) tallied apart."""
        result = super().tally(data, settings, suppress)
        sides = _sides(data, settings.min_cell if suppress else 0)
        grades = {q.member_id: q for q in data.questions
                  if q.member_id is not None and q.type == "choice"}
        for member in result.members:
            member.extra = {"不合格比例": _share(member.counts, member.valid)}
            question = grades[member.member_id]
            for label, group_ids in sides.items():
                side = None if group_ids is None else _side_counts(data, question, group_ids)
                member.sides[label] = side
                member.extra[f"{label}不合格比例"] = \
                    None if side is None else _share(side["counts"], side["valid"])
        return result

    def propose(self, result, settings: Settings) -> Verdict:
        """Members whose 不合格 share exceeds the threshold are flagged for the branch."""
        flagged = tuple(
            m.member_id for m in result.members
            if m.valid and m.counts.get(UNQUALIFIED, 0) / m.valid > settings.unqualified_threshold
        )
        summary = (f"{len(flagged)} 名党员不合格票超过 {settings.unqualified_threshold:.0%}，"
                   "初步评为不合格，待支部组织评定" if flagged else
                   "无党员不合格票超过半数；各党员等次待支部组织评定")
        return Verdict(passed=True, summary=summary, flagged_members=flagged)


SIDES = (("党员评议", lambda code: code == "member"),
         ("群众评议", lambda code: code != "member"))


def _sides(data, min_cell: int) -> dict[str, list[int] | None]:
    """Each side's group ids, or None for every side when any side that voted has fewer
    than ``min_cell`` ballots (the round total minus one side would reveal the other)."""
    sides = {label: [g for g, code, *_ in data.groups if belongs(code)]
             for label, belongs in SIDES}
    ballots = {label: sum(data.ballots.get(g, 0) for g in ids) for label, ids in sides.items()}
    if any(0 < n < min_cell for n in ballots.values()):
        return {label: None for label in sides}
    return {label: ids for label, ids in sides.items() if ballots[label]}


def _side_counts(data, question: Question, group_ids: list[int]) -> dict:
    counts = {o.value: sum(data.counts.get((g, question.key, o.value), 0) for g in group_ids)
              for o in question.options}
    valid = sum(n for v, n in counts.items() if question.option(v).valid)
    return {"ballots": sum(data.ballots.get(g, 0) for g in group_ids), "counts": counts,
            "valid": valid}


def _share(counts: dict[str, int], valid: int) -> float | None:
    return counts.get(UNQUALIFIED, 0) / valid if valid else None
