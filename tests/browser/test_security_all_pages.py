"""Every untrusted field of a repository carries HTML/JS payloads; no generated page may run them.

The repository is real git: commit messages and author names, branch and tag names (one path-like),
GTO registry tags with hostile messages and taggers, params, metrics, plot files/columns/values
(``<a href="javascript:…">`` for plotly's label HTML), dvc.yaml stage names/commands/paths,
artifact names and descriptions, and every CT report JSON (validation, drift, gate, monitoring,
trigger). Every page is opened in Chromium, its interactive parts are clicked, and the test asserts
that nothing ran, the payloads are shown as text, the console is clean and nothing was written
outside the output folder.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
import yaml
from helpers.git import RepoBuilder, git
from helpers.site_repo import DVC_YAML, commit_files

from mlpages.site.build import build_site

pytestmark = pytest.mark.browser

IMG = "<img src=x onerror=window.__pwned=1>"
SCRIPT = "</script><script>window.__pwned=1</script>"
SVG = '"><svg onload=window.__pwned=1>'
JS_URL = "javascript:window.__pwned=1"
LINK = f'<a href="{JS_URL}">click</a>'
TEMPLATE = "{{7*7}}"
HTTP_LINK = '<a href="https://example.invalid/">evil</a>'  # plotly would draw this as a link


def hostile(tag: str) -> str:
    """A payload starting with a field tag, so the test knows which field it saw on a page."""
    return f"{tag}{IMG}{SVG}{SCRIPT}{TEMPLATE}"


# Git ref names cannot hold spaces, ':' or '?'; '/' between HTML attributes works instead.
REF_BRANCH = "br<img/src=x/onerror=window.__pwned=1>"
REF_PATHLIKE = "feat/%2e%2e/%2f#frag%25/x.html"
REF_TAG = "tg<svg/onload=window.__pwned=1>"
# Git strips '<' and '>' from author names; quotes and the rest survive.
AUTHOR = "Eve\" onmouseover=window.__pwned=1 x='{{7*7}}' &amp; javascript:window.__pwned=1 Q"
PLOT_FILE = f"plots/pf{IMG}.csv"
PLOT_IMAGE = "plots/pi<svg onload=window.__pwned=1>.svg"
STAGE = f"st{IMG}"
CSV_FORMULA = '=HYPERLINK("http://x","y")'
# An experiment name (the last part of refs/exps/ab/cdef…/<name>): no '/', no spaces.
EXP_NAME = 'ex"onfocus="window.__pwned=1"autofocus="<b>&amp;{{config}}'  # '*' is not allowed


def _dvc_yaml() -> str:
    doc = yaml.safe_load(DVC_YAML)
    doc["stages"][STAGE] = {
        "cmd": hostile("cmd"),
        "deps": [f"dep{IMG}.py", "model.pkl"],
        "outs": [f"out{IMG}.bin"],
        "params": [hostile("prm")],
    }
    doc["plots"] = [
        {
            hostile("plotid"): {
                "template": "linear",
                "x": hostile("xcol"),
                "y": {PLOT_FILE: [f"yc{LINK}"]},
                "title": hostile("ptitle"),
            }
        },
        {f"cat{IMG}": {"template": "scatter", "x": "c", "y": {PLOT_FILE: ["v"]}}},
        PLOT_IMAGE,
    ]
    doc["artifacts"]["churn"]["desc"] = hostile("adesc")
    doc["artifacts"]["churn"]["labels"] = [hostile("alabel")]
    doc["artifacts"]["evil-art"] = {"path": f"ap{IMG}.pkl", "type": hostile("atype"), "desc": LINK}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _reports(i: int) -> dict[str, str]:
    drift = {
        "batch": hostile("dbatch"),
        "reference": hostile("dref"),
        "share_drifted": 0.5,
        "dataset_drift": True,
        "features": [
            {
                "feature": hostile("dfeat"),
                "kind": "categorical",
                "method": hostile("dmethod"),
                "statistic": 0.3,
                "p_value": 0.01,
                "threshold": 0.05,
                "drifted": True,
            }
        ],
        "skipped": [{"feature": hostile("dskip"), "reason": hostile("dreason")}],
    }
    batches = [
        {
            "batch": hostile(f"mb{w}"),
            "week": w,
            "model_version": hostile("mver"),
            "model_hash": hostile("mhash"),
            "rows": 100,
            "prediction_mean": 0.4 + 0.01 * w,
            "prediction_hist": [1, 2, 3, 4],
            "hist_edges": [0.0, 0.25, 0.5, 0.75, 1.0],
            "drift": {hostile("mfeat"): 1.5, f"f{LINK}": 0.2},
            "drifted_features": [hostile("mfeat")],
            "share_drifted": 0.5,
            "prediction_drift": 0.1,
            "labels": True,
            "metrics": {"roc_auc": 0.8 - 0.05 * w, hostile("mmetric"): 0.5},
            "estimated": {},
            "baseline": {"roc_auc": 0.8},
            "alerts": [
                {"kind": hostile("akind"), "detail": hostile("adetail")},
                {"kind": "drift", "detail": LINK},
            ],
        }
        for w in range(1, 3 + i % 2)
    ]
    monitoring = {"threshold": {"metric": "roc_auc", "min": 0.7}, "batches": batches}
    trigger = {
        "retrain": i % 2 == 0,
        "reasons": [{"kind": hostile("tkind"), "detail": hostile("tdetail")}],
        "batch": hostile("tbatch"),
        "model_version": hostile("tver"),
        "batches_since_training": 2,
        "days_since_training": 3.5,
        "blocked": None if i % 2 == 0 else hostile("tblocked"),
    }
    return {
        "reports/drift.json": json.dumps(drift),
        "reports/monitoring.json": json.dumps(monitoring),
        "reports/trigger.json": json.dumps(trigger),
    }


def _files(i: int, **kw) -> dict[str, str]:
    files = commit_files(i, payload=True, **kw)
    files["dvc.yaml"] = _dvc_yaml()
    params = yaml.safe_load(files["params.yaml"])
    params[hostile("pkey")] = hostile("pval")
    params["formula"] = CSV_FORMULA
    files["params.yaml"] = yaml.safe_dump(params, sort_keys=True)
    metrics = json.loads(files["metrics.json"])
    metrics[hostile("mkey")] = 0.5 + i / 100
    metrics["note"] = hostile("mval")
    files["metrics.json"] = json.dumps(metrics)
    validation = json.loads(files["reports/validation.json"])
    validation.update(schema=hostile("vschema"), status=hostile("vstatus") if i == 2 else "fail")
    validation["anomalies"].append(
        {"kind": hostile("vkind"), "column": LINK, "count": 3, "detail": hostile("vdetail")}
    )
    files["reports/validation.json"] = json.dumps(validation)
    gate = json.loads(files["reports/gate.json"])
    gate["verdict"] = "rejected" if i % 2 else hostile("gverdict")
    gate["champion"] = {"version": hostile("gchamp"), "sha": hostile("gsha"), "source": "x"}
    gate["rules"].append(
        {
            "rule": hostile("grule"),
            "metric": hostile("gmetric"),
            "slice": hostile("gslice"),
            "candidate": 0.5,
            "champion": 0.6,
            "threshold": 0.1,
            "passed": False,
            "reason": hostile("greason"),
        }
    )
    gate["reasons"].append(LINK)
    files["reports/gate.json"] = json.dumps(gate)
    rows = "\n".join(f"{k / 4},{k % 2},{'ab'[k % 2]}{LINK}{HTTP_LINK},{k}" for k in range(6))
    files[PLOT_FILE] = f"{hostile('xcol')},yc{LINK},c,v\n{rows}\n"
    files[PLOT_IMAGE] = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="window.__pwned=1">'
        f'<script>window.__pwned=1</script><rect width="{20 + i}" height="20" fill="red"/></svg>'
    )
    files.update(_reports(i))
    return files


def _commit(repo: RepoBuilder, message: str, files: dict[str, str]) -> str:
    repo.write(files)
    repo.clock += 3600
    date = f"{repo.clock} +0000"
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_NAME": AUTHOR}
    git(repo.path, "add", "-A")
    git(repo.path, "commit", "-q", "-m", message, env=env)
    return repo.head()


def _tag(repo: RepoBuilder, name: str, sha: str, message: str) -> None:
    env = {"GIT_COMMITTER_DATE": f"{repo.clock + 10} +0000", "GIT_COMMITTER_NAME": AUTHOR}
    git(repo.path, "tag", "-a", name, "-m", message, sha, env=env)


def hostile_repo(path: Path) -> tuple[RepoBuilder, list[str]]:
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvcignore": ""})
    shas = []
    for i in range(4):
        message = f"{hostile(f'subj{i}')}\n\n{hostile('body')}\n{LINK}"
        shas.append(_commit(repo, message, _files(i)))
    for name, start in ((REF_BRANCH, shas[1]), (REF_PATHLIKE, shas[2])):
        repo.git("checkout", "-q", "-b", name, start)
        _commit(repo, hostile("brmsg") + f" {len(shas)}", _files(len(shas), lr=0.5))
        shas.append(repo.head())
    for n, name in enumerate((EXP_NAME, "exp-2")):
        repo.git("checkout", "-q", "--detach", shas[3])
        tip = _commit(repo, hostile("expmsg") + str(n), _files(6 + n, lr=0.9 + n))
        repo.git("update-ref", f"refs/exps/{shas[3][:2]}/{shas[3][2:]}/{name}", tip)
    repo.git("checkout", "-q", "main")
    repo.git("tag", REF_TAG, shas[0])
    _tag(repo, "rel-" + REF_TAG[2:], shas[1], hostile("tagmsg"))
    _tag(repo, "churn@v0.1.0", shas[1], hostile("regmsg1"))
    _tag(repo, "churn@v0.2.0-rc.1+b.7", shas[3], hostile("regmsg2"))
    _tag(repo, "churn#prod#1", shas[3], hostile("assignmsg"))
    _tag(repo, "churn#x/y_z#2", shas[1], hostile("stagemsg"))
    return repo, shas


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("allhostile")
    repo, shas = hostile_repo(base / "repo")
    before = {p for p in base.rglob("*") if ".git" not in p.parts}
    build_site(repo.path, base / "repo" / "site", title=hostile("title"))
    site = base / "repo" / "site"
    after = {p for p in base.rglob("*") if ".git" not in p.parts}
    return site, repo, shas, sorted(after - before)


def test_build_writes_only_inside_the_output_folder(hostile_site):
    site, _, _, created = hostile_site
    outside = [p for p in created if site not in (p, *p.parents)]
    assert outside == []
    for path in site.rglob("*"):
        assert path.resolve().is_relative_to(site.resolve()), path
        assert not path.is_symlink(), path
    names = [p.relative_to(site).as_posix() for p in site.rglob("*")]
    assert all(
        set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        for n in names
    ), [n for n in names if "%" in n or "#" in n or "<" in n]
    assert any(n.startswith("compare/feat-2e-2e-2f-frag-25-x.html") for n in names), names


COLLECT = """() => {
  const parts = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll('[title]')) parts.push(el.getAttribute('title'));
  for (const el of document.querySelectorAll('option, svg text, .js-plotly-plot text'))
    parts.push(el.textContent);
  return parts.join('\\n');
}"""

PROBE = """() => ({
  pwned: typeof window.__pwned,
  handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a =>
      a.name.startsWith('on'))).map(e => e.tagName),
  injected: document.querySelectorAll('img[src="x"], main svg[onload],'
      + 'script:not([src]):not([type="application/json"])').length,
  jsLinks: [...document.querySelectorAll('a[href], [*|href]')].map(a => a.getAttribute('href')
      || a.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || '')
      .filter(h => /^\\s*javascript:/i.test(h)),
  plotLinks: document.querySelectorAll('.js-plotly-plot a').length,
  csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || '',
})"""


def _hover_plots(watch) -> None:
    """Hover the middle of every drawn plot (plotly builds its hover label from the data)."""
    for box in watch.page.query_selector_all(".js-plotly-plot .nsewdrag")[:6]:
        bb = box.bounding_box()
        if bb:
            watch.page.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
            watch.page.mouse.move(bb["x"] + bb["width"] / 3, bb["y"] + bb["height"] / 2)


def _exercise(watch, name: str, downloads: list) -> None:
    page = watch.page
    for summary in page.query_selector_all("details > summary"):
        if summary.is_visible():
            summary.click()
    if name == "runs.html":
        page.wait_for_selector("body[data-runs-ready]")
        headers = page.locator("#runs-table thead th[data-key]")
        for k in range(min(headers.count(), 6)):
            headers.nth(k).click()  # the head is re-rendered after every sort
        page.fill("#runs-filter", "onerror")
        page.wait_for_timeout(200)
        page.fill("#runs-filter", IMG)
        page.wait_for_timeout(200)
        page.fill("#runs-filter", "")
        page.check("#runs-changed")
        page.check("#runs-mainline")
        page.uncheck("#runs-mainline")
        page.uncheck("#runs-changed")
        page.click("#runs-table tbody button.pin")
        for toggle in page.query_selector_all("#runs-table tbody button.exp-toggle"):
            toggle.click()
            break
        picks = page.locator("#runs-table tbody input.pick")
        for k in range(min(picks.count(), 3)):
            picks.nth(k).check()
        with page.expect_download() as info:
            page.click("#runs-csv")
        downloads.append(Path(info.value.path()).read_text(encoding="utf-8"))
    if name == "compare.html":
        page.wait_for_selector("body[data-compare-ready]")
        values = page.eval_on_selector_all("#cmp-a option", "os => os.map(o => o.value)")
        for a, b in itertools.pairwise(values):
            page.select_option("#cmp-a", a)
            page.select_option("#cmp-b", b)
        page.check("#cmp-changed")
        page.click("#cmp-swap")
        page.wait_for_timeout(400)  # the overlaid plots load their data script
        page.evaluate(
            "() => { location.hash = '#sel=' + window.mlpagesRuns.rows.slice(0, 8)"
            ".map(r => r.s.slice(0, 12)).join(','); }"
        )
        page.wait_for_selector("body[data-many-plots]")


def test_every_page_is_inert_and_shows_payloads_as_text(hostile_site, browser, watch):
    site, _, _, _ = hostile_site
    page_watch = type(
        watch
    )  # helpers.browser.PageWatch: console errors, page errors, failed requests
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 12
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    dialogs: list[str] = []
    corpus: list[str] = []
    downloads: list[str] = []
    try:
        for path in pages:
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            watch = page_watch(page)
            watch.open(path)
            watch.draw_all_figures()
            _exercise(watch, path.name, downloads)
            _hover_plots(watch)
            where = path.relative_to(site).as_posix()
            probe = page.evaluate(PROBE)
            assert probe["pwned"] == "undefined", where
            assert probe["handlers"] == [] and probe["injected"] == 0, (where, probe)
            assert probe["jsLinks"] == [], (where, probe["jsLinks"])
            assert probe["plotLinks"] == 0, where  # label HTML from the data is shown as text
            assert "script-src 'self'" in probe["csp"] and "default-src 'none'" in probe["csp"]
            assert watch.errors == [], (where, watch.errors)
            corpus.append(page.evaluate(COLLECT))
            page.close()
    finally:
        context.close()
    assert dialogs == []
    text = "\n".join(corpus)
    tags = (
        "subj3", "body", "brmsg", "title", "pkey", "pval", "prm", "mkey", "cmd", "xcol",
        "ptitle", "regmsg1", "vdetail", "vkind", "greason", "grule", "gmetric",
        "gchamp", "dfeat", "mb1", "mfeat", "adetail", "tdetail", "tblocked",
    )  # fmt: skip
    missing = [t for t in tags if hostile(t)[:40] not in text]
    literals = (IMG, SCRIPT, SVG, TEMPLATE, LINK, STAGE, REF_BRANCH, REF_TAG, REF_PATHLIKE,
                AUTHOR, PLOT_FILE, f"[{EXP_NAME}]")  # fmt: skip
    missing += [t for t in literals if t not in text]
    assert missing == []
    # CSV export: formula-looking cells are prefixed with ' (OWASP), payloads stay text.
    assert downloads
    cells = [c for row in csv.reader(io.StringIO(downloads[0])) for c in row]
    assert "'" + CSV_FORMULA in cells and CSV_FORMULA not in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_svg_image_is_not_served_as_an_openable_file(hostile_site, browser):
    """An SVG plot image carries script: opened directly, it must not run on the site's origin."""
    site, _, shas, _ = hostile_site
    svgs = list(site.rglob("*.svg"))
    assert svgs == []  # shown as data: URIs, which <img> renders without scripts
    head = (site / f"commit/{shas[3][:12]}.html").read_text()
    assert 'src="data:image/svg+xml;base64,' in head
    context = browser.new_context()
    try:
        for svg in svgs:
            page = context.new_page()
            page.goto(svg.resolve().as_uri())
            assert page.evaluate("() => typeof window.__pwned") == "undefined", svg
            page.close()
    finally:
        context.close()


