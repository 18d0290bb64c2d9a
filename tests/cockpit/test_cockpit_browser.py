"""End to end in Debian's headless Chromium (Playwright): sign in, move a lever, out-of-range message, save and
reload a scenario, open a customer from the matrix, the zh/en switch; a screenshot of every page goes to
docs/cockpit/ (the README shows them)."""

from __future__ import annotations

import re

import pytest
from cockpit_world import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from playwright.sync_api import expect, sync_playwright


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _sign_in(browser, base_url, username="director"):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    return ctx, page


def _set_lever(page, name: str, value: str) -> None:
    """Type a value and commit it (a change event) without moving focus: a focus change would commit the
    previously edited input a second time."""
    page.evaluate("([n, v]) => { const e = document.getElementById('lever-' + n); e.value = v;"
                  " e.dispatchEvent(new Event('change')); }", [name, value])


def _total(page) -> float:
    return float(page.inner_text("#total-scenario").replace(",", ""))


def test_levers_move_save_reload(browser, base_url, docs_dir):
    ctx, page = _sign_in(browser, base_url)
    page.wait_for_url(re.compile(r"/levers"))
    page.wait_for_function("window.cockpitTimings && window.cockpitTimings.length >= 1")
    base = _total(page)
    assert page.inner_text("#total-base") == page.inner_text("#total-scenario")
    # the charts below the first screen follow in idle time: all three are drawn
    page.wait_for_function("window.cockpitChartsBehind() === 0")
    assert page.locator(".chart .scatterlayer .trace").count() > 0
    page.screenshot(path=str(docs_dir / "levers.png"), full_page=True)

    _set_lever(page, "safety_stock", "2.5")
    page.wait_for_function("window.cockpitTimings.length >= 2")
    moved = _total(page)
    assert moved > base
    assert "+" in page.inner_text("#total-delta")

    # out of range: the range is shown and nothing is sent to the engine
    seq = page.evaluate("window.cockpitTimings.length")
    _set_lever(page, "promo_half_life", "99")
    expect(page.locator("#error-promo_half_life")).to_contain_text("0.5 – 12")
    page.wait_for_timeout(300)
    assert page.evaluate("window.cockpitTimings.length") == seq
    _set_lever(page, "promo_half_life", "2")
    page.wait_for_function(f"window.cockpitTimings.length > {seq}")

    page.fill("#scenario-name", "browser push")
    page.click("#save")
    expect(page.locator("#save-status")).to_contain_text("browser push")
    page.click("#reset")
    page.wait_for_function(f"window.cockpitTimings.length > {seq + 1}")
    expect(page.locator("#lever-safety_stock")).to_have_value("1")
    page.select_option("#scenario-list", "browser push")
    n = page.evaluate("window.cockpitTimings.length")
    page.click("#load")
    page.wait_for_function(f"window.cockpitTimings.length > {n}")
    expect(page.locator("#lever-safety_stock")).to_have_value("2.5")
    assert _total(page) == pytest.approx(moved)

    page.select_option("#compare-a", "default")
    page.select_option("#compare-b", "browser push")
    page.click("#compare")
    expect(page.locator("#compare-table")).to_be_visible()
    page.wait_for_function("window.cockpitChartsBehind() === 0")
    page.screenshot(path=str(docs_dir / "levers-scenario.png"), full_page=True)
    ctx.close()


def test_matrix_opens_a_customer_and_every_page_renders(browser, base_url, docs_dir):
    ctx, page = _sign_in(browser, base_url)
    page.wait_for_url(re.compile(r"/levers"))
    page.goto(f"{base_url}/matrix")
    page.wait_for_selector("#matrix-chart .scatterlayer .point")
    page.screenshot(path=str(docs_dir / "matrix.png"), full_page=True)
    box = page.locator("#matrix-chart .scatterlayer .point").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r"/customers/[^/]+$"))
    expect(page.locator("#customer-name")).to_be_visible()
    expect(page.locator("#identity")).to_contain_text("erp")
    page.wait_for_selector("#health-chart .main-svg")
    page.wait_for_function("window.chartsPending === 0")  # the charts below the first screen, drawn in idle time
    page.screenshot(path=str(docs_dir / "customer.png"), full_page=True)  # value table is folded away

    page.goto(f"{base_url}/lights")
    page.locator(".reason-btn").first.click()
    expect(page.locator(".reason-row:not([hidden])").first).to_be_visible()
    page.screenshot(path=str(docs_dir / "lights.png"), full_page=True)
    for name, sel in (("customers", "#customers-table"), ("csg", "#csg-table"),
                      ("reconciliation", "#chain-table"), ("efficiency", "#efficiency-table")):
        page.goto(f"{base_url}/{name}")
        expect(page.locator(sel)).to_be_visible()
        assert page.locator(f"{sel} tr").count() > 1, name
        # long tables: the first screen is the picture (keeps the README's images small)
        page.screenshot(path=str(docs_dir / f"{name}.png"))
    ctx.close()


