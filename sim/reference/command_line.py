"""The ``podsim`` command line, read from its real parser, and its exit codes.

Subcommands, arguments, defaults and help come from
:func:`sim.cli.build_parser` (nothing is copied); the exit codes from the
constants of :mod:`sim.cli` and the ``Exit codes of ``sweep``:`` list in the
docstring of :mod:`sim.experiment.cli`.
"""
from __future__ import annotations

import argparse
import inspect
import re

from .markdown import code, table

EXIT_MEANINGS = {
    "EXIT_OK": "success",
    "EXIT_BUG": "a failure of the simulator itself (a bug): the traceback is printed, then "
                "`podsim: internal error`",
    "EXIT_BAD_INPUT": "bad input: each problem printed as `path.to.field: what is wrong (got VALUE)`, "
                      "never a traceback",
}
"""Meanings of the exit-code constants of :mod:`sim.cli` (every subcommand)."""
INTERRUPTED = 130
"""Ctrl-C: ``sim.cli.main`` prints ``interrupted`` and exits 130."""


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """Name -> (help, parser) of each subcommand, in the parser's order."""
    for action in parser._actions:  # argparse has no public walk of subparsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (helps.get(name, ""), sub) for name, sub in action.choices.items()}
    return {}


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    return action.metavar or action.dest.upper()


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, [], argparse.SUPPRESS) or not action.option_strings:
        return ""
    return code(action.default)


def _usage(name: str, parser: argparse.ArgumentParser) -> str:
    words = [f"podsim {name}"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            words.append(_value(action))
            continue
        flag = action.option_strings[-1] + (f" {_value(action)}" if action.nargs != 0 else "")
        if isinstance(action, argparse._AppendAction):
            flag += " ..."
        words.append(f"[{flag}]")
    return " ".join(words)


def subcommand_rows(parser: argparse.ArgumentParser) -> list[tuple[str, str, str, str]]:
    """(argument, value, default, help) of each argument but ``--help``."""
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = ", ".join(action.option_strings) or _value(action)
        rows.append((code(name), code(_value(action)) if action.option_strings else "",
                     _default(action), action.help or ""))
    return rows


def sweep_exit_codes() -> dict[int, str]:
    """Code -> meaning, from the ``Exit codes of ``sweep``:`` list of :mod:`sim.experiment.cli`."""
    from ..experiment import cli
    doc = inspect.getdoc(cli) or ""
    block = doc.split("Exit codes of ``sweep``:", 1)[-1]
    codes: dict[int, str] = {}
    for item in re.split(r"\n- ", "\n" + block.strip())[1:]:
        number, text = item.split(":", 1)
        codes[int(number)] = " ".join(text.split()).replace("``", "`").rstrip(";")
    return codes


def exit_codes() -> dict[int, str]:
    """Code -> meaning of every subcommand (the sweep's are listed apart)."""
    from .. import cli
    codes = {getattr(cli, name): text for name, text in EXIT_MEANINGS.items()}
    codes[INTERRUPTED] = "interrupted (Ctrl-C)"
    return dict(sorted(codes.items()))


def section() -> str:
    """Section 1: the command line."""
    from ..cli import build_parser
    parser = build_parser()
    parts = ["## 1. Command line",
             (parser.description or "") + " The command is `podsim` (also `python -m sim.cli`)."]
    for name, (summary, sub) in _subcommands(parser).items():
        parts.append(f"### `podsim {name}`")
        parts.append(f"{summary[:1].upper()}{summary[1:]}.\n\n```\n{_usage(name, sub)}\n```")
        parts.append(table(["argument", "value", "default", "help"], subcommand_rows(sub)))
    parts.append("### Exit codes")
    parts.append(table(["code", "meaning"], [(code(c), t) for c, t in exit_codes().items()]))
    parts.append("`podsim sweep` (`sim.experiment.cli`) refines them:")
    parts.append(table(["code", "meaning"], [(code(c), t) for c, t in sweep_exit_codes().items()]))
    return "\n\n".join(parts)
