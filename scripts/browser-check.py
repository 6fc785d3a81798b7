"""Swagger UI in a real browser: headless Chromium opens /docs, checks that the operations are
listed, runs GET /health through "Try it out" / "Execute" and reads the live response.

Usually run through scripts/browser-check.sh, which starts the service and passes BASE_URL.

    python scripts/browser-check.py --base-url http://127.0.0.1:8000 \
        --screenshot target/browser-check.png

Exits 0 when every step passed, 1 with a message naming the failed step otherwise. A
screenshot is saved in both cases (the page as it was at the end or at the failure).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

REQUIRED_PATHS = ("/health", "/api/simulate", "/api/balance")


class CheckFailed(Exception):
    """A step of the check did not hold; the message says which and why."""


def log(message: str) -> None:
    print(f"browser-check: {message}", flush=True)


def make_driver(chromium: str, chromedriver: str, page_load_timeout: float) -> WebDriver:
    for path, what in ((chromium, "chromium"), (chromedriver, "chromedriver")):
        if not os.access(path, os.X_OK):
            raise CheckFailed(
                f"{what} not found at {path} (Debian: apt-get install -y chromium chromium-driver)"
            )
    options = Options()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1100",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(page_load_timeout)
    driver.set_script_timeout(page_load_timeout)
    return driver


def wait_for(driver: WebDriver, timeout: float, what: str, condition):
    """Explicit, bounded wait; a timeout becomes a CheckFailed naming what was awaited."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what}") from None


def click(driver: WebDriver, element: WebElement) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    try:
        element.click()
    except WebDriverException:
        # Covered by a sticky header or mid-animation: a DOM click does what a user's would.
        driver.execute_script("arguments[0].click();", element)


def listed_operations(driver: WebDriver) -> list[tuple[str, str]]:
    ops = []
    for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_elements(By.CSS_SELECTOR, ".opblock-summary-method")
        path = block.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        if method and path:
            path_text = path[0].get_attribute("data-path") or path[0].text
            ops.append((method[0].text.strip().upper(), path_text.strip()))
    return ops


def find_operation(driver: WebDriver, method: str, path: str) -> WebElement:
    for block in driver.find_elements(By.CSS_SELECTOR, f".opblock.opblock-{method.lower()}"):
        for el in block.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"):
            if (el.get_attribute("data-path") or el.text).strip() == path:
                return block
    raise CheckFailed(f"operation {method} {path} is not listed")


def live_response(block: WebElement) -> tuple[str, str] | None:
    """(status, body) of the live response shown in this operation block, once present."""
    rows = block.find_elements(By.CSS_SELECTOR, ".live-responses-table tbody tr.response")
    for row in rows:
        status = row.find_elements(By.CSS_SELECTOR, ".response-col_status")
        body = row.find_elements(By.CSS_SELECTOR, ".response-col_description pre")
        if status and body and status[0].text.strip() and body[0].text.strip():
            return status[0].text.strip(), body[0].text
    return None


def foreign_resources(driver: WebDriver, base_url: str) -> list[str]:
    """Resources the page loaded from anywhere but the service (the UI must work offline)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    return [
        n for n in names or [] if not n.startswith(origin) and not n.startswith(("data:", "blob:"))
    ]


def run(driver: WebDriver, base_url: str, timeout: float) -> None:
    docs = base_url.rstrip("/") + "/docs"
    log(f"opening {docs}")
    try:
        driver.get(docs)
    except TimeoutException:
        raise CheckFailed(f"{docs} did not load within {timeout:.0f}s") from None

    wait_for(
        driver,
        timeout,
        "the Swagger UI to list operations (.opblock)",
        lambda d: len(listed_operations(d)) >= len(REQUIRED_PATHS),
    )
    ops = listed_operations(driver)
    log(f"{len(ops)} operations listed: " + ", ".join(f"{m} {p}" for m, p in ops))
    listed_paths = {p for _, p in ops}
    missing = [p for p in REQUIRED_PATHS if p not in listed_paths]
    if missing:
        raise CheckFailed("operations missing from the Swagger UI: " + ", ".join(missing))

    block = find_operation(driver, "GET", "/health")
    summary = block.find_element(By.CSS_SELECTOR, ".opblock-summary")
    click(driver, summary)
    log("expanded GET /health")

    try_out = wait_for(
        driver,
        timeout,
        'the "Try it out" button of GET /health',
        lambda d: next(
            (b for b in block.find_elements(By.CSS_SELECTOR, "button.try-out__btn") if b.is_displayed()),
            False,
        ),
    )
    if "try it out" not in try_out.text.strip().lower():
        raise CheckFailed(f'expected a "Try it out" button, found {try_out.text!r}')
    click(driver, try_out)
    log('clicked "Try it out"')

    execute = wait_for(
        driver,
        timeout,
        'the "Execute" button of GET /health',
        lambda d: next(
            (b for b in block.find_elements(By.CSS_SELECTOR, "button.execute") if b.is_displayed()),
            False,
        ),
    )
    click(driver, execute)
    log('clicked "Execute"')

    status, body = wait_for(
        driver,
        timeout,
        "the live response of GET /health",
        lambda d: live_response(block) or False,
    )
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'});",
        block.find_element(By.CSS_SELECTOR, ".live-responses-table"),
    )
    compact_body = " ".join(body.split())
    log(f"live response: status {status}, body {compact_body}")
    if status != "200":
        raise CheckFailed(f"GET /health answered {status} in the Swagger UI, expected 200: {compact_body}")
    if '"status"' not in body:
        raise CheckFailed(f'the response body shown has no "status" field: {compact_body}')

    foreign = foreign_resources(driver, base_url)
    if foreign:
        raise CheckFailed(
            "the page loaded resources from outside the service (it must work offline): "
            + ", ".join(foreign)
        )
    log("no resource was loaded from outside the service")


def severe_console_messages(driver: WebDriver) -> list[str]:
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    return [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL"))
    parser.add_argument("--screenshot", default="target/browser-check.png")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument(
        "--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    )
    args = parser.parse_args()
    if not args.base_url:
        print("browser-check: FAILED: no --base-url and no BASE_URL", file=sys.stderr)
        return 2

    # Selenium must not try to fetch a browser or driver: both come from Debian's packages.
    os.environ["SE_OFFLINE"] = "true"
    started = time.monotonic()
    driver = None
    try:
        driver = make_driver(args.chromium, args.chromedriver, args.timeout)
        log(f"{driver.capabilities.get('browserName')} {driver.capabilities.get('browserVersion')}")
        run(driver, args.base_url, args.timeout)
        for line in severe_console_messages(driver):
            log(f"note: browser console error: {line}")
    except (CheckFailed, WebDriverException) as err:
        message = err.msg if isinstance(err, WebDriverException) and err.msg else str(err)
        print(f"browser-check: FAILED: {message}", file=sys.stderr)
        if driver is not None:
            for line in severe_console_messages(driver):
                print(f"browser-check: console error: {line}", file=sys.stderr)
        return 1
    finally:
        if driver is not None:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
                if driver.save_screenshot(args.screenshot):
                    log(f"screenshot saved to {args.screenshot}")
            except WebDriverException as err:
                print(f"browser-check: could not save the screenshot: {err.msg}", file=sys.stderr)
            driver.quit()
    log(f"passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
