"""Every phone, every eye (issue 16 §4) in a real headless Chromium over the access matrix's
world: every role of both tenants signs in and opens its main pages (the home page, the
applicant's application, an office's list, the sign-in and start pages for everyone) and every
page its navigation offers. axe-core
(vendored under tests/vendor by `make install`) finds no serious or critical violation there,
in the default look and in the large-text + high-contrast mode; at a 360 px wide phone nothing
scrolls sideways and every link, button and field of the page is at least 44 px square; the
large-text and high-contrast modes, chosen with the header's plain form (JavaScript off), stay
on across pages, sign-in and sign-out."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_browser import BROWSER, serving
from .test_browser import browser  # noqa: F401  (fixture)
from .world import ROLES, world_app

from playwright.sync_api import expect  # noqa: E402

from .conftest import PASSWORD  # noqa: E402

pytestmark = BROWSER

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SLUGS = ("beijing", "chifeng")
PHONE = {"width": 360, "height": 740}

# The violations axe-core finds on the page, serious and critical only, with a few of their nodes.
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} @ ` +
              v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""

# Links, buttons and fields of the header and the main content drawn smaller than 44 × 44 px
# (a checkbox or radio counts with its label); what is not displayed has no box and is left out.
SMALL_TARGETS = """() => {
  const small = [];
  const sel = 'a[href], button, summary, select, textarea, input:not([type=hidden])';
  for (const el of document.querySelectorAll(`header :is(${sel}), main :is(${sel})`)) {
    let box = el.getBoundingClientRect();
    if (!box.width && !box.height) continue;
    const label = el.matches('[type=checkbox], [type=radio]') && el.closest('label');
    if (label) box = label.getBoundingClientRect();
    if (box.width < 43.5 || box.height < 43.5)
      small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim()
        .slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}"""


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    """The world of the access matrix, served: (base URL, app, sides)."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: `make install` fetches axe-core")
    with world_app(database_url, tmp_path_factory, "a11y") as (app, sides):
        with serving(app) as base:
            yield base, app, sides


def pages_of(app, side, role: str) -> list[str]:
    """The paths a role's check opens: its main page and the lists it works from."""
    urls = app.url_map.bind("localhost")
    slug = side.slug
    if role == "anonymous":
        return ["/", f"/{slug}/", f"/{slug}/login", f"/{slug}/register"]
    paths = [urls.build("home.index", {"tenant": slug})]
    if role == "applicant":
        paths += [urls.build("applicant.dashboard", {"tenant": slug}),
                  urls.build("applicant.detail", {"tenant": slug, "app_id": side.ids["app"]})]
    if role in ("employer_clerk", "department_clerk", "hr_county", "hr_city",
                "association_clerk"):
        paths.append(urls.build("office.inbox", {"tenant": slug}))
    if role == "agency_clerk":
        paths.append(urls.build("agency.inbox", {"tenant": slug}))
    return paths


def role_pages(app, side, role: str, nav: list[str]) -> list[str]:
    """pages_of(role) and every page the header's navigation offers the signed-in role."""
    return list(dict.fromkeys(pages_of(app, side, role) + nav))


def _context(browser, **kw):
    ctx = browser.new_context(locale="zh-CN", **kw)
    ctx.set_default_timeout(15_000)
    return ctx


def _sign_in(page, base: str, slug: str, username: str) -> None:
    page.goto(f"{base}/{slug}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form.stack button")
    expect(page).not_to_have_url(re.compile(r"/login"))


def _open(page, base: str, path: str) -> None:
    resp = page.goto(base + path)
    assert resp is not None and resp.status == 200, f"{path}: {resp and resp.status}"


