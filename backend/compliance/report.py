"""Run every annual test on one plan year and shape the result for the CLI and the API.

`run_plan_tests` returns plain data: percents as Decimal rounded to two places, money as Decimal dollars with
cents, dates as ISO text. `render_json` writes Decimals as their exact text, so 4.35 stays 4.35 (a float
round trip would be harmless here, but it is one conversion too many for money).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from backend.compliance.adp_acp import (RatioTestResult, acp_members, adp_members, exempt_result, run_ratio_test)
from backend.compliance.annual import AnnualLimitResult, annual_limit_results
from backend.compliance.correction import (correct_by_refunds, excess_deferral_deadline, nhce_increase_to_pass,
                                           qnec_to_pass)
from backend.compliance.coverage import ratio_percentage_test
from backend.irs.limits import limits_for
from backend.compliance.engine_input import SAFE_HARBOR_MATCH_KINDS, PlanTestInput
from backend.compliance.status import highly_compensated_employees, key_employees
from backend.compliance.top_heavy import run_top_heavy_test
from backend.money import cents_to_dollars, dollars_to_cents, format_dollar_amount, round_half_up


def run_plan_tests(plan: PlanTestInput, members: dict | None = None) -> dict:
    """ADP, ACP (with corrections), 402(g), 415(c), top-heavy and coverage for one plan year. When `members` is
    given, the ADP and ACP tests' members (each employee's ratio) are left in it under "adp" and "acp"."""
    limits = limits_for(plan.year)
    participants = plan.participants
    plan_year_end = date(plan.year, 12, 31)  # the engine assumes a calendar plan year
    annual = annual_limit_results(participants, plan.year)
    hces = highly_compensated_employees(
        participants, plan.year, family_ties=plan.family_ties, outside_owners=plan.outside_owners,
        top_paid_group_election=plan.top_paid_group_election,
    )
    keys = key_employees(
        participants, plan.year, first_plan_year=plan.first_plan_year, family_ties=plan.family_ties,
        outside_owners=plan.outside_owners,
    )

    adp_tested, acp_tested = ratio_test_members(plan, hces, annual)
    if plan.safe_harbor is not None:
        # IRC 401(k)(12), (13): a safe-harbor arrangement is treated as meeting the ADP test.
        adp = exempt_result("ADP", f"safe-harbor plan ({plan.safe_harbor}), IRC 401(k)(12)/(13)", plan.method,
                            adp_tested)
    else:
        adp = run_ratio_test("ADP", adp_tested, method=plan.method, prior_nhce_average=plan.prior_nhce_adp,
                             first_plan_year=plan.first_plan_year)

    safe_harbor_match = plan.safe_harbor in SAFE_HARBOR_MATCH_KINDS
    if safe_harbor_match and not any(p.after_tax_cents for p in participants):
        # IRC 401(m)(11): a safe-harbor match is treated as meeting the ACP test; with no after-tax money
        # there is nothing else to test.
        acp = exempt_result("ACP", f"safe-harbor match ({plan.safe_harbor}), IRC 401(m)(11)", plan.method,
                            acp_members(participants, annual, hces))
    else:
        acp = run_ratio_test("ACP", acp_tested, method=plan.method, prior_nhce_average=plan.prior_nhce_acp,
                             first_plan_year=plan.first_plan_year)

    if members is not None:
        members.update(adp=adp_tested, acp=acp_tested)
    top_heavy = run_top_heavy_test(participants, plan.year, keys, annual, first_plan_year=plan.first_plan_year,
                                   safe_harbor=plan.safe_harbor)
    coverage = ratio_percentage_test(participants, hces)

    return {
        "year": plan.year,
        "method": plan.method,
        "plan_year_end": plan_year_end.isoformat(),
        "participants": len(participants),
        "hce": sorted(hces),
        "adp": _ratio_test_section(adp, plan_year_end, plan.eaca),
        "acp": _ratio_test_section(acp, plan_year_end, plan.eaca),
        "limit_402g": _dollars_by_id({i: a.excess_deferral_cents for i, a in annual.items()}),
        "limit_415c": _dollars_by_id({i: a.excess_annual_additions_cents for i, a in annual.items()}),
        # Every catch-up as the rule classes it, whatever payroll's column (the key predates that rule).
        "catch_up_reclassified": _dollars_by_id({i: a.catch_up_cents for i, a in annual.items()}),
        "deadlines": {"excess_deferrals_402g": excess_deferral_deadline(plan.year).isoformat()},
        "top_heavy": {
            "determination_date": top_heavy.determination_date.isoformat(),
            "ratio": top_heavy.ratio,
            "is_top_heavy": top_heavy.is_top_heavy,
            "key_employees": list(top_heavy.key_employees),
            "key_balance": cents_to_dollars(top_heavy.key_balance_cents),
            "total_balance": cents_to_dollars(top_heavy.total_balance_cents),
            "exempt": top_heavy.exempt,
            "exempt_reason": top_heavy.exempt_reason,
            "minimum_percent": _percent(top_heavy.minimum_percent),
            "minimum_owed": _dollars_by_id(top_heavy.minimum_owed_cents),
        },
        "coverage": {
            "ratio": coverage.ratio,
            "passed": coverage.passed,
            "nhce_benefiting": coverage.nhce_benefiting,
            "nhce_count": coverage.nhce_count,
            "hce_benefiting": coverage.hce_benefiting,
            "hce_count": coverage.hce_count,
        },
        "irs_limits": {
            "year": limits.year,
            "elective_deferral": cents_to_dollars(limits.elective_deferral_cents),
            "annual_additions": cents_to_dollars(limits.annual_additions_cents),
            "compensation_limit": cents_to_dollars(limits.compensation_limit_cents),
            "sources": dict(limits.sources),
        },
    }


def ratio_test_members(plan: PlanTestInput, hces: frozenset[str],
                       annual: Mapping[str, AnnualLimitResult] | None = None) -> tuple[list, list]:
    """(ADP members, ACP members): each eligible employee's ratio as the tests count it. A safe-harbor match is
    left out of the ACP (IRC 401(m)(11))."""
    if annual is None:
        annual = annual_limit_results(plan.participants, plan.year)
    return (adp_members(plan.participants, annual, hces),
            acp_members(plan.participants, annual, hces,
                        matches_counted=plan.safe_harbor not in SAFE_HARBOR_MATCH_KINDS))


# What a passing ADP or ACP section holds in place of a correction.
PASSING_CORRECTION = MappingProxyType({
    "refunds": {}, "recharacterized_catch_up": {}, "total_excess": Decimal("0.00"),
    "unallocated_excess": Decimal("0.00"), "hce_ratio_cap": None, "deadlines": None, "qnec": None,
    "nhce_increase": None})


def _ratio_test_section(result: RatioTestResult, plan_year_end: date, eaca: bool) -> dict:
    section = {
        "exempt": result.exempt,
        "exempt_reason": result.exempt_reason,
        "nhce_basis": result.nhce_basis,
        "hce_average": result.hce_average,
        "nhce_average": result.nhce_average,
        "limit": result.limit,
        "margin": result.margin,
        "passed": result.passed,
        "hce": sorted(result.hce_ids),
        "hce_count": len(result.hces),
        "nhce_count": len(result.nhces),
        **PASSING_CORRECTION,
    }
    if result.passed:
        return section
    correction = correct_by_refunds(result, plan_year_end=plan_year_end, eaca=eaca)
    section.update(
        refunds=_dollars_by_id(correction.refunds_cents),
        recharacterized_catch_up=_dollars_by_id(correction.recharacterized_catch_up_cents),
        total_excess=cents_to_dollars(correction.total_excess_cents),
        unallocated_excess=cents_to_dollars(correction.unallocated_cents),
        hce_ratio_cap=correction.hce_ratio_cap,
        deadlines={
            "refund_without_excise_tax": correction.deadlines.without_excise_tax.isoformat(),
            "refund_latest": correction.deadlines.latest.isoformat(),
            "qnec_latest": correction.deadlines.qnec_latest.isoformat(),
        },
    )
    qnec = qnec_to_pass(result)
    if qnec is not None:
        section["qnec"] = {"percent": qnec.percent, "cost": cents_to_dollars(qnec.cost_cents),
                           "nhce_average_after": qnec.nhce_average_after}
    increase = nhce_increase_to_pass(result)
    if increase is not None:
        section["nhce_increase"] = {
            "nhce_average_needed": increase.nhce_average_needed,
            "points": increase.points,
            "extra_contributions": cents_to_dollars(increase.extra_contributions_cents),
            "nonparticipants": increase.nonparticipants,
            "nonparticipants_needed": increase.nonparticipants_needed,
            "at_percent": increase.at_percent,
        }
    return section


def _dollars_by_id(cents_by_id: Mapping[str, int]) -> dict[str, Decimal]:
    # Filtered before sorting: of 10,000 employees, usually none or a few are over a limit.
    return {employee_id: cents_to_dollars(cents)
            for employee_id, cents in sorted((i, c) for i, c in cents_by_id.items() if c)}


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_half_up(value, 2)


# --- output ------------------------------------------------------------------------------------


def render_json(value: object, indent: int = 2) -> str:
    """JSON with each Decimal written as its own digits (3800.00, 4.35), never through a float."""
    return _encode(value, indent, 0)


def _encode(value: object, indent: int, level: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        return format(value, "f")
    if isinstance(value, str):
        return json.dumps(value)
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_encode(v, indent, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{inner}{_encode(v, indent, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def render_text(result: Mapping) -> str:
    """A readable report of `run_plan_tests`'s result."""
    lines = [f"Plumb compliance test, plan year ending {result['plan_year_end']} ({result['method']}-year method)",
             f"{result['participants']} employees, {len(result['hce'])} highly compensated", ""]
    for name in ("adp", "acp"):
        lines.extend(_ratio_test_lines(name.upper(), result[name]))
        lines.append("")
    lines.append("402(g) elective deferral limit: " + _over_limit_text(result["limit_402g"]))
    if result["limit_402g"]:
        lines.append(f"  distribute by {result['deadlines']['excess_deferrals_402g']}")
    if result["catch_up_reclassified"]:
        lines.append("  catch-up (deferrals over 402(g) or 415(c), 26 CFR 1.414(v)-1(b)(1)): "
                     + _amounts(result["catch_up_reclassified"]))
    lines.append("415(c) annual additions limit: " + _over_limit_text(result["limit_415c"]))
    lines.append("")
    top = result["top_heavy"]
    status = "TOP-HEAVY" if top["is_top_heavy"] else "not top-heavy"
    lines.append(f"Top-heavy on {top['determination_date']}: key employees hold {top['ratio']}% -> {status}")
    lines.append("  key employees: " + (", ".join(top["key_employees"]) or "none"))
    if top["exempt"] and top["is_top_heavy"]:
        lines.append(f"  exempt: {top['exempt_reason']}")
    elif top["minimum_percent"] is not None:
        lines.append(f"  minimum contribution {top['minimum_percent']}% of pay owed to non-key participants")
        if top["minimum_owed"]:
            lines.append("  still owed: " + _amounts(top["minimum_owed"]))
    lines.append("")
    cov = result["coverage"]
    ratio = "n/a" if cov["ratio"] is None else f"{cov['ratio']}%"
    lines.append(f"Coverage 410(b) ratio percentage: {ratio} -> {'passes' if cov['passed'] else 'FAILS'} "
                 f"({cov['nhce_benefiting']}/{cov['nhce_count']} NHCEs and "
                 f"{cov['hce_benefiting']}/{cov['hce_count']} HCEs benefiting)")
    return "\n".join(lines) + "\n"


