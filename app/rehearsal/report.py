"""The rehearsal's report as plain data (JSON-safe): per stage how many files entered, moved on,
failed the ballot, stalled or were abandoned, with the reasons; the findings; the cast. Also its
plain-text form (the CLI) and its spreadsheet (.xlsx)."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l

STAGES = ("apply", "notice", "offices", "agency_check", "fee", "review", "results", "certificate")
STAGE_LABELS = {
    "apply": _l("申报提交"), "notice": _l("单位公示"), "offices": _l("逐级审核推荐"),
    "agency_check": _l("评审服务机构审核"), "fee": _l("缴费"), "review": _l("评审会（抽取专家、表决）"),
    "results": _l("结果公示与确认"), "certificate": _l("发证"),
}
CAUSE_LABELS = {
    "no_plan": _l("没有本年度计划"), "config": _l("配置错误"), "calendar": _l("缺少工作日历"),
    "closes_on_day_off": _l("截止日不是工作日"), "window_order": _l("阶段截止早于上一阶段"),
    "notice_cannot_fit": _l("公示期无法在截止前结束"),
    "notice_tail": _l("申报期最后几天提交的申报来不及公示"), "route_no_office": _l("报送路径缺少审核单位"),
    "committee_no_filing": _l("评委会未备案"), "quota_too_small": _l("名额少于已分配数"),
    "too_few_experts": _l("回避后可抽取专家不足"), "no_committee": _l("没有受理的评委会"),
    "fee": _l("缴费设置"), "synthetic_experts": _l("使用模拟专家"), "route_unused": _l("未被演练覆盖的报送路径"),
}

SEVERITY_LABELS = {"problem": _l("问题"), "warning": _l("注意"), "note": _l("提示")}


def build_report(sim) -> dict:
    """The report of a finished Simulation (called inside the sandbox's app context)."""
    from ..extensions import db
    from ..models import Application
    from ..workflow.routing import matching_rule
    from .simulate import FINAL
    rows = []
    finals = Counter()
    rules_used: set[int] = set()
    for t in sim.tracks:
        a = db.session.get(Application, t.app_id) if t.app_id else None
        finals[a.status if a else "not_created"] += 1
        if a is not None and a.route:
            rule = matching_rule(sim.cfg, a, a.employer)
            if rule is not None:
                rules_used.add(sim.cfg.routing.route.index(rule))
        t.final = a.status if a else None
    for stage in STAGES:
        if stage == "fee" and not sim.cfg.policies.fee_required:
            continue  # the tenant charges no fee
        entered = [t for t in sim.tracks if stage in t.reached or t.lost_stage == stage
                   or (stage == "apply" and t.app_id is None)]  # refused a draft at all
        lost = [t for t in entered if t.lost_stage == stage]
        stalled = [t for t in entered if t.stage == stage and t.final not in FINAL]
        failed = [t for t in entered if stage == "review" and t.final == "failed"]
        reasons = Counter()
        for t in lost:
            reasons[("abandoned", t.lost_reason)] += 1
        for t in stalled:
            reasons[("stalled", t.error or t.group_error or _stall(t))] += 1
        rows.append({"stage": stage, "entered": len(entered),
                     "moved": len(entered) - len(lost) - len(stalled) - len(failed),
                     "failed": len(failed), "stalled": len(stalled), "abandoned": len(lost),
                     "reasons": [{"kind": k, "reason": r, "count": n}
                                 for (k, r), n in reasons.most_common()]})
    findings = list(sim.findings)
    for i, rule in enumerate(sim.cfg.routing.route):
        if sim.tracks and i not in rules_used:
            when = ", ".join(f"{k}={v}" for k, v in rule.when.items()) or "默认"
            findings.append({"cause": "route_unused", "stage": "offices", "severity": "note",
                             "detail": f"routing.toml 第 {i + 1} 条路径（{when}）没有演练申报经过。"})
    kinds = Counter(k for t in sim.tracks for k in t.case.kind)
    problems = [f for f in findings if f["severity"] == "problem"]
    trouble = sum(r["stalled"] + r["abandoned"] for r in rows)
    return {
        "tenant": sim.cfg.slug, "year": sim.year, "size": sim.size,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": len(sim.tracks), "clean": not problems and not trouble,
        "stages": rows, "findings": findings, "outcomes": dict(finals),
        "plans": [p.code for p in getattr(sim, "plans", [])],
        "cast": {"kinds": dict(kinds), "experts": getattr(sim, "pools", {}),
                 "routes_used": len(rules_used), "routes": len(sim.cfg.routing.route)},
    }


def _stall(t) -> str:
    return {"results": "评审通过，但公示结束后未发证", "review": "未能进入评审会"}.get(
        t.stage, "没有可执行的下一步")


def stage_label(code: str) -> str:
    return str(STAGE_LABELS.get(code, code))


def cause_label(code: str) -> str:
    return str(CAUSE_LABELS.get(code, code))


def text(report: dict) -> str:
    """The report as the CLI prints it."""
    out = [f"演练 {report['tenant']} {report['year']}（{report['size']}）：{report['files']} 份申报，"
           f"计划 {', '.join(report['plans'])}",
           "结论：" + ("通过，未发现问题" if report["clean"] else "发现问题"), ""]
    out.append(f"{'阶段':<16}{'进入':>6}{'通过':>6}{'未通过':>6}{'停滞':>6}{'放弃':>6}")
    for r in report["stages"]:
        out.append(f"{stage_label(r['stage']):<16}{r['entered']:>6}{r['moved']:>6}"
                   f"{r['failed']:>6}{r['stalled']:>6}{r['abandoned']:>6}")
        for x in r["reasons"]:
            kind = "停滞" if x["kind"] == "stalled" else "放弃"
            out.append(f"    {kind} ×{x['count']}：{x['reason']}")
    out.append("")
    problems = [f for f in report["findings"] if f["severity"] == "problem"]
    warnings = [f for f in report["findings"] if f["severity"] == "warning"]
    notes = [f for f in report["findings"] if f["severity"] == "note"]
    out.append(f"问题 {len(problems)} 项" + ("：" if problems else "。"))
    for f in problems:
        out.append(f"  [{cause_label(f['cause'])}] {f['detail']}")
    if warnings:
        out.append(f"注意 {len(warnings)} 项：")
        for f in warnings:
            out.append(f"  [{cause_label(f['cause'])}] {f['detail']}")
    if notes:
        out.append(f"提示 {len(notes)} 项：")
        for f in notes:
            out.append(f"  [{cause_label(f['cause'])}] {f['detail']}")
    return "\n".join(out)


def workbook(report: dict) -> bytes:
    """The report as an .xlsx: the stages with their reasons, then the findings."""
    import io

    from openpyxl import Workbook

    from ..spreadsheets import append
    wb = Workbook()
    ws = wb.active
    ws.title = str(_l("各阶段"))
    append(ws, [str(_l("演练")), report["tenant"], report["year"], report["size"],
                str(_l("通过")) if report["clean"] else str(_l("发现问题"))])
    append(ws, [str(_l("阶段")), str(_l("进入")), str(_l("通过")), str(_l("未通过")),
                str(_l("停滞")), str(_l("放弃")), str(_l("原因"))])
    for r in report["stages"]:
        append(ws, [stage_label(r["stage"]), r["entered"], r["moved"], r["failed"],
                    r["stalled"], r["abandoned"], ""])
        for x in r["reasons"]:
            kind = str(_l("停滞")) if x["kind"] == "stalled" else str(_l("放弃"))
            append(ws, ["", "", "", "", "", "", f"{kind} ×{x['count']}：{x['reason']}"])
    fs = wb.create_sheet(str(_l("发现的问题")))
    append(fs, [str(_l("类别")), str(_l("阶段")), str(_l("严重程度")), str(_l("说明"))])
    for f in report["findings"]:
        append(fs, [cause_label(f["cause"]), stage_label(f["stage"]),
                    str(SEVERITY_LABELS.get(f["severity"], f["severity"])), f["detail"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
