import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from backend.compliance.census_file import CensusFileError, parse_census
from backend.compliance.cli import compliance_group

HEADER = ("employee_id,date_of_birth,hire_date,compensation,pretax_deferrals,roth_deferrals,catch_up,employer_match,"
          "after_tax_contributions,account_balance,ownership_percent,prior_year_compensation,officer,eligible")

# Example A (26 CFR 1.401(k)-2(a)(7) Ex. 1): A is an HCE by 2025 pay over 160,000.
EXAMPLE_A = "\n".join([
    HEADER,
    "A,1980-02-01,2010-01-01,100000.00,4340.00,0,0,0,0,250000.00,0,170000.00,false,true",
    "B,1985-03-01,2012-05-01,60000.00,2000.00,860.00,0,0,0,40000.00,0,58000.00,false,true",
    "C,1990-04-01,2018-09-01,45000.00,1250.00,0,0,0,0,10000.00,0,44000.00,false,true",
]) + "\n"

# Example B (26 CFR 1.401(k)-2(b)(2)(viii)): NHCEs average 3%. B is an HCE as a 10% owner.
EXAMPLE_B = "\n".join([
    HEADER,
    "A,1980-02-01,2010-01-01,200000.00,12000.00,0,0,0,0,300000.00,0,200000.00,true,true",
    "B,1981-02-01,2011-01-01,128000.00,8960.00,0,0,0,0,200000.00,10,128000.00,false,true",
    "C,1990-04-01,2018-09-01,50000.00,1500.00,0,0,0,0,100000.00,0,50000.00,false,true",
    "D,1992-04-01,2019-09-01,40000.00,1200.00,0,0,0,0,50000.00,0,40000.00,false,true",
]) + "\n"


def run(tmp_path, text, *args):
    census = tmp_path / "census.csv"
    census.write_text(text)
    return CliRunner().invoke(compliance_group, ["test", "--census", str(census), *args])