def _ratio_test_lines(name: str, section: Mapping) -> list[str]:
    def pct(value):
        return "n/a" if value is None else f"{value}%"

    if section["exempt"]:
        head = f"{name}: exempt ({section['exempt_reason']})"
    else:
        head = f"{name}: {'passes' if section['passed'] else 'FAILS'}"
    lines = [head,
             f"  HCE average {pct(section['hce_average'])}, NHCE average {pct(section['nhce_average'])} "
             f"({section['nhce_basis'].replace('_', ' ')}), highest passing HCE average {pct(section['limit'])}"]
    if section["passed"]:
        return lines
    lines.append(f"  total excess {format_dollar_amount(section['total_excess'])} "
                 f"(HCE ratios capped at {section['hce_ratio_cap']}%)")
    if section["refunds"]:
        lines.append("  refunds: " + _amounts(section["refunds"]))
    if section["recharacterized_catch_up"]:
        lines.append("  re-characterized as catch-up: " + _amounts(section["recharacterized_catch_up"]))
    if dollars_to_cents(section["unallocated_excess"]):  # a Decimal from the engine, a string from a stored state
        lines.append(f"  excess no HCE could return from this plan: {format_dollar_amount(section['unallocated_excess'])}")
    deadlines = section["deadlines"]
    lines.append(f"  refund by {deadlines['refund_without_excise_tax']} to avoid the 10% excise tax, "
                 f"{deadlines['refund_latest']} at the latest")
    if section["qnec"]:
        q = section["qnec"]
        lines.append(f"  or a QNEC of {q['percent']}% of pay to every eligible NHCE: cost "
                     f"{format_dollar_amount(q['cost'])} (NHCE average becomes {q['nhce_average_after']}%), "
                     f"by {deadlines['qnec_latest']}")
    if section["nhce_increase"]:
        n = section["nhce_increase"]
        text = (f"  NHCEs would need an average of {n['nhce_average_needed']}% (+{n['points']} points, "
                f"{format_dollar_amount(n['extra_contributions'])} more at current pay)")
        if n["nonparticipants_needed"] is not None:
            text += (f", or {n['nonparticipants_needed']} of {n['nonparticipants']} non-contributors "
                     f"at {n['at_percent']}%")
        lines.append(text)
    return lines


def _over_limit_text(amounts: Mapping) -> str:
    return "everyone within the limit" if not amounts else "over the limit: " + _amounts(amounts)


def _amounts(amounts: Mapping) -> str:
    return ", ".join(f"{employee_id} {format_dollar_amount(amount)}" for employee_id, amount in amounts.items())
