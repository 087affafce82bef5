"""Verifying a sealed round: recompute the digest, recount the result, check the anchor.

A round passes only when all of these hold:

* the digest recomputed from what is stored equals the digest stored with the round, the
  one written to the audit log when the round closed (the anchor outside the row), and the
  one the checker holds from a saved copy, if given;
* the result recounted from the sealed ballots equals the stored result, field by field;
* every ballot's stored answers are canonically packed (``services.packed``), and there
  are as many receipts as ballots.
"""
import json
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Round, RoundState
from evalsvc.services import audit, seal, seal_v1
from evalsvc.services.verdict_check import verdict_differences
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
    closes, found = anchor_entries(round_)
    version = closes[0].get("seal", seal_v1.VERSION) if closes else seal.VERSION
    computed = (seal_v1.digest_of(round_.id) if version == seal_v1.VERSION
                else seal.digest_of(round_))
    digest, ballots, receipts, _malformed = computed
    if digest != round_.digest:
        found.append(f"digest differs: stored {round_.digest}, recomputed {digest}")
    found += _anchor_differences(closes, digest)
    if expected is not None and expected.strip().lower() != digest:
        found.append(f"digest differs from the copy checked: given {expected.strip()}, "
                     f"recomputed {digest}")
    if ballots != receipts:
        found.append(f"{ballots} ballots but {receipts} receipts")
    if computed.malformed:
        found.append(f"{computed.malformed} ballot(s) whose stored answers are not "
                     "canonically packed")
        return Verification(round_.id, False, found, round_.digest, digest, version)
    stored = seal.stored_result(round_)
    found += result_differences(stored, compute(round_).to_data(),
                                stored_fields_only=version == seal_v1.VERSION)
    found += verdict_differences(round_, ((stored or {}).get("verdict") or {}).get("passed"))
    if version == seal_v1.VERSION and found:
        found.append(f"sealed with {version}: its digest covers ballots and receipts only")
    return Verification(round_.id, not found, found, round_.digest, digest, version)


def anchor_entries(round_: Round) -> tuple[list[dict], list[str]]:
    """The details of the audit log's round.close entries since the round last started
    over, oldest first, and what is wrong with the log's story of the round.

    Anyone may append to the log, so appended entries must not move the anchor: only a
    round created as a rehearsal starts over, and only once (its purge makes it live).
    """
    rows = db.session.execute(sa.select(AuditEntry.id, AuditEntry.action, AuditEntry.detail)
                              .where(AuditEntry.object_type == "round",
                                     AuditEntry.object_id == str(round_.id),
                                     AuditEntry.action.in_(("round.create", "round.close",
                                                            "round.purge_rehearsal")))
                              .order_by(AuditEntry.id)).all()
    created = next((json.loads(d or "{}") for _, a, d in rows if a == "round.create"), {})
    purges = [i for i, a, _ in rows if a == "round.purge_rehearsal"]
    problems = []
    if purges and not created.get("rehearsal"):
        problems.append("the audit log has a rehearsal purge of a round not created as a "
                        "rehearsal")
    if len(purges) > 1:
        problems.append(f"the audit log holds {len(purges)} rehearsal purges; a rehearsal "
                        f"is purged once")
    start = purges[0] if purges else 0
    closes = [json.loads(d or "{}") for i, a, d in rows if a == "round.close" and i > start]
    return closes, problems


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


def result_differences(stored: dict | None, recounted: dict,
                       stored_fields_only: bool = False) -> list[str]:
    """One line per field of the stored result that the recount does not reproduce.

    ``stored_fields_only``: fields a later version added to results are not asked of a
    result stored before them (rounds sealed with v1, whose seal did not cover the result).
    """
    if stored is None:
        return ["no stored result"]
    found = list(_diff("result", seal.normal_result(stored),
                       seal.normal_result(json.loads(json.dumps(recounted))),
                       stored_fields_only))
    if len(found) > MAX_LINES:
        found = found[:MAX_LINES] + [f"… and {len(found) - MAX_LINES} more differences"]
    return found


def _diff(path: str, stored, recounted, stored_fields_only: bool = False):
    """Paths where two plain-data values differ; list elements are named by their key."""
    if isinstance(stored, dict) and isinstance(recounted, dict):
        keys = set(stored) if stored_fields_only else set(stored) | set(recounted)
        for key in sorted(keys, key=str):
            if key not in recounted or key not in stored:
                yield (f"{path}.{key}: stored {_show(stored.get(key))}, "
                       f"recounted {_show(recounted.get(key))}")
            else:
                yield from _diff(f"{path}.{key}", stored[key], recounted[key],
                                 stored_fields_only)
    elif isinstance(stored, list) and isinstance(recounted, list) \
            and len(stored) == len(recounted):
        for i, (old, new) in enumerate(zip(stored, recounted)):
            yield from _diff(f"{path}[{_name(old, i)}]", old, new, stored_fields_only)
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
