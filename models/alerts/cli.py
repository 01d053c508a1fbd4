"""``blueranch alerts``: the alert worker and its lifecycle commands."""

import click


@click.group("alerts")
def group() -> None:
    """Early warnings: hypoxia, heatwaves, storms, losses, silent devices."""
