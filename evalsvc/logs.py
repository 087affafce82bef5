"""Logging that never records a card code: codes in paths and messages are redacted,
in the app's own log, the development server's and gunicorn's access log."""
import logging
import re

from flask import Flask

# A 26-character base32 card code, in a card URL or on its own.
CARD_CODE = re.compile(r"(?<![A-Za-z2-7])[A-Za-z2-7]{26}(?![A-Za-z2-7])")
# Everything after /c/ up to the end of the path: a typed code may hold spaces.
_PATH_END = r"(?=\s+HTTP/|\s*\[|[?\"'\n]|$)"
CARD_PATH = re.compile(r"(/[Cc]/).*?" + _PATH_END)
POSTER_PATH = re.compile(r"(/[Pp]/).*?" + _PATH_END)
RECEIPT_ARG = re.compile(r"(code=)[^\s&\"']+")


def redact(text: str) -> str:
    """The text with card codes, poster tokens and typed codes replaced."""
    text = CARD_PATH.sub(r"\1[redacted]", text)
    text = POSTER_PATH.sub(r"\1[redacted]", text)
    text = RECEIPT_ARG.sub(r"\1[redacted]", text)
    return CARD_CODE.sub("[redacted]", text)


class RedactCodes(logging.Filter):
    """A filter that rewrites each record's message with codes redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def init_app(app: Flask) -> None:
    """Redact in the app's logger, the dev server's and every root handler."""
    redactor = RedactCodes()
    for name in (app.logger.name, "werkzeug", "gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(redactor)
    for handler in logging.getLogger().handlers + app.logger.handlers:
        if not any(isinstance(f, RedactCodes) for f in handler.filters):
            handler.addFilter(redactor)


try:  # gunicorn is a dependency, but the app must import without it (e.g. tools).
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object


class RedactingGunicornLogger(_GunicornLogger):
    """gunicorn's logger with card codes removed from the access log's request line."""

    def atoms(self, resp, req, environ, request_time):  # noqa: D401 - gunicorn's signature
        """The access-log fields, redacted."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "{raw_uri}e", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