def run_json(tmp_path, text, *args):
    result = run(tmp_path, text, "--year", "2026", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return result.output, json.loads(result.output, parse_float=Decimal)


def test_example_a_from_a_csv(tmp_path):
    text, report = run_json(tmp_path, EXAMPLE_A)
    adp = report["adp"]
    assert adp["hce"] == ["A"]
    assert (adp["hce_average"], adp["nhce_average"], adp["limit"]) == \
        (Decimal("4.34"), Decimal("3.78"), Decimal("5.78"))
    assert adp["passed"] is True and adp["refunds"] == {}
    assert '"nhce_average": 3.78' in text and '"limit": 5.78' in text
    assert report["acp"]["passed"] is True
    assert report["limit_402g"] == {} and report["limit_415c"] == {}


def test_example_a_at_5770_passes_by_the_alternative(tmp_path):
    _, report = run_json(tmp_path, EXAMPLE_A.replace("4340.00", "5770.00"))
    assert report["adp"]["hce_average"] == Decimal("5.77") and report["adp"]["passed"] is True


def test_example_b_from_a_csv_prints_the_refunds(tmp_path):
    text, report = run_json(tmp_path, EXAMPLE_B)
    adp = report["adp"]
    assert adp["hce"] == ["A", "B"]
    assert (adp["hce_average"], adp["nhce_average"], adp["limit"]) == \
        (Decimal("6.50"), Decimal("3.00"), Decimal("5.00"))
    assert adp["passed"] is False
    assert adp["refunds"] == {"A": Decimal("3800.00"), "B": Decimal("760.00")}
    assert '"A": 3800.00' in text and '"B": 760.00' in text
    assert adp["total_excess"] == Decimal("4560.00")
    assert adp["deadlines"]["refund_without_excise_tax"] == "2027-03-15"
    # Top-heavy on 2025-12-31: B is key as a 10% owner; officer A was paid 200,000, under 2025's 230,000.
    top = report["top_heavy"]
    assert top["key_employees"] == ["B"]
    assert top["ratio"] == Decimal("30.77") and top["is_top_heavy"] is False


def test_402g_and_415c_excesses_in_the_json(tmp_path):
    text = EXAMPLE_A + "\n".join([
        "X,1990-01-01,2015-01-01,30000.00,25000.00,0,0,6000.00,0,0,0,30000.00,false,true",
        "Y,1970-01-01,2015-01-01,90000.00,30000.00,0,0,0,0,0,0,90000.00,false,true",
    ]) + "\n"
    _, report = run_json(tmp_path, text)
    assert report["limit_402g"] == {"X": Decimal("500.00")}
    # X: 24,500 kept + 6,000 match = 30,500 against 100% of 30,000 pay.
    assert report["limit_415c"] == {"X": Decimal("500.00")}
    assert report["catch_up_reclassified"] == {"Y": Decimal("5500.00")}


def test_text_format_is_a_readable_report(tmp_path):
    result = run(tmp_path, EXAMPLE_B, "--year", "2026", "--format", "text")
    assert result.exit_code == 0, result.output
    assert "ADP: FAILS" in result.output
    assert "refunds: A $3,800.00, B $760.00" in result.output  # money.format_dollars
    assert "Top-heavy" in result.output


def test_prior_year_method_options(tmp_path):
    _, report = run_json(tmp_path, EXAMPLE_B, "--method", "prior", "--prior-nhce-adp", "4.5", "--prior-nhce-acp", "1")
    assert report["adp"]["limit"] == Decimal("6.50") and report["adp"]["passed"] is True
    _, first = run_json(tmp_path, EXAMPLE_B, "--method", "prior", "--first-year")
    assert first["adp"]["nhce_average"] == Decimal("3") and first["adp"]["nhce_basis"] == "deemed_first_year"


def test_prior_year_method_without_last_years_figure_is_a_usage_error(tmp_path):
    result = run(tmp_path, EXAMPLE_B, "--year", "2026", "--method", "prior")
    assert result.exit_code == 2 and "--prior-nhce-adp" in result.output


def test_a_2024_test_uses_2023_pay_for_hce_status(tmp_path):
    # A's 200,000 of 2023 pay is over the 2023 threshold (150,000); B owns 10%.
    _, report = run_json(tmp_path, EXAMPLE_B, "--year", "2024")
    assert report["adp"]["hce"] == ["A", "B"]
    assert (report["adp"]["hce_average"], report["adp"]["nhce_average"]) == (Decimal("6.50"), Decimal("3.00"))
    assert (report["adp"]["limit"], report["adp"]["passed"]) == (Decimal("5.00"), False)


def test_a_year_without_irs_figures_fails_loudly(tmp_path):
    result = run(tmp_path, EXAMPLE_B, "--year", "2023")
    assert result.exit_code == 1 and "no IRS limits on file for 2022" in result.output


def test_malformed_census_lists_every_bad_row_and_field(tmp_path):
    text = "\n".join([
        HEADER,
        "A,1980-02-01,2010-01-01,100000.00,4340.00,0,0,0,0,250000.00,0,170000.00,false,true",
        "B,1985-13-01,2012-05-01,abc,2000.00,0,0,0,0,40000.00,0,58000.00,yes,true",
        "C,1990-04-01,2018-09-01,45000.00,1250.005,0,0,0,0,10000.00,150,44000.00,false,true",
        "D,1990-04-01,2018-09-01,45000.00",
        "A,1990-04-01,2018-09-01,45000.00,-5,0,0,0,0,,0,44000.00,false,true",
    ]) + "\n"
    result = run(tmp_path, text, "--year", "2026")
    assert result.exit_code == 2
    problems = [
        "line 3: date_of_birth: not a valid date",
        "line 3: compensation: not an amount",
        "line 3: officer: not true or false",
        "line 4: pretax_deferrals: more than two decimal places",
        "line 4: ownership_percent: must be a number from 0 to 100",
        "line 5: expected 14 fields, found 4",
        "line 6: employee_id: A is already on line 2",
        "line 6: pretax_deferrals: cannot be negative",
        "line 6: account_balance: missing",
    ]
    for problem in problems:
        assert problem in result.stderr
    assert result.stdout == ""


def test_missing_columns_are_named(tmp_path):
    result = run(tmp_path, "employee_id,compensation\nA,1\n", "--year", "2026")
    assert result.exit_code == 2
    assert "line 1: header: missing columns date_of_birth, hire_date" in result.stderr


def test_optional_columns_and_family_ties():
    census = parse_census(
        HEADER + ",relatives,excludable,nonelective\n"
        "DAD,1960-01-01,2000-01-01,250000.00,0,0,0,0,0,0,60,250000.00,true,true,,false,\n"
        "SON,1995-01-01,2020-01-01,40000.00,0,0,0,0,0,0,0,40000.00,false,true,parent:DAD,false,100.00\n"
    )
    son = census.participants[1]
    assert son.nonelective_cents == 10_000 and not son.excludable
    assert [(t.employee_id, t.relative_id, t.relationship) for t in census.family_ties] == [("SON", "DAD", "parent")]
    with pytest.raises(CensusFileError, match="line 2: relatives: no employee NOBODY"):
        parse_census(HEADER + ",relatives\n"
                     "SON,1995-01-01,2020-01-01,40000.00,0,0,0,0,0,0,0,40000.00,false,true,parent:NOBODY\n")


def test_the_plumb_command_carries_the_compliance_group():
    from backend.cli import command_group

    assert command_group().commands["compliance"] is compliance_group
