"""The MRV report's messages, and keeping their catalogues in step: ``python -m blueranch.models.carbon.i18n``.

The messages are every ``t("...")`` of the template (read from its syntax tree, so a sentence in a branch
no test report reaches is collected too) and the words behind the figures' codes
(:data:`blueranch.models.carbon.report_html.CODES`). Running the module adds new messages to every other
language's catalogue (untranslated) and drops unused ones; tests/carbon/test_report_i18n.py fails while
one is untranslated.
"""

from __future__ import annotations

from jinja2.ext import extract_from_ast

from blueranch.i18n import SOURCE_LANGUAGE, update_catalogues
from blueranch.models.carbon.report_html import DOMAIN, Words, code_messages, environment, template_source


class TemplateMessageError(ValueError):
    """A ``t()`` call whose message is not one literal string (it could not be in the catalogue)."""


def template_messages() -> list[str]:
    """Every ``t("...")`` message of the report template, in the order of the template."""
    env = environment(Words(SOURCE_LANGUAGE, "UTC"))
    out = []
    for lineno, _, found in extract_from_ast(env.parse(template_source()), gettext_functions=("t",)):
        message = found[0] if isinstance(found, tuple) else found  # (message, None for each field)
        if not isinstance(message, str):
            raise TemplateMessageError(f"report.html.j2 line {lineno}: t() needs one literal string, got {message!r}")
        out.append(message)
    return out


def messages() -> list[str]:
    """Every message of the report: the template's, then the words behind the codes."""
    return list(dict.fromkeys([*template_messages(), *code_messages()]))


def main() -> None:
    for line in update_catalogues(DOMAIN, messages()):
        print(line)


if __name__ == "__main__":
    main()
