"""Questionnaires the office edits on the web: a draft, a preview, then a published version.

The text is the same TOML as the files in ``forms/`` and is checked by the same loader
(``evalsvc.definitions``); its English messages are put into Chinese here, in one place.
A published version is offered to rounds created from then on; an open round keeps the
layout it froze when it opened, and its page the version it was created with.
"""
import hashlib
import re
import tomllib
from datetime import datetime, timezone

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.definitions import Definition, DefinitionError, parse_definition
from evalsvc.kinds.forms import BallotForm
from evalsvc.extensions import db
from evalsvc.models import DefinitionVersion, User, VersionState
from evalsvc.questionnaires import built_in, built_in_text
from evalsvc.services import audit
from evalsvc.services.rounds import PLAN_ITEM_KEY
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.scope import require_office

MAX_SOURCE = 100_000  # characters: a questionnaire is a page of text, not a book

# Names the phone page's form already uses (its methods and attributes, the nonce), and the
# keys of a round's extra plan-item questions: a question keyed so would break the page.
RESERVED_KEYS = frozenset({"nonce", "csrf_token"} | {n for n in dir(BallotForm) if n[0] != "_"})
RESERVED_PREFIX = PLAN_ITEM_KEY.split("{")[0]

# The loader's messages (evalsvc/definitions.py) in Chinese: (pattern, message).
MESSAGES: tuple[tuple[str, str], ...] = (
    (r"not valid TOML: (.*)", "不是有效的 TOML 格式：{0}"),
    (r"use lowercase letters, digits and _", "只能用小写英文字母、数字和下划线，并以字母开头"),
    (r"unknown kind (.*?); known: .*", "测评类型 {0} 不存在"),
    (r"must be a positive integer", "应为正整数"),
    (r"must be one of (.*)", "应为以下之一：{0}"),
    (r"must be \[first year, last year\].*", "应写成 [起始年份, 结束年份]，如 [2013, 2014]"),
    (r"required text is missing", "缺少必填的文字"),
    (r"at least two options", "至少要有两个选项"),
    (r"option values must be unique", "选项的 value 不能重复"),
    (r"at least one question", "至少要有一个问题"),
    (r"duplicate key (.*)", "问题的 key {0} 重复"),
    (r"unknown type (.*?); known: (.*)", "未知的题型 {0}（可选：{1}）"),
    (r"unknown scale (.*)", "选项组（scale）{0} 没有定义"),
)
FIELD_WORDS = ((r"questions\[(\d+)\]", "第 {} 题"), (r"scales\[(\d+)\]", "第 {} 组选项"),
               (r"options\[(\d+)\]", "第 {} 个选项"))


def chinese(error: DefinitionError) -> str:
    """The loader's error as a Chinese sentence naming the field (e.g. 第 2 题 key：…)."""
    message = next((chinese_text.format(*match.groups()) for pattern, chinese_text in MESSAGES
                    if (match := re.fullmatch(pattern, error.message, re.S))), error.message)
    where = error.field
    for pattern, word in FIELD_WORDS:
        where = re.sub(pattern, lambda m, w=word: w.format(int(m.group(1)) + 1), where)
    where = "文件" if where == "file" else where.replace(".", " ")
    return f"{where}：{message}"


def check(name: str, text: str) -> Definition:
    """Parse ``text`` as the next version of definition ``name`` with the files' loader;
    Invalid with a Chinese message when it would not load as a file."""
    base = built_in().get(name)
    if base is None:
        raise OutOfScope(f"definition {name}")
    if len(text) > MAX_SOURCE:
        raise Invalid({"source": f"问卷内容不超过 {MAX_SOURCE} 字"})
    try:
        parsed = parse_definition(_toml(text), name, {base.kind})
    except DefinitionError as exc:
        raise Invalid({"source": chinese(exc)}) from exc
    if parsed.name != name:
        raise Invalid({"source": f"name：问卷名称不能修改，应为 {name}"})
    _check_page(parsed)
    return parsed


