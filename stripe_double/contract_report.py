"""Print the Stripe contract report of a test run; exit 1 on a violation or no report.

A report without any request (the chosen tests sent none to Stripe) is no failure.

Usage: python3 stripe_double/contract_report.py REPORT.json
"""

import json
import sys


def main(path):
    try:
        with open(path, encoding="utf-8") as report_file:
            report = json.load(report_file)
    except (OSError, ValueError) as exc:
        print(f"no Stripe contract report at {path} ({exc}): did the run end normally?")
        return 1
    checked = report["checked"]
    violations = report["violations"]
    print(
        f"stripe {report['sdk_version']}, API version {report['api_version']}: "
        f"{sum(checked.values())} requests checked, {len(violations)} violation(s)"
    )
    width = max((len(operation) for operation in checked), default=0)
    for operation, count in checked.items():
        print(f"  {operation:<{width}}  {count:>6}")
    if not checked:
        print("  (the tests that ran sent no request to Stripe)")
    for violation in violations:
        print(f"VIOLATION {violation['operation']}: {violation['problem']}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
