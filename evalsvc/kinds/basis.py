"""The campaign's 补课 rule: "对活动过程中多数群众不满意的，要责令及时补课".

The basis is the masses (群众代表, 服务对象 and open-poster respondents) when the round has
any of their ballots, otherwise every respondent (a members-only study test). The rule
reads the rated item (总体评价) of the basis: 补课 when 不满意 is more than half of its
valid answers (不了解 and blanks are not valid), or, when the campaign sets a floor, when
the satisfaction rate is below it. Too few valid answers in the basis: no verdict.
"""
from dataclasses import asdict, dataclass

from evalsvc.kinds.base import Verdict

MASSES_CODES = ("masses", "service", "public")  # group codes that count as the masses
POSTER_CODE = "public"
FLOOR_KEY = "satisfaction_floor"


@dataclass(frozen=True)
class Basis:
    """Whose answers decide 补课, and what they said on the rated item."""

    groups: list[str]  # group codes
    labels: list[str]  # their Chinese labels
    masses: bool  # False: nobody from the masses answered, every respondent decides
    valid: int  # valid answers to the rated item
    satisfied: int  # 满意 + 比较满意 + 基本满意
    dissatisfied: int  # valid answers that are not satisfied (不满意)
    poster_only: bool  # the basis is only open-poster answers: not one person, one vote
    others: int  # ballots of the respondents outside the basis

    @property
    def dissatisfied_share(self) -> float | None:
        """不满意 over the basis's valid answers."""
        return self.dissatisfied / self.valid if self.valid else None

    @property
    def satisfaction_rate(self) -> float | None:
        """(满意 + 比较满意 + 基本满意) over the basis's valid answers."""
        return self.satisfied / self.valid if self.valid else None

    @property
    def name(self) -> str:
        """The basis as the summary names it."""
        who = "、".join(self.labels) or "全体参评人员"
        return f"群众（{who}）" if self.masses else f"全体参评人员（{who}）"

    def to_data(self, counted: bool = True) -> dict:
        """Plain data for the stored verdict and the tally JSON; with ``counted`` False
        (too few answers to decide) the counts are withheld, as a small cell is."""
        data = {**asdict(self), "dissatisfied_share": self.dissatisfied_share,
                "satisfaction_rate": self.satisfaction_rate, "suppressed": not counted}
        del data["others"]  # a count of ballots, not part of what the rule read
        if not counted:
            for key in ("valid", "satisfied", "dissatisfied", "dissatisfied_share",
                        "satisfaction_rate"):
                data[key] = None
        return data


def _rated(items):
    """The rated item (总体评价); without one, the first item that has a rate."""
    return next((i for i in items if i.rated), None) or \
        next((i for i in items if i.rate is not None), None)


def basis_of(result) -> Basis:
    """The basis of an unsuppressed result (the rules see every group's counts)."""
    answering = [g for g in result.groups if g.ballots]
    masses = [g for g in answering if g.code in MASSES_CODES]
    chosen = masses or answering
    valid = satisfied = 0
    for group in chosen:
        item = _rated(group.items)
        if item is None or not item.valid:
            continue
        valid += item.valid
        satisfied += round((item.rate or 0) * item.valid)
    return Basis(groups=[g.code for g in chosen], labels=[g.label for g in chosen],
                 masses=bool(masses), valid=valid, satisfied=satisfied,
                 dissatisfied=valid - satisfied,
                 poster_only=bool(chosen) and all(g.code == POSTER_CODE for g in chosen),
                 others=sum(g.ballots for g in answering if g not in chosen))


def majority_verdict(result, floor: float, min_valid: int, rate_label: str) -> Verdict:
    """补课 when most of the basis is dissatisfied, or (with a floor set) when its rate is
    below the floor; no verdict with fewer than ``min_valid`` valid answers."""
    basis = basis_of(result)
    details = {"basis": basis.to_data(), "floor": floor or None, "rule": None,
               "advisory": basis.poster_only}
    if basis.valid < min_valid:
        details["basis"] = basis.to_data(counted=False)
        return Verdict(passed=None, decidable=False, details=details, summary=(
            f"依据{basis.name}：总体评价的有效回答少于 {min_valid} 个（不了解和未答不计），"
            "规则不作判定，由先教办决定"))
    share, rate = basis.dissatisfied_share, basis.satisfaction_rate
    majority = basis.dissatisfied * 2 > basis.valid
    below_floor = bool(floor) and rate < floor
    figures = (f"依据{basis.name}的有效回答（不含不了解）：不满意 {share:.1%}，"
               f"{rate_label} {rate:.1%}")
    if 0 < basis.others < min_valid:
        # The round's totals minus the basis would give the few others' answers away:
        # withhold the basis's figures, as a small cell is, and keep only the verdict.
        details["basis"] = basis.to_data(counted=False)
        figures = f"依据{basis.name}（其他参评人员不足 {min_valid} 人，比例不公布）"
    if majority:
        details["rule"] = "majority"
        summary = f"{figures}；多数群众不满意，需要补课"
    elif below_floor:
        details["rule"] = "floor"
        summary = f"{figures}；{rate_label}低于本次活动设定的下限 {floor:.0%}，需要补课"
    else:
        summary = f"{figures}；不满意未超过半数" + (f"，{rate_label}不低于下限 {floor:.0%}"
                                                  if floor else "") + "，通过"
    if basis.poster_only:
        summary += "（仅公开扫码作答，非一人一票，判定仅供参考，不能单独作为转段依据）"
    failed = majority or below_floor
    return Verdict(passed=not failed, make_up=failed, summary=summary, details=details)
