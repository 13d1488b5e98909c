#!/usr/bin/env python3
"""Prints `N passed, N failed` from the xUnit files `swift test --xunit-output` writes, and exits non-zero on
failures or when no test ran."""
import glob
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for path in sys.argv[1:]:
    for file in glob.glob(path):
        for case in ET.parse(file).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                print(f"FAILED: {case.get('classname')}.{case.get('name')}")
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
