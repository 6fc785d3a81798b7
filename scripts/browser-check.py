"""Swagger UI in a real browser, used as a person would: headless Chromium opens /docs, checks
that the operations are listed, authorizes, and runs operations with "Try it out" / "Execute",
reading each live response from the page.

Usually run through scripts/browser-check.sh, which starts one instance per AUTH_MODE and
passes their addresses.

    python scripts/browser-check.py --header-url http://127.0.0.1:8000 \
        --api-key-url http://127.0.0.1:8001 --admin-token "$ADMIN_TOKEN" \
        --out-dir target/browser-check

With --header-url (AUTH_MODE=header): GET /health; Authorize the actor (ActorHeader); then
POST /api/simulate with each named example (`catalogue`, then `inline`: the same match, so a
cache hit), GET /api/balance and GET /api/ledger, each a 200 shown on the page with the
actor's header in the request Swagger UI shows.
With --api-key-url (AUTH_MODE=api_key): Authorize the admin token (AdminBearer), create an API
key with POST /api/admin/api-keys (201), Authorize that key (ApiKeyBearer), then the same four
operations, sent with the key.
Throughout: no request leaves the service's origin (the browser's network log), and no
resource comes from elsewhere (the UI works offline).

Screenshots of each operation after its response, and of the page at the end or at a
failure, go to --out-dir. Exits 0 when every step passed, 1 with a message naming the failed
step otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

REQUIRED_PATHS = ("/health", "/api/simulate", "/api/balance", "/api/ledger")
SIMULATE_EXAMPLES = ("catalogue", "inline")


class CheckFailed(Exception):
    """A step of the check did not hold; the message says which and why."""


def log(message: str) -> None:
    print(f"browser-check: {message}", flush=True)


def make_driver(
    chromium: str, chromedriver: str, page_load_timeout: float, network_log: bool = False
) -> WebDriver:
    """Debian's Chromium through chromedriver, headless. With network_log, the DevTools
    network events are kept (driver.get_log("performance")), so every request the page sends
    can be read afterwards."""
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
    logging = {"browser": "ALL"}
    if network_log:
        logging["performance"] = "ALL"
        options.set_capability(
            "goog:perfLoggingPrefs", {"enableNetwork": True, "enablePage": False}
        )
    options.set_capability("goog:loggingPrefs", logging)
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


def visible(elements: list[WebElement]) -> WebElement | bool:
    return next((e for e in elements if e.is_displayed()), False)


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


class Page:
    """The Swagger UI page of one instance, and what a person does on it."""

    def __init__(self, driver: WebDriver, base_url: str, timeout: float, out_dir: str, mode: str):
        self.driver, self.timeout, self.out_dir, self.mode = driver, timeout, out_dir, mode
        self.base_url = base_url.rstrip("/")
        self.shots = 0

    def open(self) -> None:
        docs = self.base_url + "/docs"
        log(f"[{self.mode}] opening {docs}")
        try:
            self.driver.get(docs)
        except TimeoutException:
            raise CheckFailed(f"{docs} did not load within {self.timeout:.0f}s") from None
        wait_for(
            self.driver,
            self.timeout,
            "the Swagger UI to list operations (.opblock)",
            lambda d: len(listed_operations(d)) >= len(REQUIRED_PATHS),
        )
        ops = listed_operations(self.driver)
        log(f"[{self.mode}] {len(ops)} operations listed")
        missing = [p for p in REQUIRED_PATHS if p not in {p for _, p in ops}]
        if missing:
            raise CheckFailed("operations missing from the Swagger UI: " + ", ".join(missing))

    def screenshot(self, name: str, element: WebElement | None = None) -> None:
        self.shots += 1
        path = os.path.join(self.out_dir, f"{self.mode}-{self.shots:02d}-{name}.png")
        saved = (
            element.screenshot(path) if element is not None else self.driver.save_screenshot(path)
        )
        if not saved:
            raise CheckFailed(f"could not save the screenshot {path}")

    def authorize(self, scheme: str, value: str) -> None:
        """Authorize → the scheme's Value → Authorize → Close, as in the dialog."""
        driver, timeout = self.driver, self.timeout
        button = wait_for(
            driver,
            timeout,
            'the "Authorize" button',
            lambda d: visible(d.find_elements(By.CSS_SELECTOR, ".auth-wrapper .btn.authorize")),
        )
        click(driver, button)
        block_xpath = (
            "//div[contains(@class,'modal-ux')]//div[contains(@class,'auth-container')]"
            f"//h4[code[normalize-space()='{scheme}']]/.."
        )
        block = wait_for(
            driver,
            timeout,
            f"the {scheme} form in the authorization dialog",
            lambda d: visible(d.find_elements(By.XPATH, block_xpath)),
        )
        field = block.find_element(By.CSS_SELECTOR, "input")
        field.send_keys(value)
        form = block.find_element(By.XPATH, "./ancestor::form")
        click(driver, form.find_element(By.CSS_SELECTOR, "button.authorize[type=submit]"))
        wait_for(
            driver,
            timeout,
            f"{scheme} to show as authorized",
            lambda d: any(
                h.text.strip() == "Authorized"
                for b in d.find_elements(By.XPATH, block_xpath)
                for h in b.find_elements(By.CSS_SELECTOR, "h6")
            ),
        )
        self.screenshot(f"authorized-{scheme}", driver.find_element(By.CSS_SELECTOR, ".modal-ux"))
        click(driver, form.find_element(By.CSS_SELECTOR, "button.btn-done"))
        wait_for(
            driver,
            timeout,
            "the authorization dialog to close",
            lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal-ux"),
        )
        log(f"[{self.mode}] authorized {scheme}")

    def try_out(self, method: str, path: str) -> WebElement:
        """Expands the operation (when collapsed) and clicks "Try it out" (when not yet)."""
        driver, timeout = self.driver, self.timeout
        block = find_operation(driver, method, path)
        if "is-open" not in (block.get_attribute("class") or ""):
            click(driver, block.find_element(By.CSS_SELECTOR, ".opblock-summary"))
        button = wait_for(
            driver,
            timeout,
            f'the "Try it out" button of {method} {path}',
            lambda d: visible(block.find_elements(By.CSS_SELECTOR, "button.try-out__btn")),
        )
        if button.text.strip().lower() == "try it out":
            click(driver, button)
        return block

    def choose_example(self, block: WebElement, name: str) -> None:
        select = wait_for(
            self.driver,
            self.timeout,
            "the request body's example list",
            lambda d: visible(
                block.find_elements(
                    By.CSS_SELECTOR, ".opblock-section-request-body select.examples-select-element"
                )
            ),
        )
        Select(select).select_by_value(name)

    def type_body(self, block: WebElement, body: dict) -> None:
        area = wait_for(
            self.driver,
            self.timeout,
            "the request body editor",
            lambda d: visible(block.find_elements(By.CSS_SELECTOR, "textarea.body-param__text")),
        )
        area.send_keys(Keys.CONTROL, "a")
        area.send_keys(Keys.DELETE)
        area.send_keys(json.dumps(body))

    def execute(self, block: WebElement, what: str, expected: str) -> tuple[str, str]:
        """Execute; the live response's status must be `expected`. Returns (body, curl)."""
        driver, timeout = self.driver, self.timeout
        for clear in block.find_elements(By.CSS_SELECTOR, "button.btn-clear"):
            if clear.is_displayed():
                click(driver, clear)
        wait_for(
            driver,
            timeout,
            f"the previous response of {what} to clear",
            lambda d: live_response(block) is None,
        )
        execute = wait_for(
            driver,
            timeout,
            f'the "Execute" button of {what}',
            lambda d: visible(block.find_elements(By.CSS_SELECTOR, "button.execute")),
        )
        click(driver, execute)
        status, body = wait_for(
            driver, timeout, f"the live response of {what}", lambda d: live_response(block) or False
        )
        # The screenshot shows the request as curl, then the status and body shown for it.
        table = block.find_element(By.CSS_SELECTOR, ".live-responses-table")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", table)
        driver.execute_script("window.scrollBy(0, -420);")
        curl = " ".join(e.text for e in block.find_elements(By.CSS_SELECTOR, ".curl-command"))
        compact = " ".join(body.split())
        log(f"[{self.mode}] {what}: {status} {compact[:160]}{'…' if len(compact) > 160 else ''}")
        self.screenshot(what.replace(" ", "-").replace("/", "_").strip("_"))
        if status != expected:
            raise CheckFailed(
                f"{what} answered {status} in the Swagger UI, expected {expected}: {compact}"
            )
        return body, curl


