"""`plumb compliance test`: test a prospect's census without creating a plan (no database needed)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from backend.compliance.census_file import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, CensusFileError, read_census
from backend.irs.limits import MissingLimits
from backend.compliance.engine_input import SAFE_HARBOR_KINDS, TESTING_METHODS, PlanTestInput
from backend.compliance.report import render_json, render_text, run_plan_tests


class CensusProblems(click.ClickException):
    """A malformed census: every problem on stderr, exit status 2."""

    exit_code = 2


class PercentType(click.ParamType):
    name = "percent"

    def convert(self, value, param, ctx):
        if isinstance(value, Decimal):
            return value
        try:
            percent = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a percent (a number such as 3.25)", param, ctx)
        if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):
            self.fail(f"{value!r} must be a percent from 0 to 100", param, ctx)
        return percent


@click.group("compliance", help="Nondiscrimination and limit tests (ADP/ACP, 402(g), 415(c), top-heavy, coverage).")
def compliance_group():
    pass


_TEST_HELP = (
    "Test a census CSV for one plan year without creating a plan.\n\n"
    "Required columns: " + ", ".join(REQUIRED_COLUMNS) + ". Optional: " + ", ".join(OPTIONAL_COLUMNS) + ". "
    "Dates ISO, money in dollars with cents, percents as numbers, booleans true/false; catch_up is what payroll "
    "already classed as catch-up (not part of the deferral columns); relatives is a list such as parent:E1;spouse:E7."
)


@compliance_group.command("test", help=_TEST_HELP)
@click.option("--census", "census_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The census CSV, with a header row.")
@click.option("--year", required=True, type=int, help="The plan year (a calendar year).")
@click.option("--method", type=click.Choice(TESTING_METHODS), default="current", show_default=True,
              help="Which year's NHCE averages the HCEs are compared with.")
@click.option("--prior-nhce-adp", type=PercentType(), help="Last year's NHCE ADP, percent (prior-year method).")
@click.option("--prior-nhce-acp", type=PercentType(), help="Last year's NHCE ACP, percent (prior-year method).")
@click.option("--first-year", is_flag=True, help="The plan's first plan year (NHCE averages deemed 3% under the "
                                                 "prior-year method; top-heavy determined at this year's end).")
@click.option("--safe-harbor", type=click.Choice(SAFE_HARBOR_KINDS), help="The plan's safe-harbor design, if any.")
@click.option("--top-paid-group", is_flag=True, help="The employer elects the 414(q)(3) top-paid-group limit.")
@click.option("--eaca", is_flag=True, help="An eligible automatic contribution arrangement (6 months to refund).")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="json", show_default=True)
def test_census(census_path, year, method, prior_nhce_adp, prior_nhce_acp, first_year, safe_harbor, top_paid_group,
                eaca, output_format):
    try:
        census = read_census(census_path)
    except CensusFileError as error:
        count = len(error.problems)
        raise CensusProblems(f"{census_path}: {count} problem{'s' if count > 1 else ''}\n" + "\n".join(error.problems))
    if method != "prior" and (prior_nhce_adp is not None or prior_nhce_acp is not None):
        raise click.UsageError("--prior-nhce-adp and --prior-nhce-acp need --method prior")
    if method == "prior" and first_year and (prior_nhce_adp is not None or prior_nhce_acp is not None):
        raise click.UsageError("in a first plan year the prior-year NHCE averages are deemed 3%; leave them out")
    plan = PlanTestInput(
        year=year,
        participants=census.participants,
        method=method,
        prior_nhce_adp=prior_nhce_adp,
        prior_nhce_acp=prior_nhce_acp,
        first_plan_year=first_year,
        safe_harbor=safe_harbor,
        top_paid_group_election=top_paid_group,
        eaca=eaca,
        family_ties=census.family_ties,
    )
    try:
        result = run_plan_tests(plan)
    except MissingLimits as error:
        raise click.ClickException(str(error))
    except ValueError as error:  # the prior-year method without last year's averages
        raise click.UsageError(f"{error} (give --prior-nhce-adp / --prior-nhce-acp, or --first-year)")
    click.echo(render_json(result) if output_format == "json" else render_text(result), nl=output_format == "json")
