"""reports/tables/<report>.md: every published table with our numbers beside it, and a heat map for a sweep."""

from __future__ import annotations

import math
from pathlib import Path

from mtbert.experiments.analysis.cost import cost_line
from mtbert.experiments.analysis.curves import curves_figure, gains_table, marks
from mtbert.experiments.analysis.ours import STALE_MARK, Cell, cell, is_stale, metric_of_column, row_variants
from mtbert.experiments.pages.setup import differences
from mtbert.experiments.published import METRIC_COLUMNS, Published, Report, Table, is_nan
from mtbert.experiments.study import Study

OUT = Path("reports/tables")
SETUP = ("all-MiniLM-L6-v2 (6 layers, 384 hidden; trained with mean pooling and on Quora duplicates, so its Quora "
         "numbers are contaminated) where the reports fine-tuned bert-base; SST and STS on the CS224N splits; Quora "
         "on the offline re-split of CS224N's 20,212 labelled dev pairs (80/10/10, no question shared across splits), "
         "not the 141,506-pair training file; budgets far below the reports' (see the profile)")


def _fmt(value) -> str:
    if is_nan(value):
        return "NaN"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.0e}"
    return str(value)


def _delta(ours: Cell, published) -> str:
    if ours.n == 0 or not isinstance(published, (int, float)) or is_nan(published):
        return ""
    return f" ({ours.mean - published:+.3f})"


def floor_rows(table: Table, reference: dict) -> list[str]:
    """The floors beside the rows, on the table's split: the majority class and the frozen-probe reference (our
    checkpoint untouched, a logistic regression or threshold on its frozen embeddings: the `reference` stage)."""
    split = table.split or "dev"
    rows = []
    for label, source in (("majority class", "majority"), ("frozen probe (`reference` stage)", "no_finetuning")):
        values = reference.get(source, {}).get(split, {})
        cells = []
        for column in table.columns:
            metric = METRIC_COLUMNS.get(column)
            cells.append(f"*{values[metric]:.3f}*" if metric in values else ("*0.500* (chance)" if metric == "cfimdb_acc"
                                                                                and source == "majority" else "–"))
        if any(c != "–" for c in cells):
            rows.append(f"| *{label}* | | " + " | ".join(cells) + " |")
    return rows


