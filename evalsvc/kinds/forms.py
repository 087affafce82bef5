"""Ballot forms built from a laid-out questionnaire: one WTForms field per question."""
import functools

from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from evalsvc.control_characters import strip_control
from evalsvc.definitions import Question

class ChoiceField(RadioField):
    """One option of several; an unknown option is named in Chinese."""

    def pre_validate(self, form) -> None:
        if self.data is not None and self.data not in {c.value for c in self.choices}:
            raise ValidationError(f"「{self.label.text}」的选项无效，请重新选择")


class MultiChoiceField(SelectMultipleField):
    """Any number of options, shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        allowed = {c.value for c in self.choices}
        if any(v not in allowed for v in self.data or ()):
            raise ValidationError(f"「{self.label.text}」的选项无效，请重新选择")


def clean_text(raw: str) -> str:
    """A submitted free text as counted and stored: line breaks as LF (a browser sends CR
    LF, but its maxlength counted one character), no control characters, no surrounding
    blanks."""
    return strip_control(raw.replace("\r\n", "\n").replace("\r", "\n")).strip()


class FreeTextField(TextAreaField):
    """Free text, cleaned (``clean_text``)."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        self.data = clean_text(self.data or "")


FIELD_TYPES = {"choice": ChoiceField, "multi": MultiChoiceField, "text": FreeTextField}


class BallotForm(Form):
    """Base of every generated ballot form (no CSRF: the card code is the credential)."""


def field_for(question: Question, text_limit: int):
    """The unbound WTForms field for one question; an unknown type raises."""
    try:
        field_class = FIELD_TYPES[question.type]
    except KeyError:
        raise ValueError(f"no field for question type {question.type!r}") from None
    label = question.text
    if question.type == "text":
        limit = question.max_length or text_limit
        validators = [Length(max=limit, message=f"「{label}」不能超过 {limit} 字")]
        if question.required:
            validators.insert(0, InputRequired(f"请填写「{label}」"))
        return field_class(label, validators=validators, render_kw={"maxlength": limit})
    required = InputRequired(f"请选择「{label}」" if question.type == "choice"
                             else f"请至少选择一项「{label}」")
    choices = [SelectChoice(o.value, o.label) for o in question.options]
    # No Optional() for unrequired choices: it would clear pre_validate's verdict on junk.
    return field_class(label, choices=choices, validate_choice=False,
                       validators=[required] if question.required else [])


@functools.lru_cache(maxsize=256)
def form_class(layout: tuple[Question, ...], text_limit: int) -> type[BallotForm]:
    """The form class for a layout, built once (an open round's layout never changes)."""
    attrs = {q.key: field_for(q, text_limit) for q in layout}
    return type("LaidOutBallotForm", (BallotForm,), attrs)


def build_form(layout: tuple[Question, ...], formdata: MultiDict | None,
               text_limit: int) -> BallotForm:
    """A form instance for this layout, bound to the submitted data when given."""
    return form_class(layout, text_limit)(formdata=formdata)


@functools.lru_cache(maxsize=256)
def _plan(layout: tuple[Question, ...], text_limit: int) -> tuple:
    """(key, type, required, option values, text limit) per question, built once."""
    return tuple((q.key, q.type, q.required, frozenset(o.value for o in q.options),
                  q.max_length or text_limit) for q in layout)


def plain_answers(layout: tuple[Question, ...], formdata: MultiDict,
                  text_limit: int) -> tuple[tuple[str, str, str], ...] | None:
    """The answer rows of a submission that is plainly valid, without building a form;
    None when anything is missing, unknown, repeated or too long, and the ballot form must
    judge it (and word the errors).

    Only ever a shortcut: whatever this accepts, the form accepts with the same rows (a
    test holds the two together), so a phone's ordinary ballot costs no WTForms objects.
    """
    rows = []
    for key, kind, required, allowed, limit in _plan(layout, text_limit):
        values = formdata.getlist(key)
        if kind == "choice":
            if len(values) > 1 or (not values and required):
                return None
            if values:
                if values[0] not in allowed:
                    return None
                rows.append((key, values[0], ""))
        elif kind == "multi":
            if (not values and required) or any(v not in allowed for v in values):
                return None
            rows.extend((key, value, "") for value in sorted(set(values)))
        elif kind == "text":
            if len(values) > 1:
                return None
            text = clean_text(values[0]) if values else ""
            if len(text) > limit or (required and not text):
                return None
            if text:
                rows.append((key, "", text))
        else:
            return None
    return tuple(rows)
