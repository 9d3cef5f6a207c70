"""Open a Snakemake HTML report in headless Chromium and screenshot every figure it lists.

    pip install playwright          # the Python package only; the browser is Debian's: apt-get install chromium
    python docs/report-check/screenshot_report.py report.html /tmp/shots
"""
import sys

from playwright.sync_api import sync_playwright

html, out = sys.argv[1], sys.argv[2]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    for category in ("Ablations", "Downstream", "Main run"):
        page.goto(f"file://{html}")
        page.wait_for_timeout(1500)
        page.get_by_text(category, exact=True).click()
        page.wait_for_timeout(800)
        rows = page.locator("tr")
        n = rows.count()
        for i in range(n):
            row = rows.nth(i)
            name = row.inner_text().strip()
            buttons = row.locator("a, button, svg")
            if not name or buttons.count() == 0:
                continue
            buttons.first.click()  # the row's eye icon opens the figure
            page.wait_for_timeout(1500)
            page.screenshot(path=f"{out}/{name.replace(' ', '_')}.png")
            print(category, name, "img:", page.locator("img").count())
            page.goto(f"file://{html}")
            page.wait_for_timeout(1200)
            page.get_by_text(category, exact=True).click()
            page.wait_for_timeout(600)
            rows = page.locator("tr")
    browser.close()
