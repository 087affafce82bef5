"""Putting a service's rule violations next to the form fields they concern."""
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
