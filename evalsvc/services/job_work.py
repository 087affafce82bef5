"""The long work a job does (services/jobs.py runs these, from RQ or the local worker).

Each function takes the user who asked, the job's parameters (plain JSON) and its ``Work``,
and calls the same services the request would have called: the same scope checks, the same
one-transaction writes, the same audit entries. Parameters hold ids and choices only,
never a card code.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Organisation, Role, Round, Stage, User
from evalsvc.services import audit, bulk_rounds, closing, rounds
from evalsvc.services.bulk_rounds import Selection
from evalsvc.services.errors import OutOfScope
from evalsvc.services.scope import get_scoped
from evalsvc.services.jobs import Finished, PartlyDone, Work, job_function

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VERBS = {"create": "创建", "open": "开始", "close": "结束"}


# -- parameters to and from JSON -------------------------------------------------------


def selection_params(selection: Selection) -> dict:
    """A bulk selection as JSON."""
    return {"batch": selection.batch, "under": selection.under,
            "org_ids": list(selection.org_ids)}


def _selection(params: dict) -> Selection:
    return Selection(batch=params["batch"], under=params["under"],
                     org_ids=tuple(params["org_ids"]))


def template_params(template: rounds.RoundData) -> dict:
    """A bulk round template as JSON."""
    return {"kind": template.kind, "stage": template.stage.value,
            "groups": {code.value: n for code, n in template.groups.items()}}


def _template(params: dict) -> rounds.RoundData:
    return rounds.RoundData(0, params["kind"], Stage(params["stage"]),
                            {GroupCode(c): n for c, n in params["groups"].items()})


def filter_params(filters) -> dict:
    """An audit log filter as JSON."""
    values = asdict(filters)
    for key in ("since", "until"):
        values[key] = values[key].isoformat() if values[key] else None
    return values


def _filters(params: dict):
    from evalsvc.services.audit_log import AuditFilter

    days = {k: date.fromisoformat(params[k]) if params[k] else None for k in ("since", "until")}
    return AuditFilter(**{**params, **days})


# -- the functions ---------------------------------------------------------------------


@job_function("round.close")
def close_round(actor: User, params: dict, work: Work) -> Finished:
    """Close one (big) round: the same sealed close as from the round's page."""
    round_ = db.session.get(Round, params["round_id"])
    if round_ is None:
        raise OutOfScope("round")
    title = round_.title
    closing.close_round(actor, round_)
    count = rounds.ballot_count(params["round_id"])
    return Finished((f"已结束测评“{title}”，共收回 {count} 份",))


@job_function("bulk.run")
def bulk_run(actor: User, params: dict, work: Work) -> Finished:
    """A bulk create, open or close over many branches (services/bulk_rounds)."""
    action, chosen = params["action"], _selection(params["selection"])
    day = date.fromisoformat(params["day"]) if params.get("day") else None
    if action == "create":
        outcome = bulk_rounds.create_rounds(actor, chosen, _template(params["template"]), day)
    elif action == "open":
        outcome = bulk_rounds.open_rounds(actor, chosen, params.get("reason", ""), day)
    else:
        outcome = _close_all(actor, chosen, work)
    verb = VERBS[action]
    lines = [f"{chosen.describe()}：{outcome.summary(verb)}"]
    lines += [f"未{verb}：{name}：{reason}" for name, reason in outcome.refused]
    return Finished(tuple(lines), ok=bool(outcome.done) or not outcome.refused)


def _close_all(actor: User, chosen: Selection, work: Work) -> bulk_rounds.Outcome:
    """A bulk close seals each round in its own commit: if one fails, those closed before
    it stay closed, and the job says how many, so submitting it again closes the rest."""
    before = len(bulk_rounds.plan_close(chosen).done)
    try:
        return bulk_rounds.close_rounds(actor, chosen, work.progress)
    except Exception as exc:
        db.session.rollback()
        left = len(bulk_rounds.plan_close(chosen).done)
        raise PartlyDone(f"已结束 {before - left} 次测评（各自封存，保持结束），其余 {left} 次"
                         "仍在进行中，未作改动；重新提交将结束其余测评。") from exc


@job_function("cards.batch")
def batch_cards(actor: User, params: dict, work: Work) -> Finished:
    """One PDF of the cards of a selection's open rounds (audited per round)."""
    from evalsvc.services import printing

    chosen = _selection(params["selection"])
    with work.output("batch-cards.pdf", PDF) as out:
        printed = printing.batch_card_pdf(actor, chosen, out)
    return Finished((f"{chosen.describe()}：{printed.rounds} 次测评、{printed.cards} 张测评卡，"
                     f"共 {printed.pages} 页",))


@job_function("export.overview")
def overview_file(actor: User, params: dict, work: Work) -> Finished:
    """The campaign overview (branches × stages) as CSV or XLSX."""
    from evalsvc.render.exports import stream_csv, write_xlsx
    from evalsvc.render.overview import (
        OVERVIEW_NOTES, overview_header, overview_rows, overview_sheet,
    )
    from evalsvc.services.dashboard import overview, parse_filter

    fmt, chosen = params["fmt"], parse_filter(params.get("filter") or {})
    if chosen.parent_id is not None:
        get_scoped(actor, Organisation, chosen.parent_id)
    counted = [0]

    def rows():
        for row in overview(actor, chosen=chosen):  # read a chunk of branches at a time
            counted[0] += 1
            yield row

    work.progress(50)
    with work.output(f"campaign-overview.{fmt}", "text/csv" if fmt == "csv" else XLSX) as out:
        if fmt == "csv":
            for chunk in stream_csv(overview_header(), overview_rows(rows())):
                out.write(chunk.encode("utf-8"))
        else:
            write_xlsx([overview_sheet(rows())], out, notes=OVERVIEW_NOTES)
        audit.record_export(actor, "overview", chosen.parent_id, format=fmt,
                            **chosen.audited())
    return Finished((f"已导出 {counted[0]} 个支部的总览",))


@job_function("export.weekly")
def weekly_file(actor: User, params: dict, work: Work) -> Finished:
    """The weekly report as XLSX or PDF."""
    from evalsvc.render.report import write_weekly

    if actor.role is Role.SECRETARY:  # the supervision's report, as the page checks: a
        raise OutOfScope("weekly report")  # role changed since it was asked reads none
    fmt = params["fmt"]
    start, end = date.fromisoformat(params["start"]), date.fromisoformat(params["end"])
    work.progress(50)
    name = f"weekly-{start.isoformat()}-{end.isoformat()}.{fmt}"
    with work.output(name, PDF if fmt == "pdf" else XLSX) as out:
        write_weekly(actor, start, end, fmt, out)
        audit.record_export(actor, "weekly_report", format=fmt, start=start, end=end)
    return Finished((f"已生成 {start.isoformat()} 至 {end.isoformat()} 的周报",))


@job_function("export.audit")
def audit_file(actor: User, params: dict, work: Work) -> Finished:
    """The matching audit entries as XLSX."""
    from evalsvc.render.exports import Sheet, write_xlsx
    from evalsvc.services import audit_log

    filters = _filters(params)
    with work.output("audit-log.xlsx", XLSX) as out:
        write_xlsx([Sheet("审计日志", audit_log.AUDIT_HEADER,
                          audit_log.entry_rows(actor, filters))], out)
        audit.record_export(actor, "audit_log", filters.organisation_id, format="xlsx",
                            filters=asdict(filters))
    return Finished(("已导出审计日志",))
