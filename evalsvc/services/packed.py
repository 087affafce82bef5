"""A ballot's answers packed into one value: the ``ballots.answers`` column.

The value is the canonical JSON text (``canonical``: no whitespace, UTF-8, not
ASCII-escaped) of the ballot's answers, each ``[question, value, text]``, sorted by
question and value (code-point order, which is UTF-8 byte order); ``value`` is '' for a
free text, ``text`` null for a choice. It is exactly the list the seal hashes per ballot
(``services.seal``), so a ballot is one row, written once and read once, on every engine.

Nothing but the answers goes in: no card, no nonce, no time, no order of arrival.
"""
import json
from collections.abc import Iterable

from evalsvc.extensions import db

AnswerRows = Iterable[tuple[str, str, str | None]]  # (question, value, text)


class Malformed(ValueError):
    """A stored value that is not the canonical packing of a list of answers."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)


def canonical(value: object) -> bytes:
    """The one byte string a JSON value is sealed (and a ballot's answers stored) as."""
    return canonical_text(value).encode("utf-8")


def canonical_text(value: object) -> str:
    """``canonical`` before UTF-8."""
    return _CANONICAL.encode(value)


def pack(rows: AnswerRows) -> str:
    """A ballot's answer rows as stored; an empty text counts as none (a choice). Raises
    Malformed for anything the seal would refuse (a question, value or text that is not a
    string; an option twice): stored, it would make the round impossible to seal."""
    answers = [[q, v, t or None] for q, v, t in rows]
    if any(type(q) is not str or type(v) is not str for q, v, _t in answers):
        raise Malformed("a question or value that is not a string")
    answers.sort(key=lambda a: (a[0], a[1]))
    if _well_formed_length(answers) is None:
        raise Malformed("a text that is not a string, or the same option twice")
    return _CANONICAL.encode(answers)


def unpack(packed: str) -> list:
    """The stored answers, decoded (raises Malformed unless a JSON list). Each is meant to
    be ``[question, value, text]``: the seal checks that of every ballot (``is_canonical``),
    and a reader that finds otherwise raises Malformed (``answer_rows``)."""
    try:
        answers = json.loads(packed)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"not JSON: {exc}") from None
    if type(answers) is not list:
        raise Malformed("not a list of [question, value, text]")
    return answers


def is_canonical(packed: str, answers: list) -> bool:
    """True when ``packed`` is the one way ``pack`` stores ``answers`` (``unpack`` of it):
    each one [question, value, text] (text null or not empty), strictly sorted by question
    and value (so each option once), in canonical JSON. Two different stored values never
    seal alike. A linear check, cheaper than packing again (the seal runs it on every
    ballot).

    Without a backslash in ``packed`` every string in it is spelled as itself, as the
    canonical form spells it (which escapes only quotes, backslashes and control
    characters, none of which JSON lets stand unescaped); the tokens are those of the
    answers, so only spacing could differ, and spacing adds length: comparing lengths
    is enough. Otherwise the answers are encoded and compared."""
    length = _well_formed_length(answers)
    if length is None:
        return False
    if "\\" not in packed:
        return len(packed) == length
    return _CANONICAL.encode(answers) == packed


def _well_formed_length(answers: list) -> int | None:
    """None unless each answer is [question, value, text] (text null or not empty),
    strictly sorted; else the length of their canonical packing when no string in it
    needs an escape."""
    previous = None
    length = 1  # "[", then each answer with the "," or "]" after it
    for answer in answers:
        if type(answer) is not list or len(answer) != 3:
            return None
        question, value, text = answer
        if type(question) is not str or type(value) is not str or not (
                text is None or (type(text) is str and text)):
            return None
        if previous is not None and (question, value) <= previous:
            return None
        previous = (question, value)
        # ["question","value",null] or ["question","value","text"], and "," or "]"
        length += len(question) + len(value) + (13 if text is None else len(text) + 11)
    return length if answers else 2


def stream(query, batch: int = 5000):
    """Rows as plain tuples, in batches (a server-side cursor on PostgreSQL), never all at
    once: reading a 100,000-ballot round holds a few thousand ballots at a time."""
    db.session.flush()  # what the session holds is what is read
    result = db.session.connection().execute(
        query.execution_options(stream_results=True, max_row_buffer=batch))
    while rows := result.fetchmany(batch):
        yield from map(tuple, rows)
