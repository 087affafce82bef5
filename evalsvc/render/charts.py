"""Charts of a closed round's results, as SVG or PNG bytes.

matplotlib is imported inside the functions only: a web worker that never draws a chart
must not pay the ~1 s it takes to import. We use the object API (``Figure``) and never
pyplot, so no global state or backend switch leaks between requests. The Chinese font is
set per figure through ``rc_context``, so labels are real glyphs, not missing-glyph boxes.
"""
from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

from evalsvc.render.fonts import LITERAL_TEXT_RC, matplotlib_font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from evalsvc.tally import ItemResult, RoundResult

FORMATS = ("svg", "png")
WIDTH_IN = 7.5
PNG_DPI = 110
WRAP_CHARS = 12  # Chinese characters per line of a y-axis label
MIN_LABEL_SHARE = 0.06  # segments narrower than this get no percentage printed inside

# Options are ordered best to worst in every scale (then 不了解, "don't know"), so colours
# go by position: greens for the positive grades, red for the negative one, grey after.
PALETTE = ("#1b7837", "#5aae61", "#a6dba0", "#d6604d", "#9e9e9e", "#4393c3", "#8073ac")
CARDS_COLOUR = "#9ecae1"
BALLOTS_COLOUR = "#2171b5"
FLAG_COLOUR = "#c62828"
FLAG_SUFFIX = "（初评不合格）"  # preliminary "unqualified" proposed for this member
INSUFFICIENT = "样本不足，结果不予显示"  # "too few ballots; results withheld"


# What each chart is called where a person reads its name (the XLSX caption, a link).
CHART_TITLES = {"participation": "参与情况", "grades": "民主评议票数分布", "items": "各题结果"}


def available_charts(result: RoundResult) -> list[str]:
    """Return the names of the charts that make sense for ``result``, in display order."""
    names = ["participation"]
    if result.members:
        names.append("grades")
    if not result.suppressed and any(i.type in ("choice", "multi") for i in result.items):
        names.append("items")
    return names


def render_chart(result: RoundResult, name: str, fmt: str) -> bytes:
    """Draw the chart ``name`` of ``result`` and return it encoded as ``fmt`` (svg or png)."""
    drawer = _DRAWERS.get(name)
    if drawer is None:
        raise ValueError(f"unknown chart {name!r}; expected one of {sorted(_DRAWERS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; expected one of {FORMATS}")
    import matplotlib

    with matplotlib.rc_context(_rc_params()):
        return _encode(drawer(result), fmt)


def _rc_params() -> dict:
    """The per-figure settings: the bundled CJK font, literal text (no mathtext), text as
    paths, stable SVG ids."""
    return {
        **LITERAL_TEXT_RC,
        "font.family": matplotlib_font(),
        "axes.unicode_minus": False,  # the ASCII hyphen; U+2212 is not needed anywhere
        "svg.fonttype": "path",
        "svg.hashsalt": "evalsvc",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _encode(fig: Figure, fmt: str) -> bytes:
    """Save ``fig`` in ``fmt`` without timestamps or version strings, so output is stable."""
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    else:
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _figure(height: float) -> Figure:
    """A blank figure of the standard width, laid out so nothing is clipped."""
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height), layout="constrained")


def _wrap(text: str, width: int = WRAP_CHARS) -> str:
    """Break a long label into lines of ``width`` characters (Chinese has no spaces)."""
    return textwrap.fill(text, width) or text


def _colour(index: int) -> str:
    """The palette colour of the ``index``-th option of a scale."""
    return PALETTE[index % len(PALETTE)]


# -- participation -----------------------------------------------------------------------

def _participation(result: RoundResult) -> Figure:
    """Grouped bars per respondent group: cards issued beside ballots received."""
    groups = [(g.label, g.cards, g.ballots) for g in result.groups]
    if not groups:
        groups = [("全部", 0, result.ballots)]  # "all respondents"
    fig = _figure(3.6)
    ax = fig.add_subplot()
    width = 0.38
    for x, (_, cards, ballots) in enumerate(groups):
        if cards:  # the poster group hands out no cards: only its ballots are drawn
            bar = ax.bar(x - width / 2, cards, width, color=CARDS_COLOUR, label="测评卡")
            ax.bar_label(bar, padding=2, fontsize=9)
        shift = width / 2 if cards else 0
        bar = ax.bar(x + shift, ballots, width, color=BALLOTS_COLOUR, label="已提交")
        ax.bar_label(bar, labels=[_turnout(ballots, cards)], padding=2, fontsize=9)
    ax.set_xticks(range(len(groups)), [_wrap(label, 6) for label, _, _ in groups])
    ax.set_ylabel("份数")  # "copies"
    ax.margins(y=0.15)
    # Below the axes, never over the tallest bar.
    _dedupe_legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    ax.set_title(f"参与情况（共收回 {result.ballots} 份）")  # "participation (N returned)"
    return fig


def _turnout(ballots: int, cards: int) -> str:
    """The ballots count, with the share of cards returned when cards were issued."""
    return f"{ballots} ({ballots / cards:.0%})" if cards else str(ballots)


