"""The quiz kind: multiple-choice questions with correct options, a score per ballot,
the score distribution, the average, the pass rate and each question's correct rate;
补课 is proposed when the pass rate is below the campaign's setting."""
from pathlib import Path

from evalsvc.kinds.base import Kind, Settings, Verdict
from evalsvc.kinds.settings import Setting
from evalsvc.tally import ResultTable, RoundResult, TallyInput

from evalsvc_quiz.scoring import (
    answer_key, distribution, passing_score, score, share,
)


class QuizKind(Kind):
    """应知应会测试: a knowledge test; the definitions ship with this package."""

    name = "quiz"
    label = "应知应会测试"
    can_require_make_up = True
    reports_rate = True
    rate_label = "合格率"
    item_rate_label = "正确率"
    verdict_words = ("合格率达标", "合格率未达标，需要补课")
    definitions_dir = Path(__file__).parent / "definitions"
    reads_ballots = True
    settings = (
        Setting("pass_mark", "及格线（答对题目的比例）", 0.6),
        Setting("make_up_below", "合格率低于此值时建议补课", 0.6),
    )

    def tally(self, data: TallyInput, settings: Settings, suppress: bool = True) -> RoundResult:
        """The common distributions, with rates replaced by the test's own: the pass rate
        for the round and each group, the correct rate for each question."""
        result = super().tally(data, settings, suppress)
        key = answer_key(data.questions)
        need = passing_score(settings.kind["pass_mark"], len(key))
        if result.suppressed:
            return result  # nothing below the threshold is shown, scores included
        _score_part(result, data.ballot_answers, key, need)
        for group, (group_id, *_) in zip(result.groups, data.groups):
            if not group.suppressed:
                _score_part(group, [b for b in data.ballot_answers if b[0] == group_id],
                            key, need)
        scores = [score(picked, key) for _, picked in data.ballot_answers]
        result.tables = [
            ResultTable("成绩概况", ["参考人数", "平均分", "满分", "及格分", "合格率"],
                        [[len(scores), round(sum(scores) / len(scores), 2), len(key), need,
                          result.rate]], shares=[4]),
            ResultTable("成绩分布", ["得分", "人数", "比例"],
                        [[f"{s} 分", n, share(n, len(scores))]
                         for s, n in distribution(scores, len(key))], shares=[2]),
        ]
        return result

    def propose(self, result: RoundResult, settings: Settings) -> Verdict:
        """A pass rate below the setting → 补课."""
        return self.rate_verdict(result.rate, settings.kind["make_up_below"])


def _score_part(part, ballots, key, need: int) -> None:
    """Set the pass rate of a round or group, and the correct rate of its items."""
    scores = [score(picked, key) for _, picked in ballots]
    part.rate = share(sum(1 for s in scores if s >= need), len(scores))
    for item in part.items:
        if item.key in key:
            right = sum(1 for _, picked in ballots if picked.get(item.key) == key[item.key])
            item.rate = share(right, len(ballots))
