"""Studies: variants of params at one named budget, each run as a DVC experiment (per seed), and their reports.

    mtbert study run studies/methods.yaml      # one `dvc exp run` per variant and seed, results collected
    mtbert study report studies/methods.yaml   # reports/<study>.md from the collected results

spec.py reads a study file, runner.py runs and collects, stats.py summarises over seeds, render.py writes the page.
"""

from mtbert.study.render import render
from mtbert.study.spec import load_study

__all__ = ["load_study", "render"]
