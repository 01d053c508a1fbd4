"""``blueranch carbon``: the carbon calculator, the live worker and the MRV report."""

import click


@click.group("carbon")
def group() -> None:
    """Carbon stocks, island budget, uncertainty and MRV reports."""
