"""``blueranch dashboards``: build and publish the Grafana dashboards."""

import click


@click.group("dashboards")
def group() -> None:
    """Build and publish the Grafana dashboards."""
