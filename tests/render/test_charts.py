"""Result charts: what someone opening the SVG or PNG would see, in Chinese, without boxes."""
import gc
import re
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

import pytest

from evalsvc.render.charts import INSUFFICIENT, available_charts, render_chart
from evalsvc.render.fonts import cjk_font_path, matplotlib_font
from evalsvc.tally import GroupResult, ItemResult, MemberResult, OptionCount, RoundResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRADES = {"excellent": "优秀", "qualified": "合格", "basic": "基本合格", "unqualified": "不合格"}
SATISFACTION = [("satisfied", "满意"), ("fairly", "比较满意"), ("basic", "基本满意"),
                ("dissatisfied", "不满意"), ("unknown", "不了解")]
CATEGORIES = [("ideals", "理想信念"), ("thinking", "思想观念"), ("organisation", "组织建设"),
              ("style", "工作作风"), ("service", "服务意识"), ("relations", "干群关系")]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴刚",
         "徐丽", "孙强", "马超", "朱琳", "胡军", "郭涛", "何平", "林峰", "罗斌", "高翔",
         "梁红", "宋佳", "郑凯", "谢婷", "韩冰", "唐亮", "冯雪", "于海", "董明", "萧然"]


def groups() -> list[GroupResult]:
    """Two card groups and the poster group, which hands out no cards."""
    return [GroupResult("member", "党员", 40, 38, False),
            GroupResult("masses", "群众代表", 30, 21, False),
            GroupResult("public", "公开扫码", 0, 12, False)]


def rating(key: str, text: str, counts: list[int] | None) -> ItemResult:
    """A satisfaction item; ``counts`` None means the item is suppressed."""
    if counts is None:
        options = [OptionCount(v, label, None, None) for v, label in SATISFACTION]
        return ItemResult(key, text, "choice", options, None, None, None)
    answered, valid = sum(counts), sum(counts[:4])
    options = [OptionCount(v, label, n, n / answered)
               for (v, label), n in zip(SATISFACTION, counts)]
    return ItemResult(key, text, "choice", options, answered, valid, sum(counts[:3]) / valid)


def round_result(kind: str, items=(), members=(), suppressed=False) -> RoundResult:
    """A closed round as the tally would hand it over."""
    return RoundResult(
        round_id=1, kind=kind, title="测评", ballots=71, suppressed=suppressed, poster=True,
        items=list(items), groups=groups(), members=list(members), comments={},
        comments_suppressed={}, rate=None, grade_labels=GRADES if members else {},
        rate_label="满意率")  # the kind names its rate; the chart shows that name


def stage_review() -> RoundResult:
    """A stage review with one long item text that has to wrap."""
    return round_result("stage_review", [
        rating("item1", "学习动员是否广泛深入，党员参学率是否达到要求", [40, 15, 8, 3, 5]),
        rating("item2", "学习内容是否做到规定篇目学习、读书笔记完整", [30, 20, 10, 8, 3]),
        rating("overall", "总体评价", [45, 15, 6, 2, 3]),
    ])


def member_review(count: int = 5) -> RoundResult:
    """A members' review of ``count`` members; every fifth after the first is flagged."""
    members = [MemberResult(i, NAMES[i], {"excellent": 20, "qualified": 12, "basic": 3,
                                         "unqualified": 14 if i % 5 == 0 and i else 1},
                            36, flagged=i % 5 == 0 and i > 0) for i in range(count)]
    return round_result("member_review", members=members)


def opinion() -> RoundResult:
    """An opinion round: one multi-choice item of problem categories."""
    counts = [12, 8, 20, 25, 14, 6]
    options = [OptionCount(v, label, n, n / 60) for (v, label), n in zip(CATEGORIES, counts)]
    return round_result("opinion", [
        ItemResult("categories", "您认为存在问题较多的方面（可多选）", "multi", options, 60, 60, None)])


CASES = {
    "participation": stage_review,
    "grades": member_review,
    "items": stage_review,
    "items-opinion": opinion,
}


@pytest.fixture(scope="module", autouse=True)
def earlier_garbage_collected():
    """Earlier modules' garbage is collected once, and what is left is frozen (kept out of
    the collector's passes, as the suite's heap is from its start: tests/conftest.py): each
    render's own collection then walks only what the module made since, not the whole
    process (a twentieth of a second each). It stays frozen after the module: what earlier
    modules left alive by then (caches, mostly) lives on anyway."""
    gc.collect()
    gc.freeze()


def render_quietly(result: RoundResult, name: str, fmt: str) -> bytes:
    """Render, failing on any warning at all (a missing CJK glyph is one). Garbage from
    earlier tests is collected first and the collector is off while rendering: an unclosed
    connection of another test, finalised in here, once failed this test in CI."""
    gc.collect()
    gc.disable()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = render_chart(result, name, fmt)
    finally:
        gc.enable()
    assert [str(w.message) for w in caught] == []
    return data


def drawn_texts(svg: bytes) -> list[str]:
    """The strings drawn in an SVG, in drawing order (matplotlib comments each text path)."""
    return re.findall(r"<!-- (.*?) -->", svg.decode(), re.S)


