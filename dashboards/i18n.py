"""The dashboards' messages, and keeping their catalogues in step: ``python -m blueranch.dashboards.i18n``.

The messages are what building the English dashboards asks the translator for (titles, descriptions,
labels, series and column names, folder titles), including those that come from the contract (quantity
descriptions) and the reference table (threshold citations), which no source scan would find. Running
the module adds new messages to every other language's catalogue (untranslated) and drops unused ones;
tests/dashboards/test_i18n.py fails while one is untranslated.
"""

from __future__ import annotations

from blueranch.dashboards.build import build_all
from blueranch.dashboards.common import DOMAIN, Settings
from blueranch.i18n import update_catalogues


def messages() -> list[str]:
    """Every message the dashboards ask for, in the order a reader meets them."""
    s = Settings()
    build_all(s)
    return list(s.tr.asked)


def main() -> None:
    for line in update_catalogues(DOMAIN, messages()):
        print(line)


if __name__ == "__main__":
    main()