def results_table(table: Table, study: Study | None, results: dict[str, dict], code: str | None = None,
                  reference: dict | None = None) -> list[str]:
    """Each published row, each metric column as `published · ours [95% CI] (ours − published)`, then the floors."""
    header = ["row", "seeds"] + [table.columns[c] for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|" + "---:|" * len(table.columns)]
    for row in table.rows:
        variants = row_variants(study, table, row.row) if study else {}
        cells, seeds = [], set()
        for column in table.columns:
            published = row.values.get(column, "")
            text = _fmt(published) if published != "" else "–"
            metric_variant = next(((n, metric_of_column(v, column)) for n, v in variants.items()
                                   if metric_of_column(v, column)), None)
            if metric_variant:
                ours = cell(study, results, metric_variant[0], metric_variant[1], table.split or "dev", code)
                seeds.add(ours.n)
                text += f" · **{ours.text()}**{_delta(ours, published)}"
            cells.append(text)
        reason = study.not_run.get(row.row) if study else None
        n = "/".join(str(s) for s in sorted(seeds)) if seeds else ("not run" if reason else "–")
        lines.append(f"| {row.row} | {n} | " + " | ".join(cells) + " |")
        if reason:
            lines.append(f"| ↳ *not run here: {reason}* | | " + " | " * (len(table.columns) - 1) + " |")
    return lines + floor_rows(table, reference or {})


def setup_table(table: Table) -> list[str]:
    header = ["row"] + [table.columns[c] for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        lines.append(f"| {row.row} | " + " | ".join(_fmt(row.values.get(c, "–")) for c in table.columns) + " |")
    return lines


def data_table(table: Table, ours: dict[str, dict[str, int]]) -> list[str]:
    """Dataset sizes: published · ours (our prepared splits)."""
    lines = ["| dataset | " + " | ".join(table.columns.values()) + " |", "|---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        mine = ours.get(row.row.lower(), {})
        lines.append(f"| {row.row} | " + " | ".join(
            f"{row.values[c]:,} · **{mine[c]:,}**" if c in mine else f"{row.values[c]:,}" for c in table.columns) + " |")
    return lines


def sweep_figure(table: Table, study: Study, results: dict[str, dict], target: Path, metric: str = "overall") -> Path:
    """Heat maps of `metric` over the sweep's first two axes, one panel per value of the third, published above ours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from mtbert.io import atomic_path

    axes = list(study.grid.axes.values())
    names = list(study.grid.axes)
    a, b, c = axes
    variants = study.grid.expand()
    fig, grid = plt.subplots(2, len(c.values), figsize=(3.2 * len(c.values), 5.6), squeeze=False)
    for k in range(len(c.values)):
        for r, source in enumerate(("published", "ours")):
            m = np.full((len(a.values), len(b.values)), np.nan)
            for i in range(len(a.values)):
                for j in range(len(b.values)):
                    labels = {names[0]: a.label(i), names[1]: b.label(j), names[2]: c.label(k)}
                    name = study.grid.name.format(**labels)
                    if source == "published":
                        value = table.row(variants[name].row).values.get("overall", math.nan)
                    else:
                        value = cell(study, results, name, metric, table.split or "dev").mean
                    m[i, j] = value
            ax = grid[r][k]
            ax.imshow(m, vmin=0.4, vmax=0.8, cmap="viridis")
            for i in range(len(a.values)):
                for j in range(len(b.values)):
                    ax.text(j, i, "NaN" if np.isnan(m[i, j]) else f"{m[i, j]:.3f}", ha="center", va="center",
                            color="white" if np.isnan(m[i, j]) or m[i, j] < 0.6 else "black", fontsize=8)
            ax.set_xticks(range(len(b.values)), [b.label(j) for j in range(len(b.values))])
            ax.set_yticks(range(len(a.values)), [a.label(i) for i in range(len(a.values))])
            ax.set_xlabel(names[1])
            ax.set_ylabel(names[0])
            ax.set_title(f"{source}, {names[2]} {c.label(k)}", fontsize=9)
    fig.suptitle(f"{table.table}: dev overall score, published (top) and ours (bottom)")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100, format="png", metadata={"Software": None})
    plt.close(fig)
    return target


def profile_line(studies: list[Study], results: dict[str, dict[str, dict]], profile: str,
                 code: str | None = None) -> str:
    records = [r for s in studies for r in results.get(s.name, {}).values()]
    commits = sorted({r.get("commit", "?") for r in records})
    stale = sum(is_stale(r, code) for r in records)
    return (f"Ours: profile `{profile}` (`profiles/tables/{profile}.yaml` plus each study's own `profiles.{profile}`), "
            f"computed at commit(s) {', '.join(f'`{c}`' for c in commits) or '— (nothing run yet)'}. "
            + cost_line(records)
            + (f" {STALE_MARK} marks a number with any of the {stale} runs made by older pipeline code than this "
               "commit's or with params the study has changed since (`make tables` reruns them)." if stale else "")
            ).rstrip()


def render_report(rid: str, report: Report, studies: dict[str, Study], results: dict[str, dict[str, dict]],
                  profile: str, data_sizes: dict[str, dict[str, int]], out: Path = OUT, code: str | None = None,
                  published: Published | None = None, reference: dict | None = None,
                  compared: dict[str, list[str]] | None = None, base: dict | None = None) -> str:
    """The page of one report; figures are written beside it. `compared`: per study, the arms its claims compare
    (their dev curves are drawn); `reference`: reference.json (the floors); `base`: the profile's params."""
    mine = [s for s in studies.values() if s.report == rid]
    lines = [f"# Report {rid}: {report.title}", "",
             f"Published numbers from `../shared/seeds/{report.file}`, transcribed in `reports/published.yaml`. "
             + profile_line(mine, results, profile, code), "",
             "Each cell: **published** · **ours** as the mean over seeds with its 95% t interval (one seed: no "
             "interval), then (ours − published). Our setup differs from every report's: " + SETUP + ".", ""]
    if report.figures_only:
        lines += [f"*Figures only:* {report.figures_only.strip()}", ""]
    for table in report.tables:
        study = next((s for s in mine if s.table == table.id), None)
        res = results.get(study.name, {}) if study else {}
        lines += [f"## {table.table}: {table.caption}", ""]
        if table.setup:
            lines += ["Published setup: " + "; ".join(f"{k} {v}" for k, v in table.setup.items()) + ".", ""]
        if study:
            lines += [f"Study `studies/tables/{study.name}.yaml`: {study.description.strip()}", ""]
        if table.kind == "results":
            lines += [f"Split: {table.split}.", "", *results_table(table, study, res, code, reference), ""]
        elif table.kind == "data":
            lines += ["Ours: the prepared splits (Quora: the offline re-split).", "", *data_table(table, data_sizes), ""]
        else:
            lines += [*setup_table(table), ""]
            if study:
                lines += ["Our runs of this set-up (dev):", "", *run_summary(study, res, code, reference), ""]
        if study and study.grid is not None:
            figure = sweep_figure(table, study, res, out / "figures" / f"{study.name}.{profile}.png")
            lines += [f"![{table.table} heat map](figures/{figure.name})", ""]
        if study and published is not None and base is not None:
            source = studies.get(study.same_runs_as) if study.same_runs_as else None
            diffs = differences(published, study, profile, base, source)
            if diffs:
                lines += ["Setup differences from the report beyond the shared ones above (generated from the params "
                          "our runs used against the report's setup fields):", ""] + [f"- {d}" for d in diffs] + [""]
        arms = (compared or {}).get(study.name, []) if study else []
        if arms and not study.same_runs_as:
            figure = curves_figure(study, res, arms, out / "figures" / f"{study.name}.{profile}.curves.png",
                                   f"{table.table}: dev after each epoch, mean over seeds (compared arms)")
            if figure is not None:
                lines += [f"Dev curves of the compared arms (the mean over seeds, to the epochs every seed "
                          f"reached) and each one's gain over its last epoch, each run read at its own end. "
                          f"{marks()}. An arm with either mark did not level off: the undertrained gate of claims.md.",
                          "",
                          f"![{table.table} dev curves](figures/{figure.name})", "",
                          *gains_table(study, res, arms), ""]
        if study and study.notes:
            lines += [f"*Notes:* {study.notes.strip()}", ""]
    return "\n".join(lines)


def run_summary(study: Study, results: dict[str, dict], code: str | None = None,
                reference: dict | None = None) -> list[str]:
    """Our runs of a set-up table's rows on dev, then the same floors as a results table (majority class, frozen probe)."""
    metrics = ("sst_acc", "quora_acc", "sts_pearson", "overall")
    lines = ["| variant | what | " + " | ".join(metrics) + " |", "|---|---|" + "---:|" * len(metrics)]
    for name, v in study.all_variants().items():
        what = v.about or v.row
        lines.append(f"| {name} | {what} | " + " | ".join(cell(study, results, name, m, "dev", code).text() for m in metrics) + " |")
    for label, source in (("majority class", "majority"), ("frozen probe (`reference` stage)", "no_finetuning")):
        values = (reference or {}).get(source, {}).get("dev", {})
        if values:
            lines.append(f"| *{label}* | | " + " | ".join(f"*{values[m]:.3f}*" if m in values else "–" for m in metrics)
                         + " |")
    return lines


def render_all(published: Published, studies: dict[str, Study], results: dict[str, dict[str, dict]],
               profile: str, data_sizes: dict[str, dict[str, int]], out: Path = OUT,
               code: str | None = None, reference: dict | None = None, compared: dict[str, list[str]] | None = None,
               base: dict | None = None) -> list[Path]:
    from mtbert.io import write_text

    written = []
    for rid, report in published.reports.items():
        target = out / f"{rid}.md"
        write_text(target, render_report(rid, report, studies, results, profile, data_sizes, out, code, published,
                                         reference, compared, base) + "\n")
        written.append(target)
    return written
