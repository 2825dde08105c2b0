"""A Solara page works with no CDN: every asset comes from Solara's own server.

Needs scripts/install_solara_assets.py (fills the asset cache from npm) and
scripts/install_browser.sh (Debian chromium) to have been run.
"""

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

HELLO = Path(__file__).parent / "apps" / "hello.py"


def test_hello_app_renders_and_reacts_offline(solara_server, page, network_log):
    base_url = solara_server(HELLO)

    failed = []  # loopback responses >= 400, e.g. an asset missing from the cache
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(base_url, wait_until="load", timeout=60_000)
    # the shell's scripts/styles are loaded by now: fail fast and clearly on a cache miss
    assert not failed, "asset requests failed (run scripts/install_solara_assets.py?):\n" + "\n".join(failed)

    button = page.get_by_role("button", name="Increment")
    button.wait_for(timeout=60_000)  # the app shell, Vue and the widget manager all loaded
    count = page.locator(".solara-markdown")
    count.filter(has_text="Count: 0").wait_for(timeout=30_000)

    button.click()
    count.filter(has_text="Count: 1").wait_for(timeout=15_000)
    button.click()
    count.filter(has_text="Count: 2").wait_for(timeout=15_000)

    # let late, lazily loaded assets (katex/mermaid via requirejs) finish before judging
    page.wait_for_load_state("networkidle", timeout=30_000)

    assert network_log.external == [], "requests left the machine (CDN?):\n" + "\n".join(network_log.external)
    assert not failed, "asset requests failed (run scripts/install_solara_assets.py?):\n" + "\n".join(failed)
    assert not errors, "JavaScript errors on the page:\n" + "\n".join(errors)
    # the assets really came through Solara's own proxy route
    assert any("/_solara/cdn/" in u for u in network_log.all), network_log.all
