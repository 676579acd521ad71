"""Experiments: variants of params x seeds at a budget, run through one runner and one of five executors, kept in a
results store, and read as pages and verdicts.

    study.py       the study model (plain studies and table studies; `Run`: one variant and seed)
    provenance.py  the code id a record is current for; runners refuse uncommitted inputs
    runner.py      what is missing, run through an executor, each record stamped into the store as it arrives
    executors/     dvc (sequential), queue, local and slurm (submitit), direct (dvc.yaml's stages without DVC)
    workspace.py   scratch workspaces running dvc.yaml's stage list (direct executor, dry run)
    analysis/      statistics over seeds: intervals, gates, verdicts, claims, the seed plan
    pages/         the study pages, the README headline, the tables and claims pages
    cli.py         `mtbert study` and `mtbert tables`
"""