def test_declared_artifacts_without_registry_are_text(hostile_site, watch, tmp_path):
    """Unregistered artifacts (name, path, type, desc from dvc.yaml) are listed on models.html."""
    _, repo, _, _ = hostile_site
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-tags", str(repo.path), str(clone))
    build_site(clone, clone / "site")
    watch.open(clone / "site" / "models.html")
    probe = watch.page.evaluate(PROBE)
    assert probe["pwned"] == "undefined" and probe["handlers"] == [] and probe["injected"] == 0
    text = watch.page.inner_text("main")
    assert hostile("atype")[:40] in text and LINK in text and f"ap{IMG}.pkl" in text
    assert watch.errors == []


def test_every_page_has_the_csp_first_and_no_inline_code(hostile_site):
    from bs4 import BeautifulSoup

    site, _, _, _ = hostile_site
    for path in sorted(site.rglob("*.html")):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        where = path.relative_to(site).as_posix()
        first = soup.head.find(["meta", "script", "link", "style", "base"], recursive=False)
        assert first.get("charset") == "utf-8", where
        csp = soup.head.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert csp is not None and csp.find_previous(["script", "link", "base"]) is None, where
        policy = dict(p.strip().split(" ", 1) for p in csp["content"].split(";"))
        assert policy["script-src"] == "'self'" and policy["default-src"] == "'none'", where
        assert policy["base-uri"] == "'none'" and policy["object-src"] == "'none'", where
        for script in soup.find_all("script"):
            if script.get("type") == "application/json":
                assert "<" not in script.string and not script.get("src"), where
            else:
                src = script["src"]  # an external file of the site, never inline code
                assert not script.string and (path.parent / src).resolve().is_file(), where
        handlers = [(t.name, a) for t in soup.find_all(True) for a in t.attrs if a.startswith("on")]
        assert handlers == [], where
        for tag in soup.find_all(href=True) + soup.find_all(src=True):
            url = tag.get("href") or tag.get("src")
            assert not url.lower().lstrip().startswith(("javascript:", "vbscript:")), where
