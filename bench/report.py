"""The printed table: one line per figure, with its baseline ratio and floor verdict."""
from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class Line:
    """One printed figure."""

    section: str
    name: str
    value: str
    ratio: str = ""
    floor: str = ""
    verdict: str = ""  # PASS, FAIL, SKIP or empty (a figure without a floor)


class Report:
    """Collects and prints figures as they are measured (so a crash keeps what was shown)."""

    WIDTHS = (44, 20, 44, 24)  # name, value, ratio or context, floor; then the verdict

    def __init__(self, out=sys.stdout):
        self.out = out
        self.lines: list[Line] = []
        self._section = None

    def figure(self, section: str, name: str, value: str, ratio: str = "",
               floor: str = "", verdict: str = "") -> Line:
        """Record and print one figure."""
        line = Line(section, name, value, ratio, floor, verdict)
        self.lines.append(line)
        if section != self._section:
            self._section = section
            print(f"\n== {section}", file=self.out)
        cells = (name, value, ratio, floor)
        text = "  " + "".join(c.ljust(w) if len(c) < w else c + "  "
                              for c, w in zip(cells, self.WIDTHS))
        print((text + verdict).rstrip(), file=self.out, flush=True)
        return line

    def check(self, section: str, name: str, value: str, ok: bool, floor: str,
              ratio: str = "") -> bool:
        """Record a figure that has a floor; prints PASS or FAIL."""
        self.figure(section, name, value, ratio, floor, "PASS" if ok else "FAIL")
        return ok

    def note(self, text: str, section: str | None = None) -> None:
        """A free line (context, not a figure) under ``section``, or under the current one."""
        if section is not None and section != self._section:
            self._section = section
            print(f"\n== {section}", file=self.out)
        print(f"  · {text}", file=self.out, flush=True)

    @property
    def failures(self) -> list[Line]:
        """Figures whose floor failed."""
        return [line for line in self.lines if line.verdict == "FAIL"]

    def summary(self) -> str:
        """A closing line: how many floors passed and failed."""
        checked = [line for line in self.lines if line.verdict in ("PASS", "FAIL")]
        failed = self.failures
        text = f"\n{len(checked) - len(failed)}/{len(checked)} floors passed"
        if failed:
            text += "; FAILED: " + "; ".join(f"{l.section}: {l.name}" for l in failed)
        return text


def ratio(value: float, baseline: float) -> str:
    """``value / baseline`` as ``0.23× baseline`` (or a dash without a baseline)."""
    if not baseline:
        return "—"
    return f"{value / baseline:.2f}× baseline"


def ms(seconds: float) -> str:
    """Seconds as milliseconds with sensible precision."""
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def mib(n_bytes: float) -> str:
    """Bytes in MiB."""
    return f"{n_bytes / 2**20:.1f} MiB"