@pytest.fixture(scope="module")
def accounts(site, chromium):
    """account(slug, role) → (the signed-in browser state, the header's navigation links):
    each account signs in once, on the first check that needs it; the checks open contexts of
    their own from that state. The links are read on the page the sign-in lands on."""
    base, _, sides = site
    signed_in = {}

    def account(slug: str, role: str):
        if role == "anonymous":
            return None, []
        if (slug, role) not in signed_in:
            ctx = _context(chromium(), viewport={"width": 1280, "height": 900})
            try:
                page = ctx.new_page()
                _sign_in(page, base, slug, sides[slug].own[role])
                nav = page.evaluate("""() => [...document.querySelectorAll(
                  'header nav a[href^="/"]')].map(a => a.getAttribute('href'))
                  .filter(h => !h.includes('?'))""")
                signed_in[slug, role] = (ctx.storage_state(), nav)
            finally:
                ctx.close()
        return signed_in[slug, role]
    return account


CASES = [(slug, role) for slug in SLUGS for role in ROLES]


@pytest.mark.parametrize("slug,role", CASES, ids=[f"{s}-{r}" for s, r in CASES])
def test_axe_finds_no_serious_violation(site, accounts, browser, slug, role):  # noqa: F811
    base, app, sides = site
    side = sides[slug]
    state, nav = accounts(slug, role)
    # The CSP forbids the injected script; this context alone ignores it to run axe-core.
    ctx = _context(browser, bypass_csp=True, viewport={"width": 1280, "height": 900},
                   storage_state=state)
    # Sent to the browser once, run in every page before its own scripts.
    ctx.add_init_script(path=str(AXE_JS))
    if role in ("anonymous", "applicant"):  # these also in the large-text, high-contrast look
        looks = ["", "large.contrast"]
    else:
        looks = [""]
    found = []
    try:
        page = ctx.new_page()
        for look in looks:
            if look:
                ctx.add_cookies([{"name": "display", "value": look, "url": base}])
            for path in role_pages(app, side, role, nav):
                _open(page, base, path)
                classes = page.evaluate("document.documentElement.className")
                assert classes == look.replace(".", " "), (path, classes)
                found += [f"{path} [{look or 'default'}] {v}" for v in page.evaluate(AXE_RUN)]
    finally:
        ctx.close()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("slug,role", CASES, ids=[f"{s}-{r}" for s, r in CASES])
def test_a_phone_scrolls_no_page_sideways_and_targets_are_44px(site, accounts, browser,  # noqa: F811
                                                               slug, role):
    base, app, sides = site
    side = sides[slug]
    state, nav = accounts(slug, role)
    ctx = _context(browser, viewport=PHONE, has_touch=True, storage_state=state)
    problems = []
    try:
        page = ctx.new_page()
        visits = [("", p) for p in role_pages(app, side, role, nav)]
        if role in ("anonymous", "applicant"):  # and with text a quarter larger
            visits += [("large", p) for p in pages_of(app, side, role)]
        for look, path in visits:
            if look:
                ctx.add_cookies([{"name": "display", "value": look, "url": base}])
            _open(page, base, path)
            path = f"{path} [{look}]" if look else path
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{path}: {width}px wide")
            problems += [f"{path}: {t}" for t in page.evaluate(SMALL_TARGETS)]
            # tables are cards: a cell under its column label, none cut off
            cut = page.evaluate("""() => [...document.querySelectorAll('main td')]
              .filter(td => td.getBoundingClientRect().right > window.innerWidth + 0.5).length""")
            if cut:
                problems.append(f"{path}: {cut} table cells run past the screen's edge")
    finally:
        ctx.close()
    assert not problems, "\n".join(problems)


def test_office_list_rows_are_cards_with_column_labels(site, browser):  # noqa: F811
    """On the agency's list each file is a card; each cell starts with its column's name,
    drawn by the stylesheet from the cell's data-label."""
    base, app, sides = site
    side = sides["beijing"]
    ctx = _context(browser, viewport=PHONE)
    try:
        page = ctx.new_page()
        _sign_in(page, base, "beijing", side.own["agency_clerk"])
        _open(page, base, pages_of(app, side, "agency_clerk")[-1])
        row = page.locator("main table tbody tr").first
        expect(row).to_be_visible()
        cell = row.locator("td[data-label='申报人']")
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"申报人"'
        assert cell.evaluate("td => getComputedStyle(td).display") == "block"
        assert page.locator("main thead").evaluate(
            "t => t.getBoundingClientRect().height") <= 1  # read by screen readers, not shown
    finally:
        ctx.close()


