"""Tier-report benchmark: one Chifeng county HR office has forwarded N files of one plan; the
whole report job (the RQ job `build_tier_report`, which calls `reports.generate`) writes the
rosters, the recommendation report PDF and the statistics table. Seconds and peak RSS per size.

    .venv/bin/python bench/report_bench.py [--sizes 5000,50000,200000] [--chunk 2000]
    .venv/bin/python bench/report_bench.py --profile 50000   # where one job's seconds go

Each size is seeded (bulk inserts) into a throwaway SQLite database in a temporary folder, with
fresh random secrets, and the job runs in a fresh child process, so the peak RSS
(getrusage ru_maxrss of that child) is the job's own, the app's start included. Beside it, in the
same run, as many 16-column rows written by the bare library the job writes its rosters with
(rustpy_xlsxwriter, the Rust writer the job uses, `_vs_rustpy_xlsxwriter`), by XlsxWriter in
constant-memory mode (`_vs_xlsxwriter`), and by openpyxl's write-only mode
(`_vs_openpyxl`), both of which the job used before. Figures go to bench/results.json as
{"tier_report_50k_s": {"value": 4.2, "unit": "s"}, "tier_report_50k_peak_mb": {...}, ...}."""
from __future__ import annotations

import argparse
import base64
import cProfile
import io
import pstats
import json
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import figure, record, show  # noqa: E402

SIZES = (5_000, 50_000, 200_000)
TENANT, PLAN, OFFICE, COMMITTEE = "chifeng", "cf-2026-senior", "cf-hr-aohan", "nm-eng-senior"
BATCH = 10_000
UNITS = 300
# (series, specialties) the forwarded files spread over, and the plan's two levels.
SERIES = [("engineering", ["construction", "mechanical", "water"]), ("economics", [None]),
          ("accounting", [None]), ("agriculture", [None]), ("health", [None])]
LEVELS = ("associate_senior", "senior")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def secret_config() -> dict:
    """Fresh random secrets: the benchmark's data is throwaway, never the deployment's."""
    from app.workflow.crypto import new_key
    return {"SECRET_KEY": secrets.token_urlsafe(32),
            "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(32),
            "DATA_KEYS": f"b1:{new_key()}", "DATA_HASH_KEY": new_key(),
            "AUDIT_KEY": secrets.token_urlsafe(32),
            "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}


def make_app(url: str, uploads: str, secret: dict):
    from app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
                       "UPLOAD_DIR": uploads, "JOBS_INLINE": True,
                       "PUBLIC_BASE_URL": "http://127.0.0.1:5000", **secret})


