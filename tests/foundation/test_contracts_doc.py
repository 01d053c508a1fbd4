"""docs/contracts.md must agree with the contract modules."""

from blueranch.contracts import doc


def test_contracts_doc_matches_modules():
    text = doc.DOC.read_text()
    assert doc.BEGIN in text and doc.END in text
    assert doc.splice(text, doc.render()) == text, (
        "docs/contracts.md disagrees with blueranch/contracts/*.py; run: python -m blueranch.contracts.doc --write"
    )


def test_doc_names_every_measurement_and_quantity():
    from blueranch.contracts.influx import MEASUREMENTS
    from blueranch.contracts.quantities import QUANTITIES

    text = doc.DOC.read_text()
    for name in list(MEASUREMENTS) + list(QUANTITIES):
        assert f"`{name}`" in text
