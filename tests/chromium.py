"""Debian's headless Chromium, started the same way by every browser test."""

from __future__ import annotations

from selenium.webdriver.chrome.options import Options

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Headless, no sandbox (root in CI), no GPU, no background traffic or updates.
HEADLESS_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: Any network fetch fails: proves a page needs none.
NO_NETWORK = "--proxy-server=127.0.0.1:9"


def chromium_options(*extra: str) -> Options:
    """Selenium options for :data:`CHROMIUM` with :data:`HEADLESS_ARGS` and ``extra``."""
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (*HEADLESS_ARGS, *extra):
        options.add_argument(arg)
    return options