def _next_id(table) -> int:
    import sqlalchemy as sa

    from app.extensions import db
    return (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def seed(n: int, units: int = UNITS) -> dict:
    """`n` files forwarded by the office: applicant, employer, basic facts, an education and a
    work entry, the employer's and the office's recommendations; all inserted in batches."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Application, Committee, Entry, Org, Plan, ReviewStep, Tenant, User
    tenant_id = db.session.scalar(sa.select(Tenant.id).filter_by(slug=TENANT))
    plan_id = db.session.scalar(sa.select(Plan.id).filter_by(tenant_id=tenant_id, code=PLAN))
    office_id = db.session.scalar(sa.select(Org.id).filter_by(tenant_id=tenant_id, code=OFFICE))
    committee_id = db.session.scalar(sa.select(Committee.id).filter_by(tenant_id=tenant_id,
                                                                       code=COMMITTEE))
    unit0 = _next_id(Org.__table__)
    db.session.execute(sa.insert(Org), [
        {"id": unit0 + i, "tenant_id": tenant_id, "code": f"bench-unit-{unit0 + i}",
         "name": f"敖汉旗第{unit0 + i}测试单位", "kind": "employer", "tier": "county",
         "district": "aohan", "employer_kind": "non_public" if i % 5 == 0 else "state_owned"}
        for i in range(units)])
    user0, app0, entry0, step0 = (_next_id(t.__table__) for t in (User, Application, Entry,
                                                                   ReviewStep))
    employer_at = datetime(2026, 6, 29, 1, tzinfo=timezone.utc)
    office_at = datetime(2026, 7, 2, 2, tzinfo=timezone.utc)
    combos = [(s, sp, lv) for s, specs in SERIES for sp in specs for lv in LEVELS]
    for start in range(0, n, BATCH):
        users, apps, entries, steps = [], [], [], []
        for i in range(start, min(start + BATCH, n)):
            series, specialty, level = combos[(i * 5) % len(combos)]
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + \
                GIVEN[(i // 131) % len(GIVEN)]
            unit = unit0 + (i * 13) % units
            users.append({"id": user0 + i, "tenant_id": tenant_id, "username": f"bench-{user0 + i}",
                          "name": name, "role": "applicant", "password_hash": "-",
                          "person_type": "professional", "org_id": unit})
            apps.append({"id": app0 + i, "tenant_id": tenant_id, "applicant_id": user0 + i,
                         "plan_id": plan_id, "committee_id": committee_id, "series": series,
                         "specialty": specialty, "level": level, "person_type": "professional",
                         "employer_org_id": unit, "status": "recommended", "route": [],
                         "holder_org_id": office_id,
                         "policy": "non_public" if i % 23 == 0 else None,
                         "basic": {"name": name, "gender": "female" if i % 2 else "male",
                                   "birth_date": f"{1970 + i % 25}-0{1 + i % 9}-15",
                                   "current_level": "intermediate" if level == LEVELS[0]
                                   else "associate_senior", "title_on": "2015-07-01"}})
            entries.append({"id": entry0 + 2 * i, "application_id": app0 + i,
                            "section": "education",
                            "data": {"school": "内蒙古大学", "major": "机械", "degree": "本科",
                                     "graduated_on": "2007-07-01"}})
            entries.append({"id": entry0 + 2 * i + 1, "application_id": app0 + i,
                            "section": "work", "data": {"org_name": "单位", "position": "工程师",
                                                        "start": "2007-08-01"}})
            steps.append({"id": step0 + 2 * i, "application_id": app0 + i, "org_id": unit,
                          "reviewer_name": "单位审核员", "action": "recommend",
                          "opinion": "同意推荐", "items": [], "at": employer_at})
            steps.append({"id": step0 + 2 * i + 1, "application_id": app0 + i,
                          "org_id": office_id, "reviewer_name": "何平", "action": "recommend",
                          "opinion": f"同意推荐{name}", "items": [],
                          "at": office_at + timedelta(seconds=i)})
        for model, rows in ((User, users), (Application, apps), (Entry, entries),
                            (ReviewStep, steps)):
            db.session.execute(sa.insert(model), rows)
    if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        for model in (Org, User, Application, Entry, ReviewStep):
            table = model.__table__.name
            db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
    db.session.commit()
    return {"tenant_id": tenant_id, "plan_id": plan_id, "office_id": office_id}


def prepare(folder: Path, n: int) -> None:
    """Run in a fresh process: a new database in `folder` holding `n` forwarded files, with
    fresh random secrets kept beside it for the job; prints the ids and the seconds taken."""
    from app.extensions import db
    from app.tenancy import tenants
    from app.tenancy.sync import sync_tenant
    start = time.perf_counter()
    secret = secret_config()
    path = folder / "secrets.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(secret))
    app = make_app(f"sqlite:///{folder}/bench.db", str(folder / "uploads"), secret)
    with app.app_context():
        db.create_all()
        for cfg in tenants().values():
            sync_tenant(cfg)
        ids = seed(n)
        db.session.remove()
        db.engine.dispose()
    print(json.dumps({**ids, "seconds": time.perf_counter() - start}))


def peak_mb() -> float:
    """This process's peak RSS (getrusage ru_maxrss, kB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(folder: Path, n: int, office_id: int, plan_id: int, chunk: int | None) -> None:
    """Run in a fresh process: the whole job over the seeded database; print the figures."""
    import sqlalchemy as sa
    secret = json.loads((folder / "secrets.json").read_text())
    app = make_app(f"sqlite:///{folder}/bench.db", str(folder / "uploads"), secret)
    from app.extensions import db
    from app.jobs.reports import build_tier_report
    from app.models import JobRun
    from app.models.reports import TierReport
    from app.tenancy import tenant_scope
    from app.workflow import reports
    if chunk:
        reports.CHUNK = chunk
    with app.app_context(), tenant_scope(TENANT):
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        written = build_tier_report(TENANT, office_id, plan_id)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        run = db.session.scalar(sa.select(JobRun).order_by(JobRun.id.desc()))
        made = db.session.scalars(sa.select(TierReport)).all()
        sizes = {r.kind + (f"-{r.level}" if r.level else ""):
                 len(reports.read(TENANT, r.stored_name)) for r in made}
        rosters = sum(r.rows for r in made if r.kind == "roster")
        if run.status != "done" or written != n or rosters != n:
            raise SystemExit(f"{n}: job {run.status}, {written} counted, {rosters} on rosters")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "files": sizes}))


