"""The `mtbert` command: one entry point for everything the project runs.

    mtbert run [DVC ARGS]      the pipeline (dvc repro), with this environment's dvc
    mtbert study ...           a study's (variant, seed) runs, through one of five executors, and its page
    mtbert tables ...          every report's tables beside the published numbers, and claims.md
    mtbert bench ...           the training-step benchmark (reports/performance.md)
    mtbert predict ...         a trained checkpoint on new sentences
    mtbert params ...          check params.yaml, or regenerate docs/params.md
    mtbert profile FILE        a params profile as `dvc exp run` -S flags
    mtbert layout              regenerate docs/layout.md from the module docstrings

`mtbert COMMAND --help` explains each.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from mtbert.tools import tool

# command -> (module, or module:function, whose main(argv) runs it; one line of help)
COMMANDS = {
    "run": (None, "run the DVC pipeline (dvc repro; extra arguments go to dvc repro)"),
    "study": ("mtbert.experiments.cli:study_main", "run a study's variants and seeds, and write its page"),
    "tables": ("mtbert.experiments.cli:tables_main", "run and render every report's tables beside the published "
                                                     "numbers"),
    "bench": ("mtbert.bench.__main__", "time our training step against the transformers loop users write"),
    "predict": ("mtbert.predict.__main__", "score new sentences with a trained checkpoint"),
    "params": ("mtbert.config.params", "validate params.yaml, or regenerate docs/params.md and its JSON schema"),
    "profile": ("mtbert.profiles", "turn a params profile into `dvc exp run` -S flags"),
    "layout": ("mtbert.layout", "regenerate docs/layout.md from the module docstrings"),
}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mtbert", description="One entry point for everything the project runs.",
                                 epilog="`mtbert COMMAND --help` explains each command.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)  # each command parses (and explains) its own arguments
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        command, rest = argv[0], argv[1:]
    else:
        parser().parse_args(argv)  # prints the usage (or --help) and exits
        return 2
    module, _ = COMMANDS[command]
    if module is None:
        if rest[:1] in (["-h"], ["--help"]):
            print("usage: mtbert run [DVC REPRO ARGS]\n\n" + COMMANDS["run"][1])
            return 0
        from mtbert.config import ConfigError
        from mtbert.config.params import check_file

        try:
            check_file()  # every section at once, before any stage runs
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return subprocess.run([tool("dvc"), "repro", *rest]).returncode
    module, _, function = module.partition(":")
    result = getattr(importlib.import_module(module), function or "main")(rest)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
