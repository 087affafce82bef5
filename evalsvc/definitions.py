"""Questionnaire definitions: ``forms/*.toml`` parsed into frozen dataclasses and validated."""
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

QUESTION_TYPES = ("choice", "multi", "text")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
STAGES = ("study", "review", "rectify")


class DefinitionError(ValueError):
    """A definition file is malformed; the message names the file and the field."""

    def __init__(self, source: str, field_name: str, message: str):
        super().__init__(f"{source}: {field_name}: {message}")
        self.source, self.field, self.message = source, field_name, message


@dataclass(frozen=True)
class Option:
    """One answer a respondent may pick."""

    value: str
    label: str
    positive: bool = False  # counts toward the satisfaction / pass rate
    valid: bool = True  # False for 不了解: not counted among valid answers


@dataclass(frozen=True)
class Question:
    """One question of a ballot. Per-member questions are templates until a round opens."""

    key: str
    type: str
    text: str
    options: tuple[Option, ...] = ()
    scale: str | None = None
    required: bool = True
    max_length: int | None = None
    per_member: bool = False
    rated: bool = False  # the item whose rate decides the verdict (总体评价)
    member_id: int | None = None  # set on a question laid out for one member

    def option(self, value: str) -> Option | None:
        """The option with this value, if any."""
        return next((o for o in self.options if o.value == value), None)

    def for_member(self, member_id: int, name: str) -> "Question":
        """This template laid out for one member."""
        return replace(self, key=f"{self.key}_m{member_id}", text=self.text.format(name=name),
                       member_id=member_id, per_member=False)


@dataclass(frozen=True)
class Definition:
    """A versioned questionnaire: the wording a round shows its respondents."""

    name: str
    kind: str
    version: int
    title: str
    intro: str
    questions: tuple[Question, ...]
    stage: str | None = None
    source: str = field(default="", compare=False)
    # The campaigns the form belongs to (e.g. 党的群众路线教育实践活动, 2013–2014): offered
    # only in a campaign whose years overlap ``years``; no years means every campaign.
    campaign: str = ""
    years: tuple[int, int] | None = None

    def fits(self, start_year: int, end_year: int) -> bool:
        """Whether a campaign running from start_year to end_year may use this form."""
        return self.years is None or (self.years[0] <= end_year and start_year <= self.years[1])

    @property
    def campaign_text(self) -> str:
        """党的群众路线教育实践活动（2013—2014年）, or 各次活动通用."""
        if self.years is None:
            return "各次活动通用"
        span = f"{self.years[0]}—{self.years[1]}年" if self.years[0] != self.years[1] \
            else f"{self.years[0]}年"
        return f"{self.campaign}（{span}）" if self.campaign else span


def load_definition(path: Path, known_kinds: set[str] | None = None) -> Definition:
    """Parse and validate one TOML file."""
    source = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "file", f"not valid TOML: {exc}") from exc
    return parse_definition(data, source, known_kinds)


def parse_definition(data: dict, source: str, known_kinds: set[str] | None = None) -> Definition:
    """Build a Definition from parsed TOML, naming the first bad field."""
    name = _text(data, "name", source)
    if not KEY_PATTERN.match(name):
        raise DefinitionError(source, "name", "use lowercase letters, digits and _")
    kind = _text(data, "kind", source)
    if known_kinds is not None and kind not in known_kinds:
        raise DefinitionError(source, "kind", f"unknown kind {kind!r}; known: "
                              f"{', '.join(sorted(known_kinds))}")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise DefinitionError(source, "version", "must be a positive integer")
    stage = data.get("stage")
    if stage is not None and stage not in STAGES:
        raise DefinitionError(source, "stage", f"must be one of {', '.join(STAGES)}")
    scales = _scales(data.get("scales", []), source)
    questions = _questions(data.get("questions"), scales, source)
    return Definition(name=name, kind=kind, version=version, title=_text(data, "title", source),
                      intro=str(data.get("intro", "")), questions=questions, stage=stage,
                      source=source, campaign=str(data.get("campaign", "")),
                      years=_years(data.get("years"), source))


