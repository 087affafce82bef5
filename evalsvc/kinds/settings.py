"""A kind's own settings: declared with defaults and bounds, stored per campaign as data.

A campaign keeps every kind's values in one JSON column keyed by kind name, so a new
kind (or a new threshold of an old one) needs no migration.
"""
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One number a kind's rules read, with the office's label and its allowed range."""

    key: str
    label: str  # shown to the office, in Chinese
    default: float
    minimum: float = 0.0
    maximum: float = 1.0
    share: bool = True  # a proportion, entered and shown as a percentage

    def parse(self, raw) -> float:
        """The value from what the office typed (``60%``, ``0.6``, ``3``), or ValueError in
        Chinese naming the setting and its range."""
        text = str(raw).strip()
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            raise ValueError(f"「{self.label}」须为数字") from None
        if self.share and (percent or value > 1):
            value /= 100
        if not self.share and value != int(value):
            raise ValueError(f"「{self.label}」须为整数")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"「{self.label}」应在 {self.shown(self.minimum)} 到 "
                             f"{self.shown(self.maximum)} 之间")
        return value if self.share else int(value)

    def shown(self, value: float) -> str:
        """The value as the office reads it."""
        return f"{value:.0%}" if self.share else str(int(value))


def resolve(settings: tuple[Setting, ...], stored: Mapping | None) -> dict[str, float]:
    """Every declared setting: the stored value where it is valid, else the default."""
    stored = stored or {}
    values = {}
    for setting in settings:
        try:
            values[setting.key] = setting.parse(stored[setting.key]) \
                if setting.key in stored else setting.default
        except ValueError:
            values[setting.key] = setting.default
    return values