def parse(body: str, what: str) -> dict:
    try:
        return json.loads(body)
    except ValueError:
        raise CheckFailed(f"{what}: the body shown is not JSON: {body[:300]}") from None


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def caller_operations(page: Page, actor: str, credential: str) -> None:
    """Both simulate examples, balance and ledger, each sent with `credential` (a header as
    the request's curl shows it)."""
    block = page.try_out("POST", "/api/simulate")
    fingerprints = []
    for name in SIMULATE_EXAMPLES:
        page.choose_example(block, name)
        body, curl = page.execute(block, f"POST /api/simulate {name}", "200")
        expect(credential in curl, f"the simulate request did not carry {credential!r}: {curl}")
        result = parse(body, f"simulate {name}")
        fingerprints.append(result["meta"]["fingerprint"])
        if name == "inline":
            expect(
                result["meta"]["cache_hit"],
                "the inline example (the same match) was not a cache hit",
            )
    expect(
        len(set(fingerprints)) == 1, f"the two examples gave different fingerprints: {fingerprints}"
    )

    body, curl = page.execute(page.try_out("GET", "/api/balance"), "GET /api/balance", "200")
    expect(credential in curl, f"the balance request did not carry {credential!r}: {curl}")
    expect(parse(body, "balance")["actor_id"] == actor, f"the balance is not {actor}'s: {body}")

    body, curl = page.execute(page.try_out("GET", "/api/ledger"), "GET /api/ledger", "200")
    ledger = parse(body, "ledger")
    expect(ledger["actor_id"] == actor, f"the ledger is not {actor}'s: {body}")
    expect(
        any(e["kind"] == "spend" for e in ledger["entries"]), f"the ledger shows no spend: {body}"
    )


