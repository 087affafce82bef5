"""Verifying a sealed round: recompute the digest, recount the result, check the anchor.

A round passes only when all of these hold:

* the digest recomputed from what is stored equals the digest stored with the round, the
  one written to the audit log when the round closed (the anchor outside the row), and the
  one the checker holds from a saved copy, if given;
* the result recounted from the sealed ballots equals the stored result, field by field;
* every answer filed under the round belongs to one of its ballots, and there are as many
  receipts as ballots.
"""
import json
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Round, RoundState
from evalsvc.services import audit, seal, seal_v1
from evalsvc.services.results import compute

MAX_LINES = 40  # differences listed before "… and N more"
IDENTITY = ("key", "code", "member_id", "value")  # what names an element of a result list


@dataclass(frozen=True)
class Verification:
    """What a recount found: ``ok`` when every check passed."""

    round_id: int
    ok: bool
    differences: list[str]
    digest: str | None  # stored with the round
    recomputed: str | None
    version: str | None = None

    def report(self) -> str:
        """One line per finding, naming the round."""
        if self.ok:
            return (f"round {self.round_id}: OK — digest {self.digest} ({self.version}) "
                    f"matches the audit log, and the recount matches the stored result")
        return "\n".join(f"round {self.round_id}: {d}" for d in self.differences)


def verify(round_: Round, expected: str | None = None) -> Verification:
    """Recompute and recount; name what differs. ``expected``: a digest from a saved copy."""
    if round_.state is not RoundState.CLOSED or not round_.digest:
        return Verification(round_.id, False, ["not closed and sealed"], round_.digest, None)
    closes = close_entries(round_)
    version = closes[0].get("seal", seal_v1.VERSION) if closes else seal.VERSION
    if version == seal_v1.VERSION:
        digest, ballots, receipts = seal_v1.digest_of(round_.id)
    else:
        digest, ballots, receipts = seal.digest_of(round_)
    found = []
    if digest != round_.digest:
        found.append(f"digest differs: stored {round_.digest}, recomputed {digest}")
    found += _anchor_differences(closes, digest)
    if expected is not None and expected.strip().lower() != digest:
        found.append(f"digest differs from the copy checked: given {expected.strip()}, "
                     f"recomputed {digest}")
    if ballots != receipts:
        found.append(f"{ballots} ballots but {receipts} receipts")
    strays = seal.stray_answers(round_.id)
    if strays:
        found.append(f"{strays} answer row(s) filed under the round belong to no ballot of it")
    found += result_differences(seal.stored_result(round_), compute(round_).to_data())
    if version == seal_v1.VERSION and found:
        found.append(f"sealed with {version}: its digest covers ballots and receipts only")
    return Verification(round_.id, not found, found, round_.digest, digest, version)


def close_entries(round_: Round) -> list[dict]:
    """The details of the audit log's round.close entries since the round last started over
    (a purged rehearsal starts over), oldest first."""
    same = (AuditEntry.object_type == "round", AuditEntry.object_id == str(round_.id))
    purged = db.session.scalar(sa.select(sa.func.max(AuditEntry.id)).where(
        *same, AuditEntry.action == "round.purge_rehearsal")) or 0
    details = db.session.scalars(sa.select(AuditEntry.detail).where(
        *same, AuditEntry.action == "round.close", AuditEntry.id > purged)
        .order_by(AuditEntry.id)).all()
    return [json.loads(d or "{}") for d in details]


def _anchor_differences(closes: list[dict], digest: str) -> list[str]:
    if not closes:
        return ["no round.close entry in the audit log: the digest has no anchor"]
    found = []
    if len(closes) > 1:
        found.append(f"the audit log holds {len(closes)} round.close entries; a round "
                     f"closes once")
    if closes[0].get("digest") != digest:
        found.append(f"digest differs from the audit log: logged at close "
                     f"{closes[0].get('digest')}, recomputed {digest}")
    return found


def result_differences(stored: dict | None, recounted: dict) -> list[str]:
    """One line per field of the stored result that the recount does not reproduce."""
    if stored is None:
        return ["no stored result"]
    found = list(_diff("result", seal.normal_result(stored),
                       seal.normal_result(json.loads(json.dumps(recounted)))))
    if len(found) > MAX_LINES:
        found = found[:MAX_LINES] + [f"… and {len(found) - MAX_LINES} more differences"]
    return found


def _diff(path: str, stored, recounted):
    """Paths where two plain-data values differ; list elements are named by their key."""
    if isinstance(stored, dict) and isinstance(recounted, dict):
        for key in sorted(set(stored) | set(recounted), key=str):
            if key not in recounted or key not in stored:
                yield (f"{path}.{key}: stored {_show(stored.get(key))}, "
                       f"recounted {_show(recounted.get(key))}")
            else:
                yield from _diff(f"{path}.{key}", stored[key], recounted[key])
    elif isinstance(stored, list) and isinstance(recounted, list) \
            and len(stored) == len(recounted):
        for i, (old, new) in enumerate(zip(stored, recounted)):
            yield from _diff(f"{path}[{_name(old, i)}]", old, new)
    elif stored != recounted or type(stored) is not type(recounted):
        yield f"{path}: stored {_show(stored)}, recounted {_show(recounted)}"


def _name(element, index: int) -> str:
    if isinstance(element, dict):
        for key in IDENTITY:
            if key in element:
                return repr(element[key])
    return str(index)


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


@writes
def verify_and_record(actor, round_: Round, expected: str | None = None) -> Verification:
    """Verify, and write who checked and what they found to the audit log."""
    result = verify(round_, expected)
    audit.record(actor, "round.verify", round_, ok=result.ok, differences=result.differences)
    return result
