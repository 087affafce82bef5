"""Typed tables, by subject. Models hold data; they never commit."""
from evalsvc.models.audit import AuditEntry
from evalsvc.models.ballots import Ballot, PaperEntry, Receipt
from evalsvc.models.base import Base
from evalsvc.models.definitions import DefinitionVersion, VersionState
from evalsvc.models.campaigns import Batch, Campaign, Stage, StageProgress, StageState
from evalsvc.models.flags import (
    BranchDecision, Decision, Flag, FlagKind, Opinion, Transition, TransitionState,
)
from evalsvc.models.grades import MemberGrade
from evalsvc.models.jobs import Job, JobState
from evalsvc.models.organisations import Gender, Member, MemberStatus, Organisation, OrgType, Unit
from evalsvc.models.rectification import (
    Brief, ItemStatus, PlanItem, PlanState, ProgressNote, PublicPage, RectificationPlan,
)
from evalsvc.models.sessions import StaffSession
from evalsvc.models.summaries import CommitteeBranches, DayTotals
from evalsvc.models.rounds import Card, GroupCode, RespondentGroup, Round, RoundState
from evalsvc.models.users import Role, User, supervisor_scope

__all__ = [
    "BranchDecision", "Decision", "Flag", "FlagKind", "Opinion", "Transition", "TransitionState",
    "Ballot", "Job", "JobState", "Card", "PaperEntry", "GroupCode", "Receipt", "RespondentGroup", "Round",
    "RoundState", "StaffSession", "DefinitionVersion", "VersionState", "AuditEntry", "Base", "Batch", "Campaign", "Gender", "Member", "MemberGrade", "MemberStatus", "Organisation",
    "OrgType", "Role", "Brief", "ItemStatus", "PlanItem", "PlanState", "ProgressNote",
    "CommitteeBranches", "DayTotals",
    "PublicPage", "RectificationPlan", "Stage", "Unit", "StageProgress", "StageState", "User", "supervisor_scope",
]
