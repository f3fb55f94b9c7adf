"""Each tested employee's projected ADP and ACP ratios as of the last full computation, and their sums by group
(HCEs, NHCEs): what lets one election move the group averages without testing the whole plan again.

The sums are exact Decimals kept with the stored state, moved by the difference one employee's new ratios make;
re-summing 10,000 rows on each election cost more than the rest of the update (and SQLite sums its text decimals
as binary floats)."""
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.compliance.models import ComplianceRatio
from backend.db import bulk_insert

GROUPS = {True: "hce", False: "nhce"}


def store_ratios(session: Session, plan_id: str, year: int, adp: list, acp: list) -> dict:
    """Replace the plan year's stored ratios with the engine's ADP and ACP members; their sums by group."""
    acr = {m.employee_id: m.ratio for m in acp}
    rows = [{"plan_id": plan_id, "year": year, "external_id": m.employee_id, "hce": m.hce, "adr": m.ratio,
             "acr": acr.get(m.employee_id, Decimal(0))} for m in adp]
    session.execute(delete(ComplianceRatio).where(ComplianceRatio.plan_id == plan_id, ComplianceRatio.year == year))
    bulk_insert(session, ComplianceRatio.__table__, rows)
    sums = {name: {"adr": Decimal(0), "acr": Decimal(0), "count": 0} for name in GROUPS.values()}
    for row in rows:
        group = sums[GROUPS[row["hce"]]]
        group["adr"] += row["adr"]
        group["acr"] += row["acr"]
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