def _dedupe_legend(ax: Axes, **kwargs) -> None:
    """A legend with each label once, although every bar call repeats it."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), frameon=False, **kwargs)


# -- grades (民主评议党员, the members' review) -----------------------------------------------

def _grades(result: RoundResult) -> Figure:
    """Horizontal stacked bars, one per member in ballot order, one segment per grade."""
    members = result.members
    grades = result.grade_labels or {g: g for m in members for g in m.counts}
    fig = _figure(1.5 + 0.3 * max(len(members), 2))
    ax = fig.add_subplot()
    rows = range(len(members))
    left = [0] * len(members)
    for index, (value, label) in enumerate(grades.items()):
        counts = [m.counts.get(value, 0) for m in members]
        ax.barh(rows, counts, left=left, height=0.7, color=_colour(index), label=label)
        left = [a + b for a, b in zip(left, counts)]
    ax.set_yticks(rows, [m.name + (FLAG_SUFFIX if m.flagged else "") for m in members])
    for tick, member in zip(ax.get_yticklabels(), members):
        if member.flagged:
            tick.set_color(FLAG_COLOUR)
    ax.set_ylim(len(members) - 0.5, -0.5)  # the first member on the ballot at the top
    ax.set_xlabel("票数")  # "votes"
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside lower center", ncols=len(grades), frameon=False)
    ax.set_title("民主评议票数分布")  # "distribution of the members' review votes"
    return fig


# -- items ---------------------------------------------------------------------------------

def _items(result: RoundResult) -> Figure:
    """Answer distributions: stacked shares for rating items, counts for multi-choice."""
    choice = [i for i in result.items if i.type == "choice" and _shown(i)]
    multi = [i for i in result.items if i.type == "multi" and _shown(i)]
    rate_label = result.item_rate_label or result.rate_label or "比率"
    if result.suppressed or not (choice or multi):
        return _insufficient(f"各项{rate_label}")  # e.g. 各项满意率: "satisfaction by item"
    if choice:
        return _choice_items(choice, rate_label)
    return _multi_items(multi)


def _shown(item: ItemResult) -> bool:
    """Whether any option of ``item`` has a count to show (suppressed ones have None)."""
    return any(o.count is not None for o in item.options)


def _choice_items(items: list[ItemResult], rate_label: str) -> Figure:
    """100%-stacked horizontal bars, one per item, with the item's rate at the right."""
    labels = [_wrap(i.text) for i in items]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig = _figure(1.6 + 0.28 * lines + 0.3 * len(items))
    ax = fig.add_subplot()
    options = [(o.value, o.label) for o in items[0].options if o.count is not None]
    rows = range(len(items))
    left = [0.0] * len(items)
    for index, (value, label) in enumerate(options):
        shares = [_share(item, value) for item in items]
        bars = ax.barh(rows, shares, left=left, height=0.65, color=_colour(index), label=label)
        ax.bar_label(bars, labels=[f"{s:.0%}" if s >= MIN_LABEL_SHARE else "" for s in shares],
                     label_type="center", fontsize=8, color="white" if index < 1 else "black")
        left = [a + b for a, b in zip(left, shares)]
    for row, item in zip(rows, items):
        if item.rate is not None:
            ax.text(1.02, row, f"{rate_label}\n{item.rate:.1%}", va="center", fontsize=8)
    _share_axis(ax, labels)
    fig.legend(loc="outside lower center", ncols=len(options), frameon=False)
    ax.set_title(f"各项{rate_label}")
    return fig


def _share(item: ItemResult, value: str) -> float:
    """One option's share of the item's answers: the result's own figure, the one the
    table, the exports and the JSON show."""
    share = next((o.share for o in item.options if o.value == value), None)
    return share or 0.0


def _share_axis(ax: Axes, labels: list[str]) -> None:
    """The axes of a 100% chart: items top to bottom, percentages along the bottom."""
    from matplotlib.ticker import PercentFormatter

    ax.set_yticks(range(len(labels)), labels, fontsize=9)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)


def _multi_items(items: list[ItemResult]) -> Figure:
    """Bars of how many ballots named each category, one panel per multi-choice item."""
    sizes = [len(i.options) for i in items]
    fig = _figure(1.0 + sum(0.9 + 0.32 * n for n in sizes))
    axes = fig.subplots(len(items), 1, squeeze=False, height_ratios=[n + 2 for n in sizes])
    for ax, item in zip(axes[:, 0], items):
        options = [o for o in item.options if o.count is not None]
        bars = ax.barh(range(len(options)), [o.count for o in options], color=PALETTE[5])
        ax.bar_label(bars, padding=3, fontsize=9)
        ax.set_yticks(range(len(options)), [o.label for o in options])
        ax.set_ylim(len(options) - 0.5, -0.5)
        ax.margins(x=0.1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("选择人数")  # "respondents who chose it"
        ax.set_title(_wrap(item.text, 30), fontsize=10)
    fig.suptitle("意见分布")  # "where the opinions fall"
    return fig


def _insufficient(title: str) -> Figure:
    """A figure that only says the sample is too small to show results."""
    fig = _figure(2.2)
    fig.text(0.5, 0.5, INSUFFICIENT, ha="center", va="center", fontsize=14, color="#555555")
    fig.suptitle(title)
    return fig


_DRAWERS: dict[str, Callable[[RoundResult], Figure]] = {
    "participation": _participation,
    "grades": _grades,
    "items": _items,
}
