"""姓氏笔画 order: names compared the way Chinese documents list people, by the stroke count of
the surname, then of each following character; not by code point (which puts 李 before 王).

Stroke counts come from ``evalsvc/data/strokes.txt``, derived from Unicode's Unihan database
(kTotalStrokes, mainland counts) for the CJK Unified Ideographs block U+4E00..U+9FFF, which
holds every character of GB 2312 and GBK's common ones. The national rule (GB/T 22466 style)
then orders characters of equal count by their first strokes (横竖撇点折); Unihan carries no
stroke order, so equal counts fall back to code point: the same character still sorts together,
and the order is stable. A character outside the block (Latin letters, the middle dot of
minority names, rare Extension characters) sorts after every counted character.
"""
import functools
from importlib import resources

FIRST, LAST = 0x4E00, 0x9FFF
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UNCOUNTED = len(DIGITS)  # after every real count


@functools.cache
def _table() -> str:
    """One character per code point of the block, its count in DIGITS."""
    text = resources.files("evalsvc").joinpath("data/strokes.txt").read_text("ascii")
    table = "".join(line for line in text.splitlines() if line and not line.startswith("#"))
    if len(table) != LAST - FIRST + 1:
        raise RuntimeError(f"strokes.txt covers {len(table)} code points, not {LAST - FIRST + 1}")
    return table


def stroke_count(char: str) -> int | None:
    """The total strokes of one character, or None when the table has none."""
    code = ord(char)
    if not FIRST <= code <= LAST:
        return None
    return DIGITS.index(_table()[code - FIRST]) or None


def stroke_key(name: str) -> tuple[tuple[int, int], ...]:
    """A sort key for a name: per character, its stroke count, then its code point."""
    return tuple((stroke_count(c) or UNCOUNTED, ord(c)) for c in name)
