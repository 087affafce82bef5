"""QR codes as plain module matrices, for the PDF drawers and for inline SVG on web pages."""
from collections.abc import Iterator, Sequence

import qrcode
from qrcode.constants import ERROR_CORRECT_M

# The blank margin a reader needs around the symbol, in modules (ISO/IEC 18004).
QUIET_ZONE = 4


def qr_matrix(data: str) -> list[list[bool]]:
    """Return the modules of the smallest QR code (level M) holding ``data``; True is dark.

    There is no border: callers keep the quiet zone white themselves.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def dark_runs(row: Sequence[bool]) -> Iterator[tuple[int, int]]:
    """Yield ``(start, length)`` for each horizontal run of dark modules in one row."""
    start = None
    for x, dark in enumerate(row):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            yield start, x - start
            start = None
    if start is not None:
        yield start, len(row) - start


def qr_svg(data: str, module_px: int = 4) -> str:
    """Return a standalone ``<svg>`` of the QR code for ``data``, quiet zone included.

    One ``<path>`` of merged horizontal runs keeps it small; it holds no text from ``data``,
    so it is safe to inline in a page.
    """
    matrix = qr_matrix(data)
    side = len(matrix) + 2 * QUIET_ZONE
    steps = [
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for y, row in enumerate(matrix)
        for x, length in dark_runs(row)
    ]
    pixels = side * module_px
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}" '
        f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges" role="img">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(steps)}"/></svg>'
    )


def qr_pdf_ops(matrix: list[list[bool]], x: float, y: float, block: float) -> str:
    """Return PDF content operators that fill the dark modules of ``matrix``.

    The square ``block`` at (x, y), in points, includes the quiet zone, which stays white.
    Coordinates are in modules, so each run of dark modules in a row is a short
    ``x y w 1 re``; one fill covers the whole path, leaving no hairline seams between rows.
    """
    side = len(matrix)
    module = block / (side + 2 * QUIET_ZONE)
    origin_x, origin_y = x + QUIET_ZONE * module, y + QUIET_ZONE * module
    runs = [
        f"{start} {side - 1 - row} {length} 1 re"
        for row, cells in enumerate(matrix)
        for start, length in dark_runs(cells)
    ]
    head = f"q 0 g {module:.4f} 0 0 {module:.4f} {origin_x:.3f} {origin_y:.3f} cm"
    return f"{head} {' '.join(runs)} f Q"
