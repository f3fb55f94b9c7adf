"""Each tested employee's projected ADP and ACP ratios as of the last full computation, and their sums by group
(HCEs, NHCEs): what lets one election move the group averages without testing the whole plan again.

The sums are exact Decimals kept with the stored state, moved by the difference one employee's new ratios make;
re-summing 10,000 rows on each election cost more than the rest of the update (and SQLite sums its text decimals
as binary floats)."""
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.compliance.models import ComplianceRatio
from backend.db import any_of, bulk_insert, chunks

GROUPS = {True: "hce", False: "nhce"}


def store_ratios(session: Session, plan_id: str, year: int, adp: list, acp: list) -> dict:
    """Bring the plan year's stored ratios to the engine's ADP and ACP members; their sums by group. Only the
    rows that differ are rewritten: from one recompute to the next most ratios stay as they were (a pay run
    moves money from the projected rest of the year into the year to date), and rewriting 10,000 rows each time
    cost more than reading them."""
    acp_ratios = {m.employee_id: m.ratio for m in acp}
    ratios = {m.employee_id: (m.hce, m.ratio, acp_ratios.get(m.employee_id, Decimal(0))) for m in adp}
    scope = (ComplianceRatio.plan_id == plan_id, ComplianceRatio.year == year)
    stored = {external_id: (hce, adr, acr) for external_id, hce, adr, acr in session.execute(
        select(ComplianceRatio.external_id, ComplianceRatio.hce, ComplianceRatio.adr, ComplianceRatio.acr)
        .where(*scope)).all()}
    changed = [external_id for external_id, values in ratios.items() if stored.get(external_id) != values]
    stale = [external_id for external_id, values in stored.items() if ratios.get(external_id) != values]
    for chunk in chunks(stale):
        session.execute(delete(ComplianceRatio).where(*scope, any_of(session, ComplianceRatio.external_id, chunk)))
    bulk_insert(session, ComplianceRatio.__table__, [
        {"plan_id": plan_id, "year": year, "external_id": external_id, "hce": ratios[external_id][0],
         "adr": ratios[external_id][1], "acr": ratios[external_id][2]} for external_id in changed])
    sums = {name: {"adr": Decimal(0), "acr": Decimal(0), "count": 0} for name in GROUPS.values()}
    for hce, adr, acr in ratios.values():
        group = sums[GROUPS[hce]]
        group["adr"] += adr
        group["acr"] += acr
        group["count"] += 1
    return as_json(sums)


def stored_ratios(session: Session, plan_id: str, year: int, employee_id: str) -> ComplianceRatio | None:
    """One employee's ratios as last stored (with their HCE status then); None when they were not tested."""
    return session.get(ComplianceRatio, (plan_id, year, employee_id))


def move_ratios(row: ComplianceRatio, adr: Decimal, acr: Decimal, sums: dict) -> dict:
    """Store one employee's new ratios; the sums moved by the difference."""
    group = sums[GROUPS[row.hce]]
    moved = {**sums, GROUPS[row.hce]: {"adr": str(Decimal(group["adr"]) - row.adr + adr),
                                       "acr": str(Decimal(group["acr"]) - row.acr + acr),
                                       "count": group["count"]}}
    row.adr, row.acr = adr, acr
    return moved


def averages(sums: dict, position: str) -> dict[bool, Decimal]:
    """{is HCE: the group's sum of `position` ("adr" or "acr") over its count}, unrounded, for groups with
    members."""
    return {hce: Decimal(sums[name][position]) / sums[name]["count"] for hce, name in GROUPS.items()
            if sums[name]["count"]}


def as_json(sums: dict) -> dict:
    return {name: {"adr": str(group["adr"]), "acr": str(group["acr"]), "count": group["count"]}
            for name, group in sums.items()}