def test_large_text_and_high_contrast_stay_on_without_javascript(site, browser):  # noqa: F811
    base, app, sides = site
    side = sides["chifeng"]
    ctx = _context(browser, java_script_enabled=False, viewport={"width": 1280, "height": 900})
    html = None
    try:
        page = ctx.new_page()
        html = page.locator("html")
        _open(page, base, "/chifeng/login")
        size = page.evaluate("getComputedStyle(document.body).fontSize")
        assert size == "16px"
        page.click("header button[value=large]")
        expect(page).to_have_url(f"{base}/chifeng/login")
        expect(html).to_have_class("large")
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "20px"
        expect(page.locator("header button[value=large]")).to_have_attribute("aria-pressed",
                                                                          "true")
        _open(page, base, "/chifeng/register")  # another page
        expect(html).to_have_class("large")
        _sign_in(page, base, "chifeng", side.own["applicant"])  # sign-in keeps it
        expect(html).to_have_class("large")
        page.click("header button[value=contrast]")
        expect(html).to_have_class("large contrast")
        assert page.evaluate("getComputedStyle(document.querySelector('header'))"
                             ".backgroundColor") == "rgb(0, 0, 0)"
        _open(page, base, pages_of(app, side, "applicant")[-1])
        expect(html).to_have_class("large contrast")
        page.click("header button[value=large]")  # off again
        expect(html).to_have_class("contrast")
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
        page.click("header button.link:has-text('退出')")  # sign-out keeps it too
        expect(html).to_have_class("contrast")
    finally:
        ctx.close()


def test_skip_link_leads_the_keyboard_to_the_main_content(site, browser):  # noqa: F811
    base, _, _ = site
    ctx = _context(browser, viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        _open(page, base, "/beijing/login")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        expect(skip).to_be_focused()
        assert skip.evaluate("a => a.getBoundingClientRect().left") >= 0  # shown when focused
        assert skip.evaluate("a => getComputedStyle(a).outlineStyle") == "solid"
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/beijing/login#main")
        page.keyboard.press("Tab")  # the next stop is inside main: the sign-in form
        assert page.evaluate("document.activeElement.closest('main') !== null")
    finally:
        ctx.close()


def test_the_checks_see_what_they_look_for(site, browser):  # noqa: F811
    """The page checks above are not blind: a field without a label, grey-on-white text, a
    small link and a block wider than the phone, added to a page, are each reported."""
    base, _, _ = site
    ctx = _context(browser, bypass_csp=True, viewport=PHONE)
    try:
        page = ctx.new_page()
        _open(page, base, "/beijing/login")
        assert page.evaluate(SMALL_TARGETS) == []
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        page.evaluate("""() => {
          const main = document.querySelector('main');
          main.insertAdjacentHTML('beforeend',
            '<input name="unlabelled"><p class="faint">浅色文字</p><a href="#x" class="tiny">x</a>' +
            '<div class="wide">宽</div>');
          // set through the CSSOM, which the Content Security Policy allows
          document.querySelector('.faint').style.color = '#bbb';
          Object.assign(document.querySelector('.tiny').style,
                        {display: 'inline', minHeight: '0', minWidth: '0'});
          document.querySelector('.wide').style.width = '500px';
        }""")
        assert page.evaluate("document.scrollingElement.scrollWidth") > PHONE["width"]
        assert any(t.startswith('a "x"') for t in page.evaluate(SMALL_TARGETS))
        page.add_script_tag(path=str(AXE_JS))
        found = " ".join(page.evaluate(AXE_RUN))
        assert "critical label" in found and "serious color-contrast" in found
    finally:
        ctx.close()