def _check_page(parsed: Definition) -> None:
    """What the loader lets through but the phone page cannot show: reserved keys, and a
    per-member text with placeholders other than {name}."""
    for number, question in enumerate(parsed.questions, start=1):
        if question.key in RESERVED_KEYS or question.key.startswith(RESERVED_PREFIX):
            raise Invalid({"source": f"第 {number} 题 key：{question.key} 是系统保留的名称，请换一个"})
        if question.per_member:
            try:
                question.text.format(name="某某")
            except (KeyError, IndexError, ValueError, AttributeError):
                raise Invalid({"source": f"第 {number} 题 text：每名党员重复的问题只能用 {{name}} "
                                         "代表党员姓名，其他花括号请删去"}) from None


def _toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError("", "file", f"not valid TOML: {exc}") from exc


def versions(name: str) -> list[DefinitionVersion]:
    """Every stored version of a definition, newest first."""
    return list(db.session.scalars(sa.select(DefinitionVersion).where(
        DefinitionVersion.name == name).order_by(DefinitionVersion.version.desc())))


def draft_of(name: str, lock: bool = False) -> DefinitionVersion | None:
    """The definition's unpublished draft, if any (``lock``: held until the commit, so a
    save and a publish of the same draft take turns and a published text never changes)."""
    query = sa.select(DefinitionVersion).where(
        DefinitionVersion.name == name, DefinitionVersion.state == VersionState.DRAFT)
    return db.session.scalar(query.with_for_update() if lock else query)


def fingerprint(text: str) -> str:
    """The SHA-256 of a version's text: in its audit entries, and what the publish button
    says the office looked at."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def editable_text(name: str) -> str:
    """What the editor opens with: the draft, else the newest published text, else the file."""
    if name not in built_in():
        raise OutOfScope(f"definition {name}")
    newest = next(iter(versions(name)), None)
    return newest.source if newest is not None else built_in_text(name)


@writes
def save_draft(actor: User, name: str, text: str) -> DefinitionVersion:
    """Store ``text`` as the definition's draft (one draft at a time); nothing is stored
    when it does not pass the files' checks."""
    require_office(actor)
    text = text.replace("\r\n", "\n")
    parsed = check(name, text)
    draft = draft_of(name, lock=True)
    fresh = draft is None
    if fresh:
        draft = DefinitionVersion(name=name, kind=parsed.kind, version=_next_version(name),
                                  state=VersionState.DRAFT)
    draft.source, draft.created_by = text, actor.username
    draft.created_on = datetime.now(timezone.utc)
    if fresh:
        _store_new(draft)
    audit.record(actor, "definition.draft", draft, name=name, version=draft.version,
                 sha256=fingerprint(text))
    return draft


@writes
def publish(actor: User, name: str, seen: str) -> DefinitionVersion:
    """Publish the draft whose text has the fingerprint ``seen`` (the one the office looked
    at): rounds created from now on use it; open rounds keep theirs."""
    require_office(actor)
    draft = draft_of(name, lock=True)
    if draft is None:
        raise Invalid({"state": "没有待发布的草稿"})
    if seen != fingerprint(draft.source):
        raise Invalid({"seen": "草稿在您查看后已被修改，请重新查看、预览后再发布"})
    check(name, draft.source)
    draft.state, draft.published_by = VersionState.PUBLISHED, actor.username
    draft.published_on = datetime.now(timezone.utc)
    audit.record(actor, "definition.publish", draft, name=name, version=draft.version,
                 sha256=fingerprint(draft.source))
    return draft


def _store_new(draft: DefinitionVersion) -> None:
    """Store a new draft; refused when a colleague's draft was stored meanwhile (the same
    number, or a second draft of the name), so there is never more than one."""
    busy = Invalid({"source": "同事刚刚保存了这份问卷的草稿：请刷新页面，在其草稿上修改"})
    try:
        with db.session.begin_nested():
            db.session.add(draft)
    except sa.exc.IntegrityError:
        raise busy from None
    drafts = db.session.scalar(sa.select(sa.func.count()).select_from(DefinitionVersion).where(
        DefinitionVersion.name == draft.name, DefinitionVersion.state == VersionState.DRAFT))
    if drafts > 1:
        raise busy


def _next_version(name: str) -> int:
    stored = db.session.scalar(sa.select(sa.func.max(DefinitionVersion.version)).where(
        DefinitionVersion.name == name)) or 0
    return max(stored, built_in()[name].version) + 1

