"""Control characters that no text we store may hold.

PostgreSQL cannot store a NUL in text (the driver raises), and the other C0 controls and DEL
have no business in a name, a title or an opinion: spreadsheets and PDFs drop or choke on
them later. Tab, carriage return and newline stay allowed, for multi-line text.
"""
import re

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, CR and LF."""
    return CONTROL.search(text) is not None
