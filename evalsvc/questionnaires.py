"""The app's questionnaire definitions, loaded and validated once at start-up."""
from pathlib import Path

from flask import Flask, current_app

from evalsvc import shipped
from evalsvc.definitions import Definition, load_directory
from evalsvc.kinds import registry

EXTENSION_KEY = "evalsvc.definitions"


def init_app(app: Flask) -> None:
    """Load each kind's own definitions, then ``FORMS_DIR`` (default: the project's
    ``forms/``), whose files win by name so a county can reword a plugin's questionnaire.
    A bad file stops start-up."""
    loaded: dict[str, Definition] = {}
    for kind in registry().values():
        if kind.definitions_dir is not None:
            loaded.update(load_directory(Path(kind.definitions_dir), {kind.name}))
    directory = Path(app.config.get("FORMS_DIR") or shipped("forms"))
    loaded.update(load_directory(directory, set(registry())))
    app.extensions[EXTENSION_KEY] = loaded


def definitions() -> dict[str, Definition]:
    """Every definition by name."""
    return current_app.extensions[EXTENSION_KEY]


def definition(name: str) -> Definition | None:
    """One definition by name."""
    return definitions().get(name)


def for_campaign(campaign) -> list[Definition]:
    """The definitions a campaign may use (a 2013 反对"四风" form is not offered in 2005)."""
    return [d for d in definitions().values()
            if campaign is None or d.fits(campaign.start_year, campaign.end_year)]


def default_definition(kind: str, stage: str, campaign=None) -> Definition | None:
    """The definition a new round of this kind and stage uses unless told otherwise."""
    matching = [d for d in for_campaign(campaign)
                if d.kind == kind and d.stage in (None, stage)]
    for preferred in (f"{kind}_{stage}", kind):
        for d in matching:
            if d.name == preferred:
                return d
    return matching[0] if len(matching) == 1 else None
