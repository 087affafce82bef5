"""Showing a service's rule violations: next to form fields, or as flashed messages."""
from collections.abc import Callable

from flask import flash
from flask_wtf import FlaskForm


from evalsvc.services.errors import Invalid


def attach_errors(form: FlaskForm, exc: Invalid) -> None:
    """Add each message to its field, or to the form when no field matches."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            form.form_errors.append(message)


def attempt(action: Callable[[], object],
            done: str | Callable[[object], str] = "已保存") -> bool:
    """Run a one-click service action; flash the outcome: each rule broken, or what was done
    (``done``, a message or a function of the action's result)."""
    try:
        result = action()
    except Invalid as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return False
    flash(done(result) if callable(done) else done, "ok")
    return True
