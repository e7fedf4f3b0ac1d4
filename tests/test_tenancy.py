"""Tenants are folders of TOML, validated at start-up; a third tenant needs no Python."""
import shutil

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Committee, Org, Plan
from app.tenancy import TenantConfigError, load_tenant, tenants
from app.tenancy.sync import sync_tenant

from .conftest import ROOT_TENANTS


def copy_tenant(tmp_path, name="beijing", as_name=None):
    dest = tmp_path / "tenants" / (as_name or name)
    shutil.copytree(ROOT_TENANTS / name, dest)
    return dest


@pytest.mark.parametrize("file,old,new,expect", [
    ("plans/2026.toml", 'closes = 2026-07-30', 'closes = 2026-06-30',
     "key plan.0.windows.apply: Value error, closes is before opens"),
    ("tenant.toml", 'flow = "single_window"', 'flow = "single_windw"', "key flow"),
    ("directory.toml", 'agency = "bj-agency-eng"', 'agency = "bj-agency-nope"',
     "key committee.0.agency"),
    ("policies.toml", 'min_recommenders = 2', 'min_recommenders = "two"',
     "key poge.min_recommenders"),
    ("checklists.toml", 'required_when = "freelancer"', 'required_when = "sometimes"',
     "key material.4.required_when"),
])
def test_bad_file_stops_start_up_naming_file_key_and_problem(tmp_path, file, old, new, expect):
    folder = copy_tenant(tmp_path)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TenantConfigError) as e:
        create_app({"TENANTS_DIR": str(tmp_path / "tenants")}, config=TestConfig)
    msg = str(e.value)
    assert str(path.relative_to(tmp_path)).split("/")[-1] in msg or "plans" in msg
    assert expect in msg, msg


def test_unknown_key_is_reported_not_ignored(tmp_path):
    folder = copy_tenant(tmp_path)
    path = folder / "policies.toml"
    path.write_text("notice_workdays = 3\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(TenantConfigError, match=r"policies.toml: key notice_workdays: Extra"):
        load_tenant(folder)


def test_third_tenant_from_a_folder_serves_pages(tmp_path):
    """A new region is a folder: copy one, rename its offices, and it is served."""
    copy_tenant(tmp_path, "beijing")
    copy_tenant(tmp_path, "chifeng")
    folder = copy_tenant(tmp_path, "chifeng", as_name="tongliao")
    for f in folder.rglob("*.toml"):
        f.write_text(f.read_text(encoding="utf-8").replace("赤峰", "通辽").replace(
            "Chifeng", "Tongliao"), encoding="utf-8")
    app = create_app({"TENANTS_DIR": str(tmp_path / "tenants"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 't.db'}"},
                     config=TestConfig)
    with app.app_context():
        db.create_all()
        for cfg in tenants().values():
            sync_tenant(cfg)
        tl = db.session.scalar(sa.select(Org.tenant_id).filter_by(code="cf-hr").where(
            Org.name.like("通辽%")))
        cf = db.session.scalar(sa.select(Org.tenant_id).filter_by(code="cf-hr").where(
            Org.name.like("赤峰%")))
        plans = sa.select(sa.func.count(Plan.id))
        assert db.session.scalar(plans.filter_by(tenant_id=tl)) == db.session.scalar(
            plans.filter_by(tenant_id=cf)) >= 3
        assert db.session.scalar(sa.select(sa.func.count(Committee.id)).filter_by(tenant_id=tl))
    client = app.test_client()
    index = client.get("/").get_data(as_text=True)
    assert "通辽市" in index and "北京市" in index and "赤峰市" in index
    home = client.get("/tongliao/")
    assert home.status_code == 200 and "通辽市" in home.get_data(as_text=True)
    directory = client.get("/tongliao/directory").get_data(as_text=True)
    assert "通辽市中小学教师职称评审委员会" in directory
    assert client.get("/tongliao/login").status_code == 200


def test_unknown_tenant_is_404(client):
    assert client.get("/nowhere/").status_code == 404
    assert client.get("/nowhere/login").status_code == 404
    assert client.get("/").status_code == 200


def test_no_tenant_slug_in_engine_code():
    """The engine is tenant-neutral: no tenant's slug appears in app/ Python."""
    app_dir = ROOT_TENANTS.parent / "app"
    slugs = [p.name for p in ROOT_TENANTS.iterdir() if (p / "tenant.toml").exists()]
    offenders = [(str(f), s) for f in app_dir.rglob("*.py") for s in slugs
                 if s in f.read_text(encoding="utf-8")]
    assert offenders == []
