"""The `mtbert` command: `mtbert predict ...` (a trained checkpoint on new sentences)."""

from __future__ import annotations

import sys

COMMANDS = {"predict": "mtbert.predict.__main__"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: mtbert {{{','.join(COMMANDS)}}} ...  (mtbert predict --help)", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
