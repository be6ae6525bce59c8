"""The command line's own inputs, checked before anything runs.

Every mistake a newcomer makes on the command line becomes one clear line and
exit 2, never a traceback and never a surprise after a long run: a typo'd
command or option (with "did you mean"), ``--set KEY VALUE`` without ``=``,
an unknown ``--service``, an output path that cannot be written, a negative
seed. Scenario warnings (bare numbers that look like a forgotten unit) are
printed as ``podsim: warning: ...`` on stderr and do not change the exit code.
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

from .errors import Problem, ScenarioError

_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")


def did_you_mean(given: str, known: Sequence[str]) -> str:
    """'; did you mean 'x'?' for the closest of ``known``, or ''."""
    close = difflib.get_close_matches(given, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


class Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for a typo'd command, choice or option."""

    def error(self, message: str) -> None:  # argparse's hook: print usage, exit 2
        choice = _INVALID_CHOICE.search(message)
        if choice:
            known = [c.strip(" '") for c in choice.group("choices").split(",")]
            given = choice.group("given")
            what = "command" if message.startswith("argument command") else "value"
            message = f"unknown {what} {given!r}{did_you_mean(given, known)} (choose from {', '.join(known)})"
        elif message.startswith("unrecognized arguments: "):
            message += self._option_hint(message.split(": ", 1)[1].split())
        super().error(message)

    def _option_hint(self, words: list[str]) -> str:
        options = [o for action in self._actions for o in action.option_strings]
        for word in words:
            if word.startswith("-"):
                hint = did_you_mean(word.split("=", 1)[0], options)
                if hint:
                    return hint
        return ""


def checked_seed(text: str) -> int:
    """``--seed``: a whole number >= 0 (argparse type)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (got {text!r})") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {seed})")
    return seed


def bounded_int(high: int, what: str):
    """An argparse type: a count in ``[1, high]`` (``what`` says why the bound)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:,} ({what}; got {value:,})")
        return value
    return parse


def positive_int(text: str) -> int:
    """A count that must be >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (got {value})")
    return value


def checked_record(text: str) -> str:
    """``--record``: full, sample, summary or sample:N with N >= 1 (argparse
    type), checked by the scenario's own parser of that form
    (:class:`sim.spec.measure.RecordSpec`), so both say the same."""
    from .spec.measure import record_level
    try:
        record_level(text)
    except ScenarioError as error:
        raise argparse.ArgumentTypeError(f"{error.problems[0].message} (got {text!r})") from None
    return text


def _word_after(argv: Sequence[str], text: str, extras: Sequence[str]) -> Optional[str]:
    """The stray word after ``--set TEXT`` (``--set duration 10`` -> ``10``)."""
    for i in range(len(argv) - 2):
        if argv[i] == "--set" and argv[i + 1] == text and argv[i + 2] in extras:
            return argv[i + 2]
    return None


def overrides(assignments: Sequence[str], argv: Sequence[str] = (),
              extras: Sequence[str] = ()) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as a mapping; every malformed one reported at once."""
    from .spec.overrides import parse_assignment
    parsed: dict[str, Any] = {}
    problems: list[Problem] = []
    for text in assignments or ():
        try:
            key, value = parse_assignment(text, _word_after(argv, text, extras))
        except ScenarioError as exc:
            problems += exc.problems
            continue
        parsed[key] = value
    if problems:
        raise ScenarioError(problems, source="--set")
    return parsed


def load_scenario(args, argv: Sequence[str] = (), extras: Sequence[str] = ()):
    """The scenario of ``args`` with its ``--set`` overrides; warnings go to stderr."""
    from .spec import load
    from .spec.bare_numbers import ScenarioWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        scenario = load(args.scenario, overrides(args.set, argv, extras))
    for warning in caught:
        if issubclass(warning.category, ScenarioWarning):
            print(f"podsim: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return scenario


def check_run_outputs(args, scenario) -> None:
    """Problems of ``podsim run``'s own options, found before the run starts."""
    problems: list[Problem] = []
    if args.service is not None and args.service not in scenario.services:
        known = list(scenario.services)
        problems.append(Problem("--service", f"no service named {args.service!r}"
                                             f"{did_you_mean(args.service, known)} (known: {', '.join(known)})",
                                args.service))
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        problems.append(Problem("--out", "is a file; --out takes a directory", args.out))
    if args.plot is not None:
        problems += _plot_problems(args.plot)
    if problems:
        raise ScenarioError(problems, source="podsim run")
    if args.service is not None and args.plot is None:
        print("podsim: warning: --service only chooses the service of the --plot timeline; "
              "without --plot it does nothing", file=sys.stderr)


def _plot_problems(plot: str) -> list[Problem]:
    path = Path(plot)
    if path.is_dir():
        return [Problem("--plot", "is a directory; --plot takes a file such as timeline.png", plot)]
    from matplotlib.backend_bases import FigureCanvasBase
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = path.suffix.lstrip(".").lower()
    if suffix not in formats:
        return [Problem("--plot", f"unknown figure format {suffix or '(none)'!r}"
                                  f"{did_you_mean(suffix, formats)} (use .png, .svg or .pdf)", plot)]
    return []


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The sub-parser of command ``name`` (for its own usage line and options)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    return parser
