"""``python -m sim.reference [PATH]``: write ``docs/reference.md`` (to PATH,
atomically, or to stdout), after checking the descriptions against the code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from . import problems, render


def main(argv: list[str]) -> int:
    found = problems()
    if found:
        print("docs/reference.md: the descriptions and the code disagree "
              "(edit sim/reference/):\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    text = render()
    if not argv:
        sys.stdout.write(text)
        return 0
    path = Path(argv[0])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
