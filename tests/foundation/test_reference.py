"""The reference tables exist once, in ``blueranch/reference/``, as verbatim copies of the shared folder.

The shared reference folder is looked for beside the repository (``../shared/reference``), or where
``BLUERANCH_REFERENCE_DIR`` says; where it is absent the comparison is skipped with a reason naming the
place it looked (shown by ``-ra``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blueranch import reference

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BLUERANCH_REFERENCE_DIR") or REPO.parent / "shared" / "reference")


@pytest.mark.parametrize("name", reference.FILES)
def test_packaged_copy_is_verbatim(name):
    shared = SHARED / name
    if not shared.is_file():
        pytest.skip(f"no shared reference table at {shared} (set BLUERANCH_REFERENCE_DIR to its folder)")
    assert reference.text(name) == shared.read_text(encoding="utf-8"), f"blueranch/reference/{name} differs"


def test_every_packaged_table_is_listed_and_no_other_copy_exists():
    folder = REPO / "blueranch" / "reference"
    assert sorted(p.name for p in folder.glob("*.csv")) == sorted(reference.FILES)
    copies = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "node_modules")]
        if Path(root) != folder:
            copies += [str(Path(root, f).relative_to(REPO)) for f in files if f in reference.FILES]
    assert not copies, f"second copies of reference tables (read blueranch.reference instead): {copies}"


def test_rows_skip_comments_and_comments_keep_the_citations():
    rows = reference.rows("carbon_coefficients.csv")
    assert rows[0]["kind"] == "bivalve" and rows[0]["group"] == "clam"
    assert all(not r["kind"].startswith("#") for r in rows)
    assert any("Sun Kang et al. 2020" in line for line in reference.comments("carbon_coefficients.csv"))
    with pytest.raises(KeyError, match="packaged: carbon_coefficients.csv"):
        reference.text("../pyproject.toml")
