"""The CJK font for PDFs and charts: WenQuanYi Micro Hei, shipped as a Python package.

Most machines have no Chinese font, so we carry one (TrueType, which both reportlab and
matplotlib accept). reportlab and matplotlib are imported inside the functions only: a
worker that never draws must not pay for importing them.
"""
import functools
import importlib.resources
import pathlib

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
# Subfont 0 of the collection is the proportional face; 1 is the monospaced one.
SUBFONT_INDEX = 0
REPORTLAB_NAME = "WenQuanYiMicroHei"
MATPLOTLIB_FAMILY = "WenQuanYi Micro Hei"

# matplotlib settings that draw every label as typed: a name such as ``$\frac$`` is text,
# never mathtext (which drew it as a formula, or raised and broke the chart).
LITERAL_TEXT_RC = {"text.parse_math": False}


def cjk_font_path() -> pathlib.Path:
    """Return the path of the WenQuanYi Micro Hei collection, or raise if it is not installed."""
    try:
        path = pathlib.Path(str(importlib.resources.files(FONT_PACKAGE).joinpath(FONT_FILE)))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise RuntimeError(
            f"the CJK font {FONT_FILE} of the package {FONT_PACKAGE!r} is missing; "
            "install it with: pip install paperang-p2-fonts-cjk"
        )
    return path


@functools.cache
def reportlab_font() -> str:
    """Register the CJK font with reportlab (once per process) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = TTFont(REPORTLAB_NAME, str(cjk_font_path()), subfontIndex=SUBFONT_INDEX)
    pdfmetrics.registerFont(font)
    return REPORTLAB_NAME


@functools.cache
def matplotlib_font() -> str:
    """Add the CJK font to matplotlib's font manager (once per process); return its family."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    return MATPLOTLIB_FAMILY
