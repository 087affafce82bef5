"""Control characters that no text we store may hold.

PostgreSQL cannot store a NUL in text (the driver raises), and the other C0 controls and DEL
have no business in a name, a title or an opinion: spreadsheets and PDFs drop or choke on
them later. Tab, carriage return and newline stay allowed, for multi-line text.

Invisible format characters are refused too: bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069), zero-width characters and marks (U+200B–U+200F, U+2060,
U+FEFF). They let two member or organisation names look identical ("张三" and "\u202e三张")
and reorder what a PDF or spreadsheet shows.

U+FFFE and U+FFFF are refused too: valid UTF-8, but no XML document may hold them, so one
in a respondent's comment made the round's XLSX export a damaged file.
"""
import re

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\ufffe\uffff]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, CR and LF."""
    return CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    """``text`` without the characters ``has_control`` refuses."""
    return CONTROL.sub("", text)
