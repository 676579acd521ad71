"""A run's wall and CPU seconds over every leg it ran in: a run cut off (a session's end) and resumed from the states
its stages left would otherwise record only its last leg, and the profile's hours would come out short."""

from __future__ import annotations

import json
import resource
import threading
import time
from pathlib import Path

from mtbert.io import write_json


def cpu_seconds() -> float:
    """CPU time of this process (a run's own: each runs in a fresh one) and of any it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Ledger:
    """Kept in `path` (beside the run's resumable states) every `every` seconds while entered, so that a run killed
    mid-way leaves what it had spent and a later leg adds its own; a leg that returns or raises removes it (its record
    holds the totals, and a rerun of the same run starts from zero)."""

    def __init__(self, path: Path, every: float = 30.0):
        self.path, self.every = Path(path), every
        earlier = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.earlier_wall, self.earlier_cpu = earlier.get("wall_seconds", 0.0), earlier.get("cpu_seconds", 0.0)
        self.legs = earlier.get("legs", 0) + 1
        self._start, self._cpu = time.perf_counter(), cpu_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)

    def totals(self) -> dict:
        """Seconds over every leg so far; `earlier_wall_seconds` only where an earlier leg ran."""
        out = {"wall_seconds": round(self.earlier_wall + time.perf_counter() - self._start, 1),
               "cpu_seconds": round(self.earlier_cpu + cpu_seconds() - self._cpu, 1)}
        return out | ({"legs": self.legs, "earlier_wall_seconds": round(self.earlier_wall, 1)} if self.legs > 1 else {})

    def _write(self) -> None:
        totals = self.totals()
        write_json(self.path, {"wall_seconds": totals["wall_seconds"], "cpu_seconds": totals["cpu_seconds"],
                               "legs": self.legs})

    def _keep(self) -> None:
        while not self._stop.wait(self.every):
            self._write()

    def __enter__(self) -> Ledger:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)
