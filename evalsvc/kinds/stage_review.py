"""转段测评: the stage just finished, rated on a satisfaction scale; below the bar → 补课."""
from evalsvc.kinds.base import Settings
from evalsvc.kinds.satisfaction import SatisfactionKind


class StageReviewKind(SatisfactionKind):
    """Same scale and rate as satisfaction, measured against the stage-pass threshold."""

    name = "stage_review"
    label = "转段测评"
    required_in = ("study", "review", "rectify")

    def threshold(self, settings: Settings) -> float:
        """The pass rate a stage transition needs."""
        return settings.stage_pass_threshold
