"""Rehearse a tenant's year before applicants do: its configuration and its plans of one year
are loaded into a sandbox database (app/rehearsal/sandbox.py), synthetic applicants of every
kind the configuration allows are made (population.py), and every file is moved through every
stage on a simulated clock that steps day by day through the tenant's working calendar
(simulate.py): windows open and close, the deadline jobs fire at their instants, notices run
their working days, sessions draw their panels, ballots pass and fail, certificates issue. The
report (report.py) says per stage how many files moved on, stalled or were abandoned, and why,
beside the static checks of the configuration (checks.py).

The clock: the workflow services read the time themselves in places (the draw, the ballots,
audit rows, created_at columns), so the simulation runs inside `time_machine.travel`, moved to
each simulated instant. That patches the clock of the whole process, so a rehearsal only ever
runs in a process of its own: the `flask rehearse` command, the RQ work-horse (RQ forks one per
job), or — when jobs run inline — a child process spawned for it (jobs/rehearsal.py). A web
process never travels in time."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

SIZES = ("tiny", "small", "full")


def rehearse(slug: str, year: int, tenant_dir: Path, base_config: dict, size: str = "full",
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the rehearsal of `slug`'s plans of `year` from the folder `tenant_dir`; return the
    report as plain data (see report.py). Never touches the caller's database."""
    from .sandbox import sandbox_app
    from .simulate import Simulation
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    with sandbox_app(slug, tenant_dir, base_config) as (app, _folder):
        with app.app_context():
            sim = Simulation(app.extensions["tenants"][slug], year, size, progress)
            return sim.run()
