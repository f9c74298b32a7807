"""The HTML report in a real browser: headless Chromium (the Debian package) through selenium.

Renders the page with the network switched off, takes a screenshot, and checks that the page logged
no console error, drew its plots and shows every arm, its headline (gate, findings) on the first
screen and Chinese text as glyphs, not boxes (a CJK font: .ci/run installs fonts-noto-cjk); then that
the arm filter hides one arm. Skips where chromium, chromedriver or selenium is absent (.ci/run
installs them where apt-get can). FRAUDFT_SCREENSHOT=PATH keeps the screenshot there to look at.
"""

from __future__ import annotations

import os
import shutil

import pytest

from fraudft.results.report import write_report
from fraudft.results.store import load_records

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="no chromium / chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,2400"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    # Offline: a page that fetched anything (a CDN script) would fail to draw and log an error.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    yield driver
    driver.quit()


def test_report_renders_offline_without_console_errors_and_shows_every_arm(browser, one_commit, fake, history_module, tmp_path):
    audit = {"worst_level": "fail", "counts": {"fail": 1},
             "findings": ["[fail] speaker_tags train: numbered (发言人N) tags in 96.0% of fraud vs 4.0% of not-fraud "
                          "records: how dialogues are written predicts the label"]}
    fake.record(one_commit, "c1", "alpha_r4", fn=30, fp=5, audit=audit)
    records = load_records(one_commit, "c1")
    arms = list(dict.fromkeys(r.arm for r in records))
    page = write_report(records, "c1", tmp_path / "report.html", root=one_commit, n_resamples=200)
    browser.get(page.resolve().as_uri())

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    drawn = browser.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length")
    assert drawn >= 5  # bars, PR curves, reliability, loss curves, history charts
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.summary tr[data-arm-row]'))"
        ".filter(tr => tr.offsetParent !== null).map(tr => tr.dataset.armRow)")
    assert shown == arms
    legend = browser.execute_script(
        "return Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent).join(' | ')")
    for arm in arms:
        if arm != "rslora":  # failed: no curve
            assert arm in legend

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 20_000
    if os.environ.get("FRAUDFT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["FRAUDFT_SCREENSHOT"])

    # The headline: on the first screen, under the title, the gate and the findings with their fix.
    headline = browser.execute_script("""
        const h = document.getElementById('headline'); const r = h.getBoundingClientRect();
        return [h.innerText, r.top, r.height, window.innerHeight];""")
    text, top, height, screen = headline
    assert "gate FAILED" in text and "speaker_tags check (FAIL)" in text and "--neutralize-speakers" in text
    assert 0 < top < screen and height > 20
    # Chinese text in glyphs: two different characters drawn in the page's font differ and have ink
    # (without a CJK font both are the same box, or nothing).
    cjk = browser.execute_script("""
        const font = getComputedStyle(document.getElementById('headline')).fontFamily;
        function draw(ch) {
            const c = document.createElement('canvas'); c.width = 48; c.height = 48;
            const g = c.getContext('2d'); g.font = '32px ' + font; g.fillStyle = '#000'; g.fillText(ch, 6, 38);
            return [g.measureText(ch).width, Array.from(g.getImageData(0, 0, 48, 48).data)];
        }
        const [w1, a] = draw('诈'), [w2, b] = draw('骗');
        return [font, w1, w2, a.some(v => v > 0), a.join() !== b.join()];""")
    font, width1, width2, inked, different = cjk
    assert "Noto Sans CJK SC" in font
    assert width1 > 0 and width2 > 0 and inked and different, f"CJK drawn as boxes or blanks in {font}"
    assert "发言人N" in text

    # The arm filter: unticking an arm hides its rows and its traces in every figure.
    browser.find_element("css selector", '#arm-filter input[data-arm="reference"]').click()
    hidden = browser.execute_script("""
        const rows = Array.from(document.querySelectorAll('tr[data-arm-row="reference"]'));
        const traces = Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(gd => gd.data)
            .filter(t => t.legendgroup === 'reference');
        return [rows.length, rows.every(r => r.offsetParent === null), traces.length, traces.every(t => t.visible === false)];
    """)
    assert hidden[0] > 0 and hidden[1] and hidden[2] > 0 and hidden[3]
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
