"""QR codes as plain module matrices, for the PDF drawers and for inline SVG on web pages.

numpy is imported inside the functions only, as reportlab is (see ``fonts``): importing the
renderers stays cheap for workers that never draw.
"""
import functools
from collections.abc import Iterator, Sequence

import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M

# The blank margin a reader needs around the symbol, in modules (ISO/IEC 18004).
QUIET_ZONE = 4


def qr_matrix(data: str) -> list[list[bool]]:
    """Return the modules of the smallest QR code (level M) holding ``data``; True is dark.

    There is no border: callers keep the quiet zone white themselves. The symbol is exactly
    the one ``qrcode`` makes, only faster (see ``_QRCode``).
    """
    code = _QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


class _QRCode(qrcode.QRCode):
    """qrcode's QRCode choosing the same mask pattern as qrcode, scoring all eight at once.

    qrcode builds the whole symbol nine times in pure Python (once per mask to score it with
    ``util.lost_point``, then the chosen one), most of the time a card's code takes. Here the
    symbol is built once, the eight masked candidates are derived from it with numpy by
    flipping its data modules, and scored together; qrcode then builds the chosen one as usual,
    format information included.
    """

    def best_mask_pattern(self) -> int:
        """Return the mask ``util.lost_point`` scores lowest, the first one on ties."""
        import numpy as np

        self.makeImpl(True, 0)  # as qrcode scores it: format and version modules all light
        flips = _masks(self.modules_count) & _DATA_MODULES[self.version]
        # Undo mask 0, then apply each of the eight.
        candidates = np.array(self.modules, dtype=bool) ^ flips[0] ^ flips
        scores = _penalties(candidates)
        return scores.index(min(scores))

    def map_data(self, data, mask_pattern) -> None:
        """Place the data as qrcode does, noting first the modules masks flip: the empty ones."""
        if self.version not in _DATA_MODULES:
            import numpy as np

            empty = np.array([[module is None for module in row] for row in self.modules])
            _DATA_MODULES[self.version] = empty
        super().map_data(data, mask_pattern)


# Version -> where a symbol of that version has its data and error correction modules.
_DATA_MODULES = {}


@functools.cache
def _masks(side: int):
    """qrcode's eight mask patterns over a symbol of ``side`` modules: booleans (8, side, side)."""
    import numpy as np

    return np.array([[[util.mask_func(pattern)(row, col) for col in range(side)]
                      for row in range(side)] for pattern in range(8)])


def _penalties(candidates) -> list[int]:
    """Return ``util.lost_point`` of each symbol in ``candidates`` (symbols, rows, columns).

    The four penalty rules of ISO/IEC 18004 as qrcode 8.2 counts them; rules 1 and 3 look at
    each symbol's rows and columns, the columns transposed into rows of one array ``lines``.
    """
    import numpy as np

    side = candidates.shape[1]
    lines = np.concatenate([candidates, candidates.transpose(0, 2, 1)], axis=1)

    def spans(width: int, offset: int):
        """Module ``offset`` of every ``width``-module span of every line."""
        return lines[:, :, offset:side - width + 1 + offset]

    # Rule 1: a run of L >= 5 modules of one colour costs L - 2: the number of 5-module
    # spans inside the run (L - 4), plus 2 for the run's first span.
    same = spans(2, 0) == spans(2, 1)
    five = same[:, :, :-3] & same[:, :, 1:-2] & same[:, :, 2:-1] & same[:, :, 3:]
    firsts = five[:, :, 0].sum(1) + (five[:, :, 1:] & ~same[:, :, :-4]).sum((1, 2))
    runs = five.sum((1, 2)) + 2 * firsts
    # Rule 2: 3 for each 2x2 block of one colour, overlapping blocks counted each.
    corner = candidates[:, :-1, :-1]
    blocks = ((corner == candidates[:, :-1, 1:]) & (corner == candidates[:, 1:, :-1])
              & (corner == candidates[:, 1:, 1:])).sum((1, 2))
    # Rule 3: 40 for each dark-light-dark-dark-dark-light-dark core with four light modules
    # right after or right before it, all 11 modules inside the symbol.
    core = (spans(7, 0) & ~spans(7, 1) & spans(7, 2) & spans(7, 3) & spans(7, 4)
            & ~spans(7, 5) & spans(7, 6))
    light = ~(spans(4, 0) | spans(4, 1) | spans(4, 2) | spans(4, 3))
    finders = ((core[:, :, :-4] & light[:, :, 7:]).sum((1, 2))
               + (light[:, :, :-7] & core[:, :, 4:]).sum((1, 2)))
    # Rule 4: 10 for each full 5 % the dark share strays from 50 %, in qrcode's arithmetic.
    darks = candidates.sum((1, 2))
    return [int(r) + 3 * int(b) + 40 * int(f) + int(abs(int(d) / side**2 * 100 - 50) / 5) * 10
            for r, b, f, d in zip(runs, blocks, finders, darks)]


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
