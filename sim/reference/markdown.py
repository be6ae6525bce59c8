"""Markdown helpers of the reference document: tables and inline code, escaped."""
from __future__ import annotations

import inspect
import re
from typing import Iterable, Sequence


def cell(text: object) -> str:
    """One table cell: newlines folded, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: object) -> str:
    """Inline code, or an empty cell for an empty value."""
    text = str(text)
    return f"`{text}`" if text else ""


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """Docstring markup as Markdown: ````x```` -> ```x```, ``:class:`~a.B``` -> ```B```."""
    text = _ROLE.sub(lambda m: "`" + (m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~") else
                                      m.group(1)) + "`", text)
    return text.replace("``", "`")


def first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line, in Markdown ('' without one)."""
    if not doc:
        return ""
    text = inspect.cleandoc(doc)
    return rst_to_markdown(" ".join(text.split("\n\n", 1)[0].split()))