def glyph_id(char: str) -> str:
    """The SVG id matplotlib gives the WenQuanYi outline of ``char``.

    matplotlib 3.11 names a glyph ``<PostScript name>-<glyph index in hex>`` (the index
    inside the font, not the code point), so look the index up in the font itself.
    """
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(cjk_font_path()))
    index = font.get_char_index(ord(char))
    assert index, f"{char!r} is not in the bundled font"
    return f"{font.postscript_name}-{index:x}"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG header."""
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("fmt", ["svg", "png"])
@pytest.mark.parametrize("case", CASES)
def test_every_chart_renders_without_warnings(case, fmt):
    """Each chart comes out as a valid file, with no missing-glyph (or any other) warning."""
    data = render_quietly(CASES[case](), case.split("-")[0], fmt)
    if fmt == "png":
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    else:
        assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"


def test_matplotlib_resolves_the_bundled_font():
    """The family we set per figure resolves to the WenQuanYi file we ship, no fallback."""
    from matplotlib.font_manager import FontProperties, findfont

    path = findfont(FontProperties(family=matplotlib_font()), fallback_to_default=False)
    assert path.endswith("wqy-microhei.ttc")


@pytest.mark.parametrize("case, chars", [
    ("grades", "优秀合格基本不张伟"), ("participation", "参与情况测评卡已提交党员群众"),
    ("items", "各项满意率比较不了解"), ("items-opinion", "意见分布理想信念干群关系"),
])
def test_chinese_labels_are_real_glyph_outlines(case, chars):
    """With text as paths, every Chinese label character is a WenQuanYi outline in <defs>."""
    svg = render_quietly(CASES[case](), case.split("-")[0], "svg").decode()
    ids = set(re.findall(r'<path id="([^"]+)"', svg))
    assert {glyph_id(c) for c in chars} <= ids
    # A character missing from WenQuanYi would be drawn as a box from matplotlib's
    # "LastResortHE-Regular" font instead: every glyph must come from our font.
    glyphs = {i for i in ids if "-" in i}
    assert glyphs and all(i.startswith("WenQuanYiMicroHei-") for i in glyphs)


def test_grades_list_members_in_ballot_order_and_mark_the_flagged():
    """Members read top to bottom as on the ballot; a flagged one carries the mark."""
    texts = drawn_texts(render_quietly(member_review(6), "grades", "svg"))
    names = [t for t in texts if t[:2] in NAMES]
    assert names == NAMES[:5] + ["杨帆（初评不合格）"]
    assert {"民主评议票数分布", *GRADES.values()} <= set(texts)


def test_grades_chart_grows_with_the_branch():
    """Thirty members get a taller picture than five, so their names stay readable."""
    small = png_size(render_quietly(member_review(5), "grades", "png"))
    large = png_size(render_quietly(member_review(30), "grades", "png"))
    assert large[0] == small[0] and large[1] > small[1] * 2


def test_items_show_wrapped_questions_shares_and_rates():
    """Long questions wrap at 12 characters; each bar shows shares and the satisfaction rate."""
    texts = drawn_texts(render_quietly(stage_review(), "items", "svg"))
    assert "学习动员是否广泛深入，党" in texts and "员参学率是否达到要求" in texts
    assert {"各项满意率", "满意率", "56%", "95.5%", *(label for _, label in SATISFACTION)} <= set(texts)


def test_suppressed_items_are_omitted_and_an_empty_chart_says_why():
    """Suppressed items vanish; when none remain the chart says the sample is too small."""
    partly = stage_review()
    partly.items.append(rating("hidden", "隐藏的题目", None))
    assert "隐藏的题目" not in drawn_texts(render_quietly(partly, "items", "svg"))
    hidden = round_result("satisfaction", [rating("overall", "总体评价", None)], suppressed=True)
    assert available_charts(hidden) == ["participation"]
    assert INSUFFICIENT in drawn_texts(render_quietly(hidden, "items", "svg"))


def test_participation_shows_cards_and_ballots_per_group():
    """Cards beside ballots with the turnout; the poster group has only its ballots."""
    texts = drawn_texts(render_quietly(stage_review(), "participation", "svg"))
    assert {"党员", "群众代表", "公开扫码", "测评卡", "已提交", "40", "38 (95%)", "12"} <= set(texts)
    assert "0" not in texts[texts.index("12"):]  # no empty cards bar for the poster group


def test_available_charts_per_kind():
    """Each kind offers the charts that mean something for it."""
    assert available_charts(stage_review()) == ["participation", "items"]
    assert available_charts(member_review()) == ["participation", "grades"]
    assert available_charts(opinion()) == ["participation", "items"]


def test_output_is_deterministic():
    """The same result gives the same bytes, so stored charts and caches stay stable."""
    for fmt in ("svg", "png"):
        first = render_chart(member_review(), "grades", fmt)
        assert render_chart(member_review(), "grades", fmt) == first


def test_unknown_chart_or_format_is_refused():
    """A typo in a URL or a call is an error, not an empty picture."""
    with pytest.raises(ValueError):
        render_chart(stage_review(), "pie", "svg")
    with pytest.raises(ValueError):
        render_chart(stage_review(), "items", "pdf")


def test_importing_charts_does_not_import_matplotlib():
    """A web worker pays for matplotlib only when it first draws."""
    code = "import sys, evalsvc.render.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