def phases(folder: Path, n: int, office_id: int, plan_id: int) -> None:
    """Run in a fresh process: the job once with a clock around each of its phases (app start,
    the order query, the chunks' queries, wording the rows, writing and zipping the rosters,
    the report PDF, the statistics table), then once more under cProfile; prints both."""
    clocks: dict[str, float] = defaultdict(float)

    def timed(owner, name: str, phase: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                clocks[phase] += time.process_time() - start
        setattr(owner, name, wrapper)

    start = time.process_time()
    secret = json.loads((folder / "secrets.json").read_text())
    app = make_app(f"sqlite:///{folder}/bench.db", str(folder / "uploads"), secret)
    from app.jobs.reports import build_tier_report
    from app.tenancy import tenant_scope
    from app.workflow import reports
    clocks["app start-up and imports"] = time.process_time() - start
    # The workbook writer pulls the rows it writes: its clock holds the phases that make them.
    writing = "writing workbooks (spreadsheets.write)"
    for owner, name, phase in (
            (reports, "forwarded", "order query (ids in roster order)"),
            (reports, "_chunk", "chunk queries (rows, steps, education, units)"),
            (reports, "_roster_row", "wording the rows (_roster_row)"),
            (reports._Counts, "add", "counting (_Counts.add)"),
            (reports, "write", writing),
            (reports, "_recommendation", "report PDF (WeasyPrint)"),
            (reports, "_statistics", "statistics table")):
        timed(owner, name, phase)
    with app.app_context(), tenant_scope(TENANT):
        wall, cpu = time.perf_counter(), time.process_time()
        build_tier_report(TENANT, office_id, plan_id)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # The rows' phases run inside the writer's call: take them out of its clock.
        clocks[writing] -= sum(clocks[k] for k in clocks if k.startswith(("chunk", "wording",
                                                                           "counting")))
        print(f"job: {wall:.2f} s wall, {cpu:.2f} s CPU, peak {peak_mb():.0f} MB "
              "(CPU seconds per phase below; the statistics table's writing is in both)")
        for phase, seconds in clocks.items():
            print(f"  {phase:<50} {seconds:7.2f} s")
        print(f"  {'(job CPU not in a timed phase)':<50} "
              f"{cpu - sum(v for k, v in clocks.items() if not k.startswith('app')):7.2f} s")
        prof = cProfile.Profile()
        prof.enable()
        build_tier_report(TENANT, office_id, plan_id)
        prof.disable()
    for order, count in (("cumulative", 45), ("tottime", 30)):
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats(order).print_stats(count)
        print(text.getvalue())


def profile(n: int) -> None:
    """Seed `n` files in a fresh process, then time and profile the job in another."""
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        ids = _run("--seed", tmp, str(n))
        subprocess.run([sys.executable, __file__, "--profile-child", tmp, str(n),
                        str(ids["office_id"]), str(ids["plan_id"])], check=True)


BASELINES = ("rustpy_xlsxwriter", "xlsxwriter", "openpyxl")


def baseline(library: str, n: int) -> None:
    """Run in a fresh process: the same number of 16-column rows written by a bare `library`
    workbook that streams its rows (the Rust writer from a generator of records, XlsxWriter's
    constant-memory mode, openpyxl's write-only mode), nothing else, for comparison in the
    same run."""
    row = ["张伟", "男", "1985-06-15", "敖汉旗第7测试单位", "大学本科", "中级", "2015-07-01",
           "工程", "机械", "副高级", "线上盲审盲评", "按一般条件申报", "同意推荐张伟", "何平",
           "2026-07-02"]
    with tempfile.TemporaryDirectory(prefix="report-baseline-") as tmp:
        path = Path(tmp) / "roster.xlsx"
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        if library == "rustpy_xlsxwriter":
            import rustpy_xlsxwriter
            keys = [f"c{i}" for i in range(16)]  # it takes records: one dict per row
            rustpy_xlsxwriter.write_worksheet(
                (dict(zip(keys, [i, *row])) for i in range(1, n + 1)), str(path),
                sheet_name="roster")
        elif library == "xlsxwriter":
            import xlsxwriter
            wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            ws = wb.add_worksheet("roster")
            for i in range(1, n + 1):
                ws.write_row(i - 1, 0, [i, *row])
            wb.close()
        else:
            from openpyxl import Workbook
            wb = Workbook(write_only=True)
            ws = wb.create_sheet("roster")
            for i in range(1, n + 1):
                ws.append([i, *row])
            wb.save(path)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb()}))