def test_language_switch_and_sign_in_page(browser, base_url, docs_dir):
    ctx = browser.new_context(viewport={"width": 1200, "height": 700})
    page = ctx.new_page()
    page.goto(f"{base_url}/login")
    page.screenshot(path=str(docs_dir / "login.png"))
    page.fill("#username", "director")
    page.fill("#password", "wrong")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/levers"))
    expect(page.locator("#nav-levers")).to_have_text("预测与杠杆")
    page.click("#lang-en")
    expect(page.locator("#nav-levers")).to_have_text("Forecast & levers")
    expect(page.locator("#nav-matrix")).to_have_text("Customer matrix")
    page.click("#lang-zh")
    expect(page.locator("#nav-levers")).to_have_text("预测与杠杆")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{base_url}/levers")
    expect(page).to_have_url(re.compile(r"/login"))
    ctx.close()


def test_account_manager_in_the_browser_gets_404_for_a_foreign_customer(browser, base_url, am_clients):
    (a, _), (b, client_b) = am_clients
    foreign = client_b.get("/api/customers").json()[0]
    ctx, page = _sign_in(browser, base_url, a["username"])
    page.wait_for_url(re.compile(r"/levers"))
    resp = page.goto(f"{base_url}/customers/{foreign['customer_id']}")
    assert resp.status == 404
    assert foreign["legal_name"] not in page.content()
    ctx.close()


def test_value_report_downloads_from_the_customer_page(browser, base_url, value_report, tmp_path, docs_dir):
    import pypdfium2

    ctx, page = _sign_in(browser, base_url)
    page.wait_for_url(re.compile(r"/levers"))
    page.goto(f"{base_url}/customers/{value_report['customer_id']}")
    with page.expect_download() as info:
        page.click(f"#report-pdf-{value_report['quarter']}")
    path = tmp_path / "report.pdf"
    info.value.save_as(path)
    pdf = pypdfium2.PdfDocument(str(path))
    text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    assert "季度价值报告" in text and value_report["quarter"] in text
    for kpi in value_report["kpis"]:
        assert kpi in text
    missing = [f for f in value_report["figures"] if f not in text]
    assert not missing, f"KPI figures of marts.value_realization missing from the downloaded PDF: {missing}"
    # the same report as HTML (its charts are inline SVG: it opens anywhere, offline), shown in the README
    with page.expect_download() as info:
        page.click(f"#report-html-{value_report['quarter']}")
    html = tmp_path / "report.html"
    info.value.save_as(html)
    page.goto(html.as_uri())
    body = page.inner_text("body")
    assert "季度价值报告" in body and not [f for f in value_report["figures"] if f not in body]
    page.screenshot(path=str(docs_dir / "value-report.png"), full_page=True)
    ctx.close()


# Headers that read the same in Chinese business usage (codes and acronyms, not English words).
ZH_HEADER_ACRONYMS = {"#", "ID", "SKU", "KPI", "CRM", "POS"}


def test_every_table_header_follows_the_chinese_switch(browser, base_url):
    ctx, page = _sign_in(browser, base_url)
    page.wait_for_url(re.compile(r"/levers"))
    page.goto(f"{base_url}/matrix")
    cid = page.locator("#pilot-table a").first.get_attribute("href")
    seen = {}
    for path in ("/levers", "/lights", "/matrix", "/customers", cid, "/csg", "/reconciliation", "/efficiency"):
        page.goto(f"{base_url}{path}")
        if path == "/lights":  # the reason tables are drawn in the browser from API rows
            page.locator(".reason-btn").first.click()
            page.wait_for_selector(".reason-row:not([hidden]) table, .reason-row:not([hidden]) p")
        heads = [h.strip() for h in page.locator("th").all_inner_texts()]
        assert heads, path
        bad = [h for h in heads if h and h not in ZH_HEADER_ACRONYMS and not re.search(r"[\u4e00-\u9fff]", h)]
        assert not bad, f"{path}: untranslated headers {bad}"
        seen[path] = len(heads)
    ctx.close()
    assert all(seen.values())
