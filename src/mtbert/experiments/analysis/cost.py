"""What table runs cost: wall-clock time (runs in parallel counted once) and CPU time."""

from __future__ import annotations

from datetime import datetime


def each_run_once(records: list[dict]) -> list[dict]:
    """The records with each run once: a study that shows another's runs (`same_runs_as`) and an arm copied from
    another study's run with the same params (`copied_from`, renamed to its variant) hold the same run again."""
    seen = {}
    for r in records:
        seen.setdefault(tuple(r.get(k) for k in ("seed", "code", "budget", "started", "finished", "wall_seconds",
                                                  "cpu_seconds")), r)
    return list(seen.values())


def elapsed_hours(records: list[dict]) -> float:
    """Wall-clock hours the runs took together: the union of their [started, finished] intervals (runs in parallel
    count once, pauses between sessions not at all), plus the wall time of records without timestamps and of the
    earlier legs of runs cut off and resumed (their intervals cover the last leg only)."""
    spans, loose = [], 0.0
    for r in each_run_once(records):
        loose += r.get("earlier_wall_seconds") or 0
        if r.get("started") and r.get("finished"):
            spans.append((datetime.fromisoformat(r["started"]).timestamp(),
                          datetime.fromisoformat(r["finished"]).timestamp()))
        else:
            loose += r.get("wall_seconds") or 0
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return (total + loose) / 3600


def cost_line(records: list[dict]) -> str:
    """What the runs cost: their count, wall time (runs in parallel counted once) and (where the runner measured it)
    CPU time of every process; each run counted once."""
    records = each_run_once(records)
    if not records:
        return ""
    wall = elapsed_hours(records)
    timed = [r["cpu_seconds"] for r in records if r.get("cpu_seconds") is not None]
    diverged = sum(r.get("status") == "diverged" for r in records)
    cpu = f", {sum(timed) / 3600:.2f} h of CPU time (measured for {len(timed)} of them)" if timed else ""
    return (f"{len(records)} runs" + (f" ({diverged} diverged)" if diverged else "") + f": {wall:.2f} h wall{cpu}.")


def still_to_run(left: dict) -> str:
    """What the profile has left (`pilot.remaining`): runs, the older-code records they replace, hours ahead."""
    replace = f" ({left['older']} replace older-code records, †)" if left["older"] else ""
    ahead = (f", about {left['hours']:.1f} h wall at {left['workers']} at once by each kind's runs so far"
             if left["hours"] is not None else "")
    return f"Still to rerun: {left['runs']} runs{replace}{ahead}."