def _run(*args: str) -> dict:
    """A fresh child process of this script; its last line of output, as JSON. This process
    stays small (no app loaded here), so a child's ru_maxrss is the child's own."""
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(n: int, chunk: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        ids = _run("--seed", tmp, str(n))
        result = _run("--child", tmp, str(n), str(ids["office_id"]), str(ids["plan_id"]),
                      *(["--chunk", str(chunk)] if chunk else []))
    result["seeded"] = ids["seconds"]
    result["baseline"] = {lib: _run("--baseline", lib, str(n)) for lib in BASELINES}
    return result


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="numbers of forwarded files, comma-separated")
    parser.add_argument("--chunk", type=int, help="rows read per chunk (default: the job's)")
    parser.add_argument("--profile", type=int, metavar="FILES",
                        help="time the job's phases and profile it in process for this many "
                             "files instead")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--seed", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        prepare(Path(args.seed[0]), int(args.seed[1]))
        return
    if args.baseline:
        baseline(args.baseline[0], int(args.baseline[1]))
        return
    if args.profile:
        profile(args.profile)
        return
    if args.profile_child:
        folder, n, office_id, plan_id = args.profile_child
        phases(Path(folder), int(n), int(office_id), int(plan_id))
        return
    if args.child:
        folder, n, office_id, plan_id = args.child
        child(Path(folder), int(n), int(office_id), int(plan_id), args.chunk)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = {}
    # CPU seconds beside the wall clock: on a shared machine the two part when others run.
    # Each baseline: a bare streamed workbook of as many 16-column rows, same run.
    print(f"{'N':>8} {'seconds':>8} {'cpu s':>8} {'peak MB':>8} {'µs/file':>8} {'seed s':>7} "
          + "".join(f" {lib + ' s':>19} {'cpu s':>6} {'MB':>4}" for lib in BASELINES)
          + "  files (bytes)")
    for n in sizes:
        r = measure(n, args.chunk)
        b = r["baseline"]
        print(f"{n:>8} {r['seconds']:>8.2f} {r['cpu']:>8.2f} {r['peak_mb']:>8.0f} "
              f"{r['seconds'] / n * 1e6:>8.0f} {r['seeded']:>7.1f}"
              + "".join(f" {b[lib]['seconds']:>19.2f} {b[lib]['cpu']:>6.2f} "
                        f"{b[lib]['peak_mb']:>4.0f}" for lib in BASELINES)
              + f"  {r['files']}", flush=True)
        figures[f"tier_report_{label(n)}_s"] = figure(round(r["seconds"], 2), "s")
        figures[f"tier_report_{label(n)}_peak_mb"] = figure(round(r["peak_mb"]), "MB")
        for lib in BASELINES:
            figures[f"tier_report_{label(n)}_vs_{lib}"] = figure(
                round(r["seconds"] / b[lib]["seconds"], 2), "ratio")
    print()
    show(figures)
    path = record(figures)
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
