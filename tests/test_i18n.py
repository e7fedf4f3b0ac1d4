"""The English catalogue: every message in the source is translated, placeholders intact, and
the compiled catalogue is what an English page shows.

Messages are extracted from the source tree at test time with the mapping and keywords of
babel.cfg, so a new `_()` / `_l()` string fails here until the catalogue is updated (see the
commands at the top of babel.cfg)."""
from __future__ import annotations

import configparser
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
TRANSLATIONS = ROOT / "app" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")

# A %-format conversion, named or not: %(n)d, %(name)s, %s, %5.2f ... ("%%" is a literal percent).
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


def _mapping():
    """babel.cfg as (method_map, options_map, keywords), keywords being Babel's defaults plus
    those the file adds (the same set `pybabel extract -F babel.cfg -k _l -k lazy_gettext` uses)."""
    parser = configparser.RawConfigParser()
    with BABEL_CFG.open(encoding="utf-8") as f:
        parser.read_file(f)
    method_map, options_map = [], {}
    keywords = dict(DEFAULT_KEYWORDS)
    for section in parser.sections():
        if section == "extractors":
            continue
        method, pattern = (part.strip() for part in section.split(":", 1))
        options = dict(parser.items(section))
        keywords.update(parse_keywords(options.pop("keywords", "").split()))
        method_map.append((pattern, method))
        options_map[pattern] = options
    return method_map, options_map, keywords


def _extract() -> dict[str, list[str]]:
    """msgid → where it occurs, for every message in the source tree."""
    method_map, options_map, keywords = _mapping()
    found: dict[str, list[str]] = defaultdict(list)
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found[msgid].append(f"{filename}:{lineno}")
    return found


def _catalog():
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


def _placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text) if m.group("conv") != "%"}


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """The .mo files are build output and not committed: compile any that is missing or older
    than its .po (written to a temporary name first, so parallel workers never read half a file)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        os.replace(tmp, mo)
    assert EN_MO.is_file()


def test_babel_cfg_extracts_python_and_templates_with_lazy_keywords():
    method_map, _options, keywords = _mapping()
    methods = {method for _pattern, method in method_map}
    assert {"python", "jinja2"} <= methods, method_map
    assert {"_", "gettext", "_l", "lazy_gettext"} <= set(keywords)


def test_every_source_message_has_an_english_translation():
    extracted = _extract()
    assert len(extracted) > 100, "extraction found almost nothing: check babel.cfg"
    catalog = _catalog()
    assert not catalog.fuzzy, "the .po header is marked fuzzy, so pybabel compile would skip it"
    missing, fuzzy = [], []
    for msgid, where in sorted(extracted.items(), key=lambda kv: kv[1][0]):
        message = catalog.get(msgid)
        if message is None or not all(s.strip() for s in _strings(message)):
            missing.append(f"  {msgid!r}  ({', '.join(where)})")
        elif message.fuzzy:
            fuzzy.append(f"  {msgid!r}  ({', '.join(where)})")
    problems = []
    if missing:
        problems.append(f"{len(missing)} message(s) without an English translation:\n"
                        + "\n".join(missing))
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy translation(s) (review, then drop the fuzzy flag):\n"
                        + "\n".join(fuzzy))
    if problems:
        problems.append(f"Re-extract and merge with the commands at the top of {BABEL_CFG.name}, "
                        f"then translate in {EN_PO.relative_to(ROOT)}.")
    assert not problems, "\n\n".join(problems)


def test_placeholders_match_between_msgid_and_msgstr():
    wrong = []
    for message in _catalog():
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        expected = _placeholders(msgid)
        for s in _strings(message):
            if s and _placeholders(s) != expected:
                wrong.append(f"  {msgid!r}: {sorted(expected)} ≠ {s!r}: {sorted(_placeholders(s))}")
                continue
            names = {m.group("name") for m in PLACEHOLDER.finditer(msgid) if m.group("name")}
            if s and names:  # the translation must format with the arguments the source passes
                args = {n: 1 for n in names}
                try:
                    s % args
                except (TypeError, ValueError, KeyError) as e:
                    wrong.append(f"  {s!r} does not format: {e}")
    assert not wrong, "placeholders differ between source and translation:\n" + "\n".join(wrong)


def test_tenant_home_page_in_english(client):
    zh = client.get("/beijing/?lang=zh").get_data(as_text=True)
    assert "正在受理的申报计划" in zh

    resp = client.get("/beijing/?lang=en")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Application plans now open" in html
    assert "Professional title evaluation" in html
    assert "正在受理的申报计划" not in html
    assert "职称评审" not in html


@pytest.mark.parametrize("accept, lang", [
    ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("fr-FR", "zh-CN"),
    ("en;q=0.5, zh;q=0.9", "zh-CN"), ("", "zh-CN")])
def test_the_browsers_language_is_followed_until_one_is_chosen(app, accept, lang):
    client = app.test_client()  # a fresh session each time: nothing chosen yet
    page = client.get("/beijing/", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    # Choosing a language on the page outranks what the browser asks for, from then on.
    client.get("/beijing/?lang=zh" if lang == "en" else "/beijing/?lang=en")
    again = client.get("/beijing/", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{"zh-CN" if lang == "en" else "en"}">' in again
