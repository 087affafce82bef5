"""Typed tables, by subject. Models hold data; they never commit."""
from evalsvc.models.audit import AuditEntry
from evalsvc.models.base import Base
from evalsvc.models.campaigns import Batch, Campaign, Stage, StageProgress, StageState
from evalsvc.models.organisations import Member, MemberStatus, Organisation, OrgType
from evalsvc.models.users import Role, User, supervisor_scope

__all__ = [
    "AuditEntry", "Base", "Batch", "Campaign", "Member", "MemberStatus", "Organisation",
    "OrgType", "Role", "Stage", "StageProgress", "StageState", "User", "supervisor_scope",
]
