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


def required_texts(data, fields: dict[str, tuple[str, int]],
                   errors: dict[str, str]) -> dict[str, str]:
    """The text fields of ``data`` named in ``fields`` (key → (Chinese name, most
    characters)), stripped; an empty or overlong one adds its message to ``errors``."""
    values = {}
    for key, (name, limit) in fields.items():
        value = (getattr(data, key) or "").strip()
        if not value:
            errors[key] = f"请填写{name}"
        elif len(value) > limit:
            errors[key] = f"{name}不超过 {limit} 字"
        values[key] = value
    return values
