"""The app's questionnaire definitions: the built-in files, loaded and validated once at
start-up, and the versions the office published on the web (the newest wins by name)."""
import functools
import tomllib
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from evalsvc import shipped
from evalsvc.definitions import Definition, load_directory, parse_definition
from evalsvc.extensions import db
from evalsvc.kinds import registry
from evalsvc.models import DefinitionVersion, VersionState

EXTENSION_KEY = "evalsvc.definitions"
TEXT_KEY = "evalsvc.definition_texts"


def init_app(app: Flask) -> None:
    """Load each kind's own definitions, then ``FORMS_DIR`` (default: the project's
    ``forms/``), whose files win by name so a county can reword a plugin's questionnaire.
    A bad file stops start-up."""
    loaded: dict[str, Definition] = {}
    texts: dict[str, str] = {}
    directories = [(Path(k.definitions_dir), {k.name}) for k in registry().values()
                   if k.definitions_dir is not None]
    directories.append((Path(app.config.get("FORMS_DIR") or shipped("forms")), set(registry())))
    for directory, kinds in directories:
        found = load_directory(directory, kinds)
        loaded.update(found)
        texts.update({d.name: (directory / d.source).read_text(encoding="utf-8")
                      for d in found.values()})
    app.extensions[EXTENSION_KEY] = loaded
    app.extensions[TEXT_KEY] = texts


def built_in() -> dict[str, Definition]:
    """The definitions of the files (``forms/`` and the kinds' own), by name."""
    return current_app.extensions[EXTENSION_KEY]


def built_in_text(name: str) -> str:
    """The TOML text of a built-in definition: where the office's first edit starts."""
    return current_app.extensions[TEXT_KEY][name]


def definitions() -> dict[str, Definition]:
    """Every definition by name: the newest published version, else the built-in file.
    Drafts are never offered."""
    merged = dict(built_in())
    rows = db.session.execute(
        sa.select(DefinitionVersion.name, DefinitionVersion.version, DefinitionVersion.source)
        .where(DefinitionVersion.state == VersionState.PUBLISHED)
        .order_by(DefinitionVersion.version)).all()
    for row in rows:
        if row.name in merged:
            merged[row.name] = parse_version(row.source, row.name, row.version,
                                             merged[row.name].kind)
    return merged


def definition_at(name: str, version: int | None) -> Definition | None:
    """The definition a round was created with (None: the built-in file, as before the
    office could edit them); an open round's page keeps showing that version."""
    base = built_in().get(name)
    if version is None or (base is not None and base.version == version):
        return base or definition(name)
    row = db.session.execute(sa.select(DefinitionVersion.source, DefinitionVersion.kind).where(
        DefinitionVersion.name == name, DefinitionVersion.version == version)).first()
    return parse_version(row.source, name, version, row.kind) if row else definition(name)


@functools.lru_cache(maxsize=128)
def parse_version(text: str, name: str, version: int, kind: str) -> Definition:
    """A stored version's text as a Definition, numbered as stored (parsed once)."""
    parsed = parse_definition(tomllib.loads(text), f"{name} 第 {version} 版", {kind})
    return replace(parsed, version=version)


def definition(name: str) -> Definition | None:
    """One definition by name."""
    return definitions().get(name)


def for_campaign(campaign, known: dict[str, Definition] | None = None) -> list[Definition]:
    """The definitions a campaign may use (a 2013 反对"四风" form is not offered in 2005).
    ``known``: ``definitions()`` when the caller (a bulk action) has read them already."""
    return [d for d in (known if known is not None else definitions()).values()
            if campaign is None or d.fits(campaign.start_year, campaign.end_year)]


def default_definition(kind: str, stage: str, campaign=None,
                       known: dict[str, Definition] | None = None) -> Definition | None:
    """The definition a new round of this kind and stage uses unless told otherwise."""
    matching = [d for d in for_campaign(campaign, known)
                if d.kind == kind and d.stage in (None, stage)]
    for preferred in (f"{kind}_{stage}", kind):
        for d in matching:
            if d.name == preferred:
                return d
    return matching[0] if len(matching) == 1 else None
