"""The contract report's verdict, as scripts/test reads it: a violation or a missing
report fails the run; a run whose tests sent nothing to Stripe does not."""

import json

from stripe_double import contract_report


def _report(tmp_path, checked, violations=()):
    path = tmp_path / "report.json"
    path.write_text(
        json.dumps(
            {
                "sdk_version": "16.1.0",
                "api_version": "2026-10-28.endive",
                "checked": checked,
                "violations": list(violations),
            }
        )
    )
    return str(path)


def test_a_clean_report_passes(tmp_path, capsys):
    assert contract_report.main(_report(tmp_path, {"customers.create": 2})) == 0
    assert "2 requests checked, 0 violation(s)" in capsys.readouterr().out


def test_tests_that_sent_no_request_pass(tmp_path, capsys):
    assert contract_report.main(_report(tmp_path, {})) == 0
    assert "sent no request to Stripe" in capsys.readouterr().out


def test_a_violation_fails(tmp_path, capsys):
    violation = {"operation": "refunds.create", "problem": "unknown key 'amount_x'"}
    path = _report(tmp_path, {"refunds.create": 1}, [violation])
    assert contract_report.main(path) == 1
    assert "VIOLATION refunds.create: unknown key 'amount_x'" in capsys.readouterr().out


def test_a_missing_report_fails(tmp_path, capsys):
    assert contract_report.main(str(tmp_path / "none.json")) == 1
    assert "no Stripe contract report" in capsys.readouterr().out
