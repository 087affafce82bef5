"""民主评议党员: one block per full member, four grades; 不合格 > 50 % → preliminary flag."""
from collections.abc import Sequence

from evalsvc.definitions import Definition, Question
from evalsvc.kinds.base import Kind, MemberRef, Settings, Verdict

UNQUALIFIED = "unqualified"


class MemberReviewKind(Kind):
    """The branch committee decides final grades; the rules only flag (不唯票数)."""

    name = "member_review"
    label = "民主评议党员"
    lists_members = True
    required_in = ("review",)

    def layout(self, definition: Definition, members: Sequence[MemberRef] = ()) \
            -> tuple[Question, ...]:
        """Every per-member question, member by member, then the rest."""
        templates = [q for q in definition.questions if q.per_member]
        per_member = tuple(t.for_member(m.id, m.name) for m in members for t in templates)
        return per_member + super().layout(definition, members)

    def tally(self, data, settings: Settings, suppress: bool = True):
        """The common tally, with each member's 不合格 share for the exports."""
        result = super().tally(data, settings, suppress)
        for member in result.members:
            member.extra = {"不合格比例": member.counts.get(UNQUALIFIED, 0) / member.valid
                            if member.valid else None}
        return result

    def propose(self, result, settings: Settings) -> Verdict:
        """Members whose 不合格 share exceeds the threshold are flagged for the branch."""
        flagged = tuple(
            m.member_id for m in result.members
            if m.valid and m.counts.get(UNQUALIFIED, 0) / m.valid > settings.unqualified_threshold
        )
        summary = (f"{len(flagged)} 名党员不合格票超过 {settings.unqualified_threshold:.0%}，"
                   "初步评定为不合格，由支部研究决定" if flagged else "无党员不合格票超过半数")
        return Verdict(passed=True, summary=summary, flagged_members=flagged)
