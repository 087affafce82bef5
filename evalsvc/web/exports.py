"""Download responses for exports: CSV streams; XLSX is spooled to a temporary file."""
import tempfile
from collections.abc import Iterable
from pathlib import Path

from flask import Response, current_app, send_file, stream_with_context
from werkzeug.exceptions import NotFound

from evalsvc.models import Round
from evalsvc.render.exports import round_csv, round_sheets, stream_csv, write_xlsx
from evalsvc.render.overview import OVERVIEW_NOTES, overview_header, overview_rows, overview_sheet
from evalsvc.services.dashboard import BranchRow
from evalsvc.services.results import channel_counts, settings_for
from evalsvc.services.rounds import layout
from evalsvc.tally import RoundResult

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def chart_directory() -> Path:
    """Where rendered charts of closed rounds are kept."""
    return Path(current_app.instance_path) / "cache" / "charts"


def _notes(round_: Round, result: RoundResult) -> list[str]:
    settings = settings_for(round_)
    notes = [round_.title, f"有效票 {result.ballots} 份",
             f"不足 {settings.min_cell} 份或为防止推算的分组、少于 {settings.min_text_cell} 条的意见"
             "不予显示"]
    if result.poster:
        notes.append("本测评含公开扫码，不是一人一票")
    notes.append(channel_line(round_))
    return notes + list(extra_notes(round_))


def channel_line(round_: Round) -> str:
    """Ballots per channel (电子 / 纸质), suppressed ones shown as such."""
    parts = [f"{name} {n} 份" if n is not None else f"{name} 不予显示"
             for _c, name, n in channel_counts(round_)]
    hidden = f"（不足 {settings_for(round_).min_cell} 份或为防止推算，不予显示）"
    return "收回方式：" + "，".join(parts) + (hidden if "不予显示" in "".join(parts) else "")


def extra_notes(round_: Round) -> Iterable[str]:
    """Further lines for every export (the seal digest, once a round is sealed)."""
    digest = getattr(round_, "digest", None)
    if digest:
        yield f"封存摘要（SHA-256）：{digest}"


def round_response(round_: Round, result: RoundResult, fmt: str) -> Response:
    """A closed round's results as .xlsx (with its charts) or .csv."""
    settings = settings_for(round_)
    name = f"round-{round_.id}-results.{fmt}"
    texts = {q.key: q.text for q in layout(round_)}
    if fmt == "csv":
        lines = [[note] for note in _notes(round_, result)]
        body = stream_csv(["说明"], lines)
        body = _chain(body, round_csv(result, min_cell=settings.min_cell,
                                      min_text_cell=settings.min_text_cell,
                                      question_texts=texts))
        return _csv(body, name)
    if fmt != "xlsx":
        raise NotFound()
    from evalsvc.render.chart_cache import cached_chart
    from evalsvc.render.charts import CHART_TITLES, available_charts

    images = [(CHART_TITLES.get(chart, chart), cached_chart(chart_directory(), result, chart, "png",
                                   round_.digest or "unsealed"))
              for chart in available_charts(result)]
    sheets = round_sheets(result, min_cell=settings.min_cell,
                          min_text_cell=settings.min_text_cell, question_texts=texts)
    return _xlsx(sheets, name, images=images, notes=_notes(round_, result))


def _chain(first, second):
    yield from first
    # The second CSV repeats the BOM: drop it so the file has one.
    for i, chunk in enumerate(second):
        yield chunk.lstrip("\ufeff") if i == 0 else chunk


def overview_response(rows: Iterable[BranchRow], fmt: str) -> Response:
    """The campaign overview as .xlsx or .csv; ``rows`` may be a generator reading the
    branches a chunk at a time (the CSV streams within the request's context, so its
    session stays open), so memory stays bounded at any number of branches."""
    if fmt == "csv":
        return _csv(stream_csv(overview_header(), overview_rows(rows)), "campaign-overview.csv")
    if fmt != "xlsx":
        raise NotFound()
    return _xlsx([overview_sheet(rows)], "campaign-overview.xlsx", notes=OVERVIEW_NOTES)


def _csv(body, name: str) -> Response:
    response = Response(stream_with_context(body), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _xlsx(sheets, name: str, *, images=(), notes=()) -> Response:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(sheets, spool, images=images, notes=notes)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, download_name=name, as_attachment=True)