def header_mode(page: Page) -> None:
    page.open()
    body, _ = page.execute(page.try_out("GET", "/health"), "GET /health", "200")
    expect(parse(body, "health").get("status") == "ok", f"GET /health: {body}")
    actor = "browser-check"
    page.authorize("ActorHeader", actor)
    caller_operations(page, actor, f"X-Actor-ID: {actor}")


def api_key_mode(page: Page, admin_token: str) -> None:
    page.open()
    page.authorize("AdminBearer", admin_token)
    actor = "browser-check-key"
    block = page.try_out("POST", "/api/admin/api-keys")
    page.type_body(block, {"actor_id": actor, "label": "created in Swagger UI"})
    body, _ = page.execute(block, "POST /api/admin/api-keys", "201")
    key = parse(body, "the created key").get("key")
    expect(isinstance(key, str) and key, f"no key in the created key's body: {body}")
    page.authorize("ApiKeyBearer", key)
    caller_operations(page, actor, f"Authorization: Bearer {key}")


def requests_sent(driver: WebDriver) -> list[str]:
    """URLs of every request the browser sent since the last call (the network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def check_origin(page: Page) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.base_url))
    urls = requests_sent(page.driver)
    names = page.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    foreign = sorted(
        {
            u
            for u in urls + list(names or [])
            if not u.startswith(origin + "/") and not u.startswith(("data:", "blob:", "about:"))
        }
    )
    expect(urls != [], "the network log recorded no request at all")
    if foreign:
        raise CheckFailed("requests left the service's origin: " + ", ".join(foreign))
    log(f"[{page.mode}] {len(urls)} requests, all to {origin}")


def severe_console_messages(driver: WebDriver) -> list[str]:
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    return [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--header-url", help="an instance with AUTH_MODE=header")
    parser.add_argument("--api-key-url", help="an instance with AUTH_MODE=api_key")
    parser.add_argument("--admin-token", default=os.environ.get("ADMIN_TOKEN"))
    parser.add_argument("--out-dir", default="target/browser-check")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument(
        "--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    )
    args = parser.parse_args()
    if not args.header_url and not args.api_key_url:
        print("browser-check: FAILED: give --header-url, --api-key-url or both", file=sys.stderr)
        return 2
    if args.api_key_url and not args.admin_token:
        print("browser-check: FAILED: --api-key-url needs --admin-token", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)

    # Selenium must not try to fetch a browser or driver: both come from Debian's packages.
    os.environ["SE_OFFLINE"] = "true"
    started = time.monotonic()
    driver = None
    page = None
    try:
        driver = make_driver(args.chromium, args.chromedriver, args.timeout, network_log=True)
        log(f"{driver.capabilities.get('browserName')} {driver.capabilities.get('browserVersion')}")
        if args.header_url:
            page = Page(driver, args.header_url, args.timeout, args.out_dir, "header")
            header_mode(page)
            check_origin(page)
            page.screenshot("page")
        if args.api_key_url:
            page = Page(driver, args.api_key_url, args.timeout, args.out_dir, "api_key")
            api_key_mode(page, args.admin_token)
            check_origin(page)
            page.screenshot("page")
        for line in severe_console_messages(driver):
            log(f"note: browser console error: {line}")
    except (CheckFailed, WebDriverException) as err:
        message = err.msg if isinstance(err, WebDriverException) and err.msg else str(err)
        print(f"browser-check: FAILED: {message}", file=sys.stderr)
        if driver is not None:
            for line in severe_console_messages(driver):
                print(f"browser-check: console error: {line}", file=sys.stderr)
            try:
                if page is not None:
                    page.screenshot("failure")
                else:
                    driver.save_screenshot(os.path.join(args.out_dir, "failure.png"))
            except (CheckFailed, WebDriverException) as shot:
                print(f"browser-check: could not save the screenshot: {shot}", file=sys.stderr)
        return 1
    finally:
        if driver is not None:
            driver.quit()
    log(f"passed in {time.monotonic() - started:.1f}s; screenshots in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
