"""整改满意度测评 / 群众满意度测评: items on a satisfaction scale; most masses dissatisfied → 补课."""
from evalsvc.kinds.base import Kind, Settings, Verdict
from evalsvc.kinds.basis import FLOOR_KEY, majority_verdict
from evalsvc.kinds.settings import Setting


class SatisfactionKind(Kind):
    """满意率 = (满意 + 比较满意 + 基本满意) / valid; 不了解 and blanks are not valid.

    The verdict follows the campaign's rule (``evalsvc.kinds.basis``): 补课 when most of
    the masses are dissatisfied with the rated item, or below an optional floor.
    """

    name = "satisfaction"
    label = "整改满意度测评"
    can_require_make_up = True
    for_leadership = True
    reports_rate = True
    accepts_extra_items = True  # one question per 整改方案 item
    rate_label = "满意率"
    required_in = ("rectify",)
    settings = (Setting(FLOOR_KEY, "满意率下限（0 为不设，默认不设）", 0.0),)

    def propose(self, result, settings: Settings) -> Verdict:
        """补课 when most of the basis is dissatisfied, or below the floor when one is set."""
        floor = settings.kind.get(FLOOR_KEY, 0.0)
        return majority_verdict(result, floor, settings.min_cell, self.rate_label)
