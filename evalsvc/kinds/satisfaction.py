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
        rate = result.rate
        threshold = self.threshold(settings)
        if rate is None:
            return Verdict(passed=False, make_up=False, summary="没有有效票，无法判定",
                           details={"threshold": threshold})
        passed = rate >= threshold
        summary = (f"满意率 {rate:.1%}，" +
                   (f"达到 {threshold:.0%}" if passed else f"低于 {threshold:.0%}，需要补课"))
        return Verdict(passed=passed, make_up=not passed, summary=summary,
                       details={"rate": rate, "threshold": threshold})
