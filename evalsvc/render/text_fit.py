"""Fitting Chinese and Latin text into a box on a PDF page: wrap, shrink, or cut with "…".

reportlab is imported inside the functions only.
"""
import re

# Chinese line breaking: no line starts with closing punctuation or ends with opening one.
CLOSING = set("，。、；：！？）》」』”’,.;:!?)")
OPENING = set("（《「『“‘(")


def fit_text(text: str, font: str, width: float, *, max_lines: int, largest: float,
              smallest: float) -> tuple[float, list[str]]:
    """Return the largest size (in half points) at which ``text`` wraps into ``max_lines``.

    Text that does not fit even at ``smallest`` is cut, its last line ending in an ellipsis:
    it never overflows its box.
    """
    size = largest
    while size >= smallest:
        lines = wrap(text, font, size, width)
        if len(lines) <= max_lines:
            return size, lines
        size -= 0.5
    lines = wrap(text, font, smallest, width)[:max_lines]
    lines[-1] = with_ellipsis(lines[-1], font, smallest, width)
    return smallest, lines


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: between CJK characters and words."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for token in tokens(" ".join(text.split())):
        if stringWidth(line + token, font, size) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = "" if token.isspace() else token
        while stringWidth(line, font, size) > width:  # one word wider than the line (a URL)
            cut = prefix_fitting(line, font, size, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def tokens(text: str) -> list[str]:
    """Split text into unbreakable pieces: ASCII words, spaces and single CJK characters,
    with punctuation glued to the character it belongs to."""
    tokens: list[str] = []
    glue_next = False
    for piece in re.findall(r"[!-~]+|\s+|.", text):
        if tokens and not piece.isspace() and (glue_next or piece[0] in CLOSING):
            tokens[-1] += piece
        else:
            tokens.append(piece)
        glue_next = piece[-1] in OPENING
    return tokens


def prefix_fitting(text: str, font: str, size: float, width: float) -> int:
    """Return how many leading characters of ``text`` fit in ``width`` (at least one),
    ending after a ``/``, ``.`` or ``-`` when there is one, so URLs break where they read well."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    count = 1
    while count < len(text) and stringWidth(text[:count + 1], font, size) <= width:
        count += 1
    separator = max(text.rfind(mark, 0, count) for mark in "./-")
    return separator + 1 if separator > 0 else count


def with_ellipsis(line: str, font: str, size: float, width: float) -> str:
    """Shorten ``line`` until it fits in ``width`` with a trailing ellipsis."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while line and stringWidth(line + "…", font, size) > width:
        line = line[:-1]
    return line + "…"
