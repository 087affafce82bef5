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


def canonical(value: object) -> bytes:
    """The one byte string a JSON value is sealed (and a ballot's answers stored) as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def pack(rows: AnswerRows) -> str:
    """A ballot's answer rows as stored; an empty text counts as none (a choice)."""
    answers = sorted(([q, v, t or None] for q, v, t in rows), key=lambda a: (a[0], a[1]))
    if any(a[:2] == b[:2] for a, b in zip(answers, answers[1:])):
        raise Malformed("a ballot answers the same option twice")
    return canonical(answers).decode("utf-8")


def unpack(packed: str) -> list[list]:
    """The stored answers as ``[question, value, text]`` lists (raises Malformed)."""
    try:
        answers = json.loads(packed)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"not JSON: {exc}") from None
    if not isinstance(answers, list) or not all(
            isinstance(a, list) and len(a) == 3 and isinstance(a[0], str)
            and isinstance(a[1], str) and (a[2] is None or isinstance(a[2], str))
            for a in answers):
        raise Malformed("not a list of [question, value, text]")
    return answers


def is_canonical(packed: str, answers: list[list]) -> bool:
    """True when ``packed`` is the one way to store ``answers`` (strictly sorted by question
    and value, so each option once; no empty text; canonical JSON), i.e. ``pack`` would
    store them so: two different stored values never seal alike. A linear check, cheaper
    than packing again (the seal runs it on every ballot)."""
    keys = [(q, v) for q, v, _t in answers]
    return (all(a < b for a, b in zip(keys, keys[1:]))
            and all(t != "" for _q, _v, t in answers)
            and canonical(answers).decode("utf-8") == packed)


def stream(query, batch: int = 5000):
    """Rows as plain tuples, in batches (a server-side cursor on PostgreSQL), never all at
    once: reading a 100,000-ballot round holds a few thousand ballots at a time."""
    db.session.flush()  # what the session holds is what is read
    result = db.session.connection().execute(
        query.execution_options(stream_results=True, max_row_buffer=batch))
    while rows := result.fetchmany(batch):
        yield from map(tuple, rows)
