"""A campaign's rules that kinds declare: each kind's settings, and which kinds each
stage requires. Both are stored per campaign as data, defaulting from the kinds."""
from collections.abc import Mapping

from evalsvc.database import writes
from evalsvc.glossary import label
from evalsvc.kinds import UnknownKind, get_kind, registry
from evalsvc.models import Campaign, Stage, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import require_office


def default_requirements() -> dict[str, list[str]]:
    """Stage → the installed kinds that declare themselves required in it."""
    return {stage.value: sorted(k.name for k in registry().values()
                                if stage.value in k.required_in) for stage in Stage}


def requirements(campaign: Campaign | None) -> dict[str, list[str]]:
    """Stage → kinds the campaign requires before a stage is left."""
    stored = campaign.stage_requirements if campaign is not None else None
    return {**default_requirements(), **(stored or {})}


def kind_settings(campaign: Campaign | None, kind_name: str) -> dict[str, float]:
    """One kind's settings for the campaign: stored values over the kind's defaults."""
    stored = (campaign.kind_settings or {}) if campaign is not None else {}
    return get_kind(kind_name).resolve_settings(stored.get(kind_name))


@writes
def set_kind_settings(actor: User | None, campaign: Campaign, kind_name: str,
                      values: Mapping[str, str]) -> dict[str, float]:
    """The office changes some of a kind's settings; every value is checked first."""
    if actor is not None:
        require_office(actor)
    try:
        declared = {s.key: s for s in get_kind(kind_name).settings}
    except UnknownKind:
        raise Invalid({"kind": f"未知的测评类型 {kind_name!r}"}) from None
    errors, parsed = {}, {}
    for key, raw in values.items():
        if key not in declared:
            errors[key] = f"该测评类型没有「{key}」这一设置"
            continue
        try:
            parsed[key] = declared[key].parse(raw)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors or not parsed:
        raise Invalid(errors or {"values": "请至少填写一项设置"})
    stored = dict(campaign.kind_settings or {})
    stored[kind_name] = {**stored.get(kind_name, {}), **parsed}
    campaign.kind_settings = stored  # a new dict: the JSON column sees the change
    audit.record(actor, "campaign.kind_settings", campaign, kind=kind_name, values=parsed)
    return kind_settings(campaign, kind_name)


@writes
def set_requirements(actor: User | None, campaign: Campaign, stage: Stage,
                     kind_names: list[str]) -> dict[str, list[str]]:
    """The office says which kinds must pass before a branch leaves ``stage``."""
    if actor is not None:
        require_office(actor)
    unknown = [k for k in kind_names if k not in registry()]
    if unknown:
        raise Invalid({"kinds": f"未知的测评类型：{'、'.join(unknown)}"})
    stored = requirements(campaign)
    stored[stage.value] = sorted(set(kind_names))
    campaign.stage_requirements = stored
    audit.record(actor, "campaign.stage_requirements", campaign, stage=stage.value,
                 kinds=stored[stage.value])
    return stored


def describe(campaign: Campaign | None) -> list[str]:
    """The kinds' settings and the stage requirements, one line each, in Chinese."""
    lines = []
    for kind in registry().values():
        values = kind_settings(campaign, kind.name)
        for setting in kind.settings:
            lines.append(f"{kind.label}·{setting.label}（{kind.name}.{setting.key}）："
                         f"{setting.shown(values[setting.key])}")
    for stage, names in requirements(campaign).items():
        kinds = "、".join(get_kind(n).label for n in names if n in registry()) or "无"
        lines.append(f"{label(Stage(stage))}阶段转段须通过：{kinds}")
    return lines
