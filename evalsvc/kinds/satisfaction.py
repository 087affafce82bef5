"""整改满意度测评 / 群众满意度测评: items on a satisfaction scale; low satisfaction → 补课."""
from evalsvc.kinds.base import Kind, Settings, Verdict


class SatisfactionKind(Kind):
    """满意率 = (满意 + 比较满意 + 基本满意) / valid; 不了解 and blanks are not valid."""

    name = "satisfaction"
    label = "整改满意度测评"
    can_require_make_up = True
    reports_rate = True
    rate_label = "满意率"
    required_in = ("rectify",)

    def threshold(self, settings: Settings) -> float:
        """The rate below which the round fails."""
        return settings.satisfaction_threshold

    def propose(self, result, settings: Settings) -> Verdict:
        """Below the threshold → not passed and 补课."""
        return self.rate_verdict(result.rate, self.threshold(settings))
