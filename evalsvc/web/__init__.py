"""The web layer: blueprints that parse requests, call services and render."""
import re

from flask import Flask, render_template, request

from evalsvc.services.errors import Forbidden, OutOfScope


def init_app(app: Flask) -> None:
    """Register every blueprint and the error pages."""
    from evalsvc.web import (
        audit, auth, briefs, bulk, dashboard, decisions, grades, input_guard, jobs, live,
        member_import, orgs, paper, plans, public, receipts, reports, respond, results, rounds,
        questionnaires, supervision, users,
    )

    member_import.init_app(app)  # before the input guard, which reads the body
    input_guard.init_app(app)
    auth.init_app(app)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(decisions.bp)
    app.register_blueprint(grades.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(respond.bp)
    app.register_blueprint(receipts.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(rounds.bp)
    app.register_blueprint(paper.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(orgs.bp)
    app.register_blueprint(member_import.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(questionnaires.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(briefs.bp)
    app.register_blueprint(public.bp)
    app.context_processor(_campaign_name)
    app.register_error_handler(OutOfScope, _not_found)
    app.register_error_handler(Forbidden, _forbidden)
    for code in (400, 403, 404, 405, 413, 415, 429, 500):
        app.register_error_handler(code, _error_page)


def _campaign_name() -> dict:
    """The current campaign's name, for the staff page header (read only when shown)."""
    def name() -> str:
        from evalsvc.services.campaigns import current_campaign

        campaign = current_campaign()
        return campaign.name if campaign else ""

    return {"campaign_name": name}


MESSAGES = {400: "请求无效", 403: "没有权限进行此操作", 404: "页面不存在", 405: "不支持的请求方式",
            413: "提交的内容过大", 415: "不支持的提交方式", 429: "操作过于频繁，请稍后再试", 500: "服务器出错，请稍后再试"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _not_found(_exc: Exception):
    return _render_error(404, None)


def _forbidden(exc: Exception):
    # A service's Chinese reason (e.g. who may print cards) is shown; English notes are not.
    return _render_error(403, str(exc) if _CJK.search(str(exc)) else None)


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    description = getattr(exc, "description", None)
    # Our own aborts carry a Chinese explanation; werkzeug's defaults are English.
    return _render_error(code, description if description and _CJK.search(description)
                         else None)


def _render_error(code: int, detail: str | None):
    title = MESSAGES.get(code, "出错了")
    if request.blueprint in ("respond", "receipts", "public"):
        return render_template("respond/message.html", title=title, text=detail or "",
                               receipt=None), code
    return render_template("error.html", code=code, title=title, detail=detail), code
