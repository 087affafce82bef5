"""征求意见: categories of problems plus free text; it informs, it does not judge."""
from evalsvc.kinds.base import Kind, Settings, Verdict


class OpinionKind(Kind):
    """Counts per category; comments listed in random order."""

    name = "opinion"
    label = "征求意见"
    for_leadership = True
    supplies_problems = True  # its categories and comments feed the 整改方案

    def propose(self, result, settings: Settings) -> Verdict:
        """Opinions are collected for rectification; nothing is passed or failed."""
        return Verdict(passed=True, summary="征求意见不作判定，意见供整改参考")
