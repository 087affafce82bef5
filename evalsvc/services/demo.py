"""A demo county modelled on the seed speech (兴文县), for newcomers to click through."""
import random

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import (
    Member, MemberStatus, Organisation, OrgType, Role, Stage, StageState,
)
from evalsvc.services import campaigns
from evalsvc.services.organisations import OrgData, build_org
from evalsvc.services.users import UserData, create_user

SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖覃洪武莫孔"
GIVEN = "国华建军明文芳丽红英秀兰玉梅志强永刚海平伟勇德福春燕霞云桂林涛斌超静敏婷洪波宇杰鹏辉俊峰磊晓东琳娟秀珍子涵子轩思远"

# (code, name, type, parent code, unit, batch, members)
TREE = [
    ("XW", "中共兴文县委机关工委", OrgType.WORKING_COMMITTEE, None, "兴文县委", 1, 0),
    ("XW01", "县直机关党委", OrgType.COMMITTEE, "XW", "县直机关", 1, 0),
    ("XW0101", "县委办公室党支部", OrgType.BRANCH, "XW01", "县委办公室", 1, 18),
    ("XW0102", "县政府办公室党支部", OrgType.BRANCH, "XW01", "县政府办公室", 1, 22),
    ("XW0103", "县财政局党支部", OrgType.BRANCH, "XW01", "县财政局", 1, 14),
    ("XW02", "县教育局党委", OrgType.COMMITTEE, "XW", "县教育局", 1, 0),
    ("XW0201", "兴文中学党总支", OrgType.GENERAL_BRANCH, "XW02", "兴文中学", 1, 0),
    ("XW020101", "兴文中学教工第一党支部", OrgType.BRANCH, "XW0201", "兴文中学", 1, 40),
    ("XW020102", "兴文中学教工第二党支部", OrgType.BRANCH, "XW0201", "兴文中学", 1, 26),
    ("XW03", "县卫生局党委", OrgType.COMMITTEE, "XW", "县卫生局", 2, 0),
    ("XW0301", "县人民医院党总支", OrgType.GENERAL_BRANCH, "XW03", "县人民医院", 2, 0),
    ("XW030101", "县人民医院内科党支部", OrgType.BRANCH, "XW0301", "县人民医院", 2, 16),
    ("XW030102", "县人民医院外科党支部", OrgType.BRANCH, "XW0301", "县人民医院", 2, 12),
    ("XW04", "古宋镇党委", OrgType.COMMITTEE, "XW", "古宋镇", 2, 0),
    ("XW0401", "古宋镇机关党支部", OrgType.BRANCH, "XW04", "古宋镇人民政府", 2, 20),
    ("XW0402", "古宋镇城东社区党支部", OrgType.BRANCH, "XW04", "城东社区", 2, 10),
    ("XW05", "共乐镇党委", OrgType.COMMITTEE, "XW", "共乐镇", 3, 0),
    ("XW0501", "共乐镇农村党总支", OrgType.GENERAL_BRANCH, "XW05", "共乐镇", 3, 0),
    ("XW050101", "共乐镇新华村党支部", OrgType.BRANCH, "XW0501", "新华村", 3, 30),
    ("XW050102", "共乐镇红岩村党支部", OrgType.BRANCH, "XW0501", "红岩村", 3, 9),
    ("XW050103", "共乐镇石林村党支部", OrgType.BRANCH, "XW0501", "石林村", 3, 8),
]

# Batch 1 has finished studying; batch 2 is studying; batch 3 has not begun.
STAGE_STATES = {
    1: {Stage.STUDY: StageState.PASSED, Stage.REVIEW: StageState.IN_PROGRESS},
    2: {Stage.STUDY: StageState.IN_PROGRESS},
    3: {},
}

ACCOUNTS = [
    ("office", "demo-office-pass", Role.OFFICE, "县先教办", None, ()),
    ("supervisor", "demo-supervisor-pass", Role.SUPERVISOR, "第一督导组", None, ("XW01", "XW02")),
    ("secretary", "demo-secretary-pass", Role.SECRETARY, "县委办支部书记", "XW0101", ()),
]


DEMO_CAMPAIGN = ("保持共产党员先进性教育活动（演示）", 2005, 2006)


class DemoAlreadyLoaded(Exception):
    """The database already has organisations; the demo loads only into an empty one."""


def load_demo(seed: int = 2005, with_rounds: bool = False) -> list[tuple[str, str, Role]]:
    """Create the demo campaign, tree, members and accounts; return the accounts.

    The tree is committed first: the demo rounds' ballots are cast the way a phone casts
    them, on connections of their own.
    """
    _load_tree(seed)
    if with_rounds:
        from evalsvc.services.demo_rounds import load_demo_rounds

        load_demo_rounds()
    return [(u, p, r) for u, p, r, *_ in ACCOUNTS]


@writes
def _load_tree(seed: int) -> None:
    if db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)):
        raise DemoAlreadyLoaded("the database already has organisations")
    rng = random.Random(seed)
    # The campaign `init` made is still unused on an empty database: dress it for the demo.
    campaign = campaigns.ensure_campaign()
    campaign.name, campaign.start_year, campaign.end_year = DEMO_CAMPAIGN
    batches = {b.number: b for b in campaign.batches}
    ids: dict[str, int] = {}
    for code, name, org_type, parent, unit, batch, members in TREE:
        org = build_org(None, OrgData(code, name, org_type, unit, ids.get(parent),
                                      batches[batch].id), "org.create")
        _set_stages(org, STAGE_STATES[batch])
        db.session.flush()
        ids[code] = org.id
        _add_members(org, members, rng)
    for username, password, role, display, branch, assigned in ACCOUNTS:
        create_user(None, UserData(username, role, display, ids.get(branch) if branch else None,
                                   tuple(ids[c] for c in assigned)), password)


def _set_stages(org: Organisation, states: dict[Stage, StageState]) -> None:
    for row in org.progress:
        row.state = states.get(row.stage, StageState.NOT_STARTED)


def _add_members(org: Organisation, count: int, rng: random.Random) -> None:
    names: set[str] = set()
    while len(names) < count:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        names.add(rng.choice(SURNAMES) + given)
    for i, name in enumerate(sorted(names)):
        status = MemberStatus.PROBATIONARY if i % 9 == 4 else MemberStatus.FULL
        db.session.add(Member(organisation=org, name=name, status=status))
