"""转段测评: the stage just finished, rated on a satisfaction scale; most masses
dissatisfied → 补课."""
from evalsvc.kinds.satisfaction import SatisfactionKind


class StageReviewKind(SatisfactionKind):
    """Same scale, basis and rule as satisfaction; its rounds gate the stages."""

    name = "stage_review"
    label = "转段测评"
    required_in = ("study", "review", "rectify")
    for_leadership = False  # stage reviews gate a branch's stages
    accepts_extra_items = False  # it rates the stage, not the 整改方案's items
