"""问卷管理: the office edits a questionnaire as a draft, previews it as a phone shows it,
and publishes it as a new version."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.kinds import get_kind, registry
from evalsvc.questionnaires import built_in, definitions
from evalsvc.services import definition_versions, scope
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.web.form_errors import attach_errors, attempt
from evalsvc.web.rounds import SAMPLE_MEMBERS, render_preview
from evalsvc.web.staff_forms import ConfirmForm, DefinitionForm

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")


@bp.before_request
@login_required
def _office_only() -> None:
    """Only the office edits questionnaires; others get 404."""
    scope.require_office(current_user)


def _known(name: str) -> None:
    if name not in built_in():
        raise OutOfScope(f"definition {name}")


@bp.get("/")
def index():
    """Every questionnaire: the version rounds use now, and any draft."""
    drafts = {name: definition_versions.draft_of(name) for name in built_in()}
    return render_template("questionnaires/index.html", definitions=definitions().values(),
                           drafts=drafts, kinds=registry())


@bp.route("/<name>/edit", methods=["GET", "POST"])
def edit(name: str):
    """Edit the draft (a new one starts from the version in use)."""
    _known(name)
    form = DefinitionForm()
    if not form.is_submitted():
        form.source.data = definition_versions.editable_text(name)
    if form.validate_on_submit():
        try:
            definition_versions.save_draft(current_user, name, form.source.data or "")
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("questionnaires.draft", name=name))
    return render_template("questionnaires/edit.html", form=form, name=name,
                           current=definitions()[name],
                           history=definition_versions.versions(name))


@bp.get("/<name>/draft")
def draft(name: str):
    """The draft with its preview link and the publish button."""
    _known(name)
    chosen = definition_versions.draft_of(name)
    if chosen is None:
        return redirect(url_for("questionnaires.edit", name=name))
    return render_template("questionnaires/draft.html", draft=chosen, name=name,
                           current=definitions()[name], form=ConfirmForm(),
                           seen=definition_versions.fingerprint(chosen.source))


@bp.get("/<name>/draft/preview")
def preview(name: str):
    """The draft exactly as a phone shows it, marked 预览, with no way to submit."""
    _known(name)
    stored = definition_versions.draft_of(name)
    if stored is None:
        raise OutOfScope(f"draft of {name}")
    chosen = definition_versions.check(name, stored.source)
    layout = get_kind(chosen.kind).layout(chosen, SAMPLE_MEMBERS)
    return render_preview(chosen.title, chosen, layout, False,
                          f"预览：第 {stored.version} 版草稿，尚未发布，在此无法提交。")


@bp.post("/<name>/publish")
def publish(name: str):
    """Publish the draft as the new version."""
    _known(name)
    if ConfirmForm().validate_on_submit():
        seen = request.form.get("seen", "")
        attempt(lambda: definition_versions.publish(current_user, name, seen),
                lambda v: f"已发布第 {v.version} 版：此后新建的测评使用新版本，进行中的测评不受影响")
    return redirect(url_for("questionnaires.index"))
