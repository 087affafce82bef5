"""Errors services raise; the web layer turns them into pages, the CLI into messages."""


class OutOfScope(LookupError):
    """The object does not exist, or is outside the user's scope (both look the same: 404)."""


class Invalid(ValueError):
    """Input that breaks a rule; ``errors`` maps each field to a message in Chinese."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Forbidden(PermissionError):
    """The user may see the object but not do this to it."""
