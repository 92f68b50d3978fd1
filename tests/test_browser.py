"""The HTML evidence pack in headless Chromium: opens offline, no console errors, every chart drawn.

Uses Debian's chromium and chromium-driver (installed by .ci/run); nothing is downloaded.
"""

import os
import shutil

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)", allow_module_level=True)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_demo_pack_in_headless_chromium(run_cli, browser, tmp_path):
    from selenium.webdriver.common.by import By

    pack = tmp_path / "pack.html"
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "- {target: po_monthly_visit, justification: Agreed, approved_by: NI, expires: 2026-12-31}\n"
        "- {target: po_action_quality, justification: Agreed, approved_by: NI, expires: 2026-09-05}\n"
        "- {target: inc_review_5wd, justification: Agreed, approved_by: NI, expires: 2026-08-01}\n"
    )
    result = run_cli("demo", "--engine", "reference", "--format", "html", "--output", pack, "--waivers", waivers,
                     "--db", tmp_path / "demo.db", "--expanded")  # every details section open: the charts show
    assert result.exit_code == 0, result.stderr

    browser.get(pack.as_uri())
    assert browser.title == "Evidence pack: cqc-recovery, as of 2026-08-31"
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    # Nothing was fetched: the page is one file.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0

    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart[id^='chart-']")
    assert len(charts) == 18
    for chart in charts:
        size = chart.size
        assert size["width"] > 300 and size["height"] > 100, chart.get_attribute("id")
        assert chart.find_elements(By.CSS_SELECTOR, ".target-line")
        assert chart.find_elements(By.CSS_SELECTOR, ".point"), f"{chart.get_attribute('id')} drew no points"
    assert "in force, expiring soon" in browser.find_element(By.ID, "waivers").text
    assert "expired: no longer applies" in browser.find_element(By.ID, "waivers").text

    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(height, 16000))
    shot = tmp_path / "pack.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def test_demo_pack_overview_leads_with_the_drifting_location_and_keeps_ids_whole(run_cli, browser, tmp_path):
    from selenium.webdriver.common.by import By

    pack = tmp_path / "pack.html"
    result = run_cli("demo", "--engine", "reference", "--format", "html", "--output", pack, "--db", tmp_path / "d.db")
    assert result.exit_code == 0, result.stderr
    browser.set_window_size(1280, 1600)
    browser.get(pack.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "table.overview tbody tr.location")
    assert len(rows) == 4
    cells = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    # The demo's drifting home (the fourth it generates) comes first, its level and its incident
    # learning in words beside a symbol; then Oak House and Elm Court, partly assured for their late
    # follow-ups and care plan reviews; then Riverside, the control.
    assert cells[0] == "Willow Lodge"
    assert cells[1] == "✖not assured"
    assert cells[2] == "2 escalations open, 0 overdue actions"
    assert cells[4].startswith("✖not assured")
    levels = [(row.find_elements(By.TAG_NAME, "td")[0].text, row.find_elements(By.TAG_NAME, "td")[1].text[1:])
              for row in rows[1:]]
    assert sorted(levels[:2]) == [("Elm Court Nursing Home", "partly assured"), ("Oak House", "partly assured")]
    assert levels[2] == ("Riverside Supported Living", "assured and sustained")
    # The overview's link leads to the location's own section.
    rows[0].find_element(By.TAG_NAME, "a").click()
    assert browser.execute_script("return location.hash") == "#loc-willow-lodge"
    browser.execute_script("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    # No id, date or period breaks across lines: each is one line high, and the page is no wider
    # than the window.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280
    # Each id, date and period cell's text: the number of lines its glyphs sit on (the tops of its
    # line boxes), and its height against one line.
    lines = browser.execute_script("""
        return Array.from(document.querySelectorAll('.ids, .date, .period')).map(el => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
            const tops = new Set(rects.map(r => Math.round(r.top)));
            const height = Math.max(...rects.map(r => r.bottom)) - Math.min(...rects.map(r => r.top));
            const style = getComputedStyle(el);
            return [el.textContent, tops.size, height, parseFloat(style.fontSize)];
        });""")
    assert len(lines) > 100
    for text, tops, height, font in lines:
        assert tops == 1 and height <= 2 * font, text


def test_the_first_screen_says_why_and_what_to_do_and_print_shows_every_detail(run_cli, browser, tmp_path):
    from selenium.webdriver.common.by import By

    pack = tmp_path / "pack.html"
    result = run_cli("demo", "--engine", "reference", "--format", "html", "--output", pack, "--db", tmp_path / "d.db")
    assert result.exit_code == 0, result.stderr
    browser.set_window_size(1280, 900)
    browser.get(pack.as_uri())
    fold = browser.execute_script("return window.innerHeight")

    def on_first_screen(text):
        found = [el for el in browser.find_elements(By.XPATH, f"//body//*[contains(., {text!r})]") if el.is_displayed()]
        assert found, text
        return min(el.rect["y"] + el.rect["height"] for el in found) <= fold

    # Willow Lodge, the lowest: its level, its short target's reason in numbers (0 of its 6 incidents
    # reviewed within five working days in August), and its first escalation's action, owner and due.
    brief = browser.find_element(By.CSS_SELECTOR, "section.brief")
    assert brief.get_attribute("data-location") == "Willow Lodge"
    assert brief.find_element(By.TAG_NAME, "h3").text == "✖Willow Lodge: NOT ASSURED"
    assert on_first_screen("Willow Lodge: ")
    assert on_first_screen("0 of 6 in 2026-08, against at least 95%")
    first = brief.find_element(By.CSS_SELECTOR, "table.todo tbody tr")
    action, owner, due = (cell.text for cell in first.find_elements(By.TAG_NAME, "td")[:3])
    assert (owner, due) == ("registered manager", "2026-09-07")
    assert first.rect["y"] + first.rect["height"] <= fold, action
    # With every details section closed, the pack is at most 8,000 px tall.
    assert browser.execute_script("return document.body.scrollHeight") <= 8000
    # Printed, every location's details are there to read.
    hidden = "return Array.from(document.querySelectorAll('section.location-section table.location-targets'))" \
             ".map(t => t.checkVisibility())"
    assert browser.execute_script(hidden) == [False] * 4
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.execute_script(hidden) == [True] * 4