def _years(raw, source: str) -> tuple[int, int] | None:
    """``years = [2013, 2014]``: the first and last year of the campaigns the form is for."""
    if raw is None:
        return None
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(y, int) for y in raw)
            and 1900 < raw[0] <= raw[1] < 3000):
        raise DefinitionError(source, "years", "must be [first year, last year], e.g. "
                                               "[2013, 2014]")
    return raw[0], raw[1]


def _text(data: dict, key: str, source: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(source, where + key, "required text is missing")
    return value


def _scales(raw: list, source: str) -> dict[str, tuple[Option, ...]]:
    scales: dict[str, tuple[Option, ...]] = {}
    for i, scale in enumerate(raw):
        where = f"scales[{i}]."
        key = _text(scale, "key", source, where)
        scales[key] = _option_list(scale.get("options"), source, where)
    return scales


def _option_list(options, source: str, where: str) -> tuple[Option, ...]:
    if not isinstance(options, list) or len(options) < 2:
        raise DefinitionError(source, where + "options", "at least two options")
    parsed = tuple(_option(o, source, f"{where}options[{j}].") for j, o in enumerate(options))
    if len({o.value for o in parsed}) != len(parsed):
        raise DefinitionError(source, where + "options", "option values must be unique")
    return parsed


def _option(raw: dict, source: str, where: str) -> Option:
    value = _text(raw, "value", source, where)
    if not KEY_PATTERN.match(value):
        raise DefinitionError(source, where + "value", "use lowercase letters, digits and _")
    return Option(value=value, label=_text(raw, "label", source, where),
                  positive=bool(raw.get("positive", False)), valid=bool(raw.get("valid", True)))


def _questions(raw, scales, source) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not raw:
        raise DefinitionError(source, "questions", "at least one question")
    questions = tuple(_question(q, i, scales, source) for i, q in enumerate(raw))
    keys = [q.key for q in questions]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate:
        raise DefinitionError(source, "questions", f"duplicate key {duplicate!r}")
    return questions


def _question(raw: dict, i: int, scales, source) -> Question:
    where = f"questions[{i}]."
    key = _text(raw, "key", source, where)
    if not KEY_PATTERN.match(key):
        raise DefinitionError(source, where + "key", "use lowercase letters, digits and _")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise DefinitionError(source, where + "type",
                              f"unknown type {qtype!r}; known: {', '.join(QUESTION_TYPES)}")
    scale = raw.get("scale")
    options: tuple[Option, ...] = ()
    if qtype != "text" and "options" in raw:  # options of this question alone
        options = _option_list(raw["options"], source, where)
    elif qtype != "text":
        if scale not in scales:
            raise DefinitionError(source, where + "scale", f"unknown scale {scale!r}")
        options = scales[scale]
    max_length = raw.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise DefinitionError(source, where + "max_length", "must be a positive integer")
    return Question(key=key, type=qtype, text=_text(raw, "text", source, where), options=options,
                    scale=scale, required=bool(raw.get("required", True)),
                    max_length=max_length, per_member=bool(raw.get("per_member", False)),
                    rated=bool(raw.get("rated", False)))


def load_directory(directory: Path, known_kinds: set[str] | None = None) -> dict[str, Definition]:
    """Every ``*.toml`` in a directory, by definition name; names must be unique."""
    definitions: dict[str, Definition] = {}
    for path in sorted(directory.glob("*.toml")):
        definition = load_definition(path, known_kinds)
        if definition.name in definitions:
            raise DefinitionError(path.name, "name", f"{definition.name!r} is defined twice")
        definitions[definition.name] = definition
    return definitions


def layout_to_data(layout: tuple[Question, ...]) -> list[dict]:
    """A laid-out ballot as plain data, to freeze with a round when it opens."""
    return [asdict(q) for q in layout]


def layout_from_data(data: list[dict]) -> tuple[Question, ...]:
    """The inverse of ``layout_to_data``."""
    return tuple(
        Question(**{**q, "options": tuple(Option(**o) for o in q["options"])}) for q in data
    )
