"""The explorer page (/explore) in a real browser, end to end against a running service.

Usually run through scripts/explorer-check.sh, which starts the service with a small daily
allowance and passes BASE_URL. Steps, each failing with a message naming what did not hold:

1. `/` redirects to the page; the caller is entered once; a catalogue match is run from the
   keyboard, and every number the page shows equals the API's (a direct POST replay of the
   same inputs and seed, which is a free cache hit).
2. The page's share link, opened afresh, shows the same numbers through
   GET /api/simulations/{fingerprint} with no token spent.
3. A link whose result is no longer stored gets a 404 and an offer to compute it again,
   which gives the API's numbers for those inputs and seed (the largest seed the service
   accepts, 2^53 - 1, carried digit for digit).
4. A rating out of range: the 400 marks the field the problem names.
5. Runs with new seeds until the allowance is spent: the 402 says so and says when more
   tokens come (the balance's next_allowance_at).
6. Throughout: no request leaves the service's origin, none fails at the network level, the
   only error statuses are the ones provoked above, and the console stays free of errors;
   text contrast is at least 4.5:1, every control has a name, and at 360 px nothing scrolls
   sideways.

Screenshots (desktop 1280x900 and phone 360x780, viewport and full page) go to --out-dir.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))

from cdp import CdpSession  # noqa: E402
from explorer_page import (  # noqa: E402
    LOW_CONTRAST,
    OVERFLOW,
    READ_SHOWN,
    UNNAMED_CONTROLS,
    differences,
    expected_text,
)

# The Swagger UI check's browser helpers (Debian's chromium through chromedriver, bounded
# waits, clicks that survive overlays), loaded from its file rather than copied.
_spec = importlib.util.spec_from_file_location("browser_check", HERE / "browser-check.py")
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)
CheckFailed = browser.CheckFailed

MATCH = "demo_003"
ITERATIONS = 20000
SEED = 4242


def log(message: str) -> None:
    print(f"explorer-check: {message}", flush=True)


class Api:
    """Direct calls to the service, to compare the page with."""

    def __init__(self, base_url: str, actor: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.actor = actor

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Actor-ID": self.actor, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def simulate(self, body: dict) -> dict:
        status, result = self.call("POST", "/api/simulate", body)
        if status != 200:
            raise CheckFailed(f"direct POST /api/simulate {body} answered {status}: {result}")
        return result

    def balance(self) -> dict:
        status, balance = self.call("GET", "/api/balance")
        if status != 200:
            raise CheckFailed(f"direct GET /api/balance answered {status}: {balance}")
        return balance


class Explorer:
    """The page in the browser, with the DevTools session watching it."""

    def __init__(self, driver, cdp: CdpSession, base_url: str, timeout: float) -> None:
        self.driver, self.cdp, self.base_url, self.timeout = driver, cdp, base_url.rstrip("/"), timeout

    def wait(self, what: str, condition):
        return browser.wait_for(self.driver, self.timeout, what, lambda d: condition())

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.driver.refresh()  # a link differing only in its #fragment would not reload
        self.wait("the page to be ready", lambda: self.js("return document.body.dataset.ready === 'true'"))

    def field(self, element_id: str, text: str) -> None:
        element = self.driver.find_element(By.ID, element_id)
        element.clear()
        element.send_keys(text)

    def message(self) -> str:
        return self.js("return document.getElementById('message').textContent")

    def fingerprint(self) -> str:
        return self.js(
            "const r = document.getElementById('results');"
            "return r.hidden || r.getAttribute('aria-busy') === 'true' ? '' :"
            " r.querySelector('[data-k=\"meta.fingerprint\"]').textContent"
        )

    def shown(self) -> dict[str, str]:
        return self.js(READ_SHOWN)

    def balance_shown(self) -> str:
        return self.js("return document.querySelector('[data-k=\"balance.balance\"]')?.textContent ?? ''")

    def settled(self) -> int:
        """How many runs and link openings the page has finished."""
        return int(self.js("return document.body.dataset.settled ?? '0'"))

    def press(self, action, what: str) -> None:
        """Does `action` (which starts a run) and waits until the page has finished it."""
        before = self.settled()
        action()
        self.wait(what, lambda: self.settled() > before)

    def run(self, what: str) -> None:
        self.press(lambda: browser.click(self.driver, self.driver.find_element(By.ID, "run")), what)

    def audit(self, where: str) -> None:
        for script, what in ((LOW_CONTRAST, "text under 4.5:1 contrast"), (UNNAMED_CONTROLS, "controls without a name")):
            found = self.js(script)
            if found:
                raise CheckFailed(f"{where}: {what}: " + "; ".join(found))

    def screenshots(self, out_dir: Path, name: str) -> None:
        self.js("window.scrollTo(0, 0)")
        time.sleep(0.3)
        self.cdp.screenshot(out_dir / f"{name}.png")
        self.cdp.screenshot(out_dir / f"{name}-full.png", full_page=True)
        log(f"screenshots {out_dir / name}.png and {name}-full.png")


def run(page: Explorer, api: Api, out_dir: Path) -> set[tuple[str, str, int]]:
    """The steps of the module docstring; returns the error responses it provoked on purpose."""
    provoked: set[tuple[str, str, int]] = set()
    base = page.base_url

    # 1. The front door, the caller, a catalogue run from the keyboard.
    page.cdp.emulate_viewport(1280, 900)
    page.open(base + "/")
    if not page.driver.current_url.startswith(base + "/explore"):
        raise CheckFailed(f"/ led to {page.driver.current_url}, expected {base}/explore")
    page.wait("the catalogue in the match list", lambda: len(Select(page.driver.find_element(By.ID, "event-select")).options) > 1)
    page.field("caller-value", api.actor)
    page.driver.find_element(By.ID, "caller-value").send_keys(Keys.ENTER)
    page.wait("the balance of the new caller", lambda: page.balance_shown() != "")
    Select(page.driver.find_element(By.ID, "event-select")).select_by_value(MATCH)
    page.field("iterations", str(ITERATIONS))
    page.field("seed", str(SEED))
    page.driver.find_element(By.ID, "seed").send_keys(Keys.TAB)
    focused = page.js("const e = document.activeElement; return [e.id, getComputedStyle(e).outlineStyle]")
    if focused != ["run", "solid"]:
        raise CheckFailed(f"Tab from the seed should reach the run button with a visible outline, got {focused}")
    page.press(lambda: page.driver.switch_to.active_element.send_keys(Keys.ENTER), "the first run")
    replay = api.simulate({"event_id": MATCH, "iterations": ITERATIONS, "seed": SEED})
    if not replay["meta"]["cache_hit"] or replay["meta"]["cost_tokens"] != 0:
        raise CheckFailed(f"the replay of the page's run was not a free cache hit: {replay['meta']}")
    wrong = differences(page.shown(), expected_text(replay))
    if wrong:
        raise CheckFailed("the page's numbers differ from the API's:\n  " + "\n  ".join(wrong))
    balance = api.balance()["balance"]
    page.wait(f"the page to show the balance {balance}", lambda: page.balance_shown() == str(balance))
    log(f"catalogue run: {len(expected_text(replay))} values on the page equal the API's; balance {balance}")
    page.audit("desktop result")
    page.screenshots(out_dir, "desktop")

    # 2. The share link, opened afresh.
    link = page.js("return document.getElementById('share-link').value")
    fingerprint = replay["meta"]["fingerprint"]
    if not link.startswith(f"{base}/explore#fp={fingerprint}&"):
        raise CheckFailed(f"unexpected share link {link}")
    page.open(link)
    page.wait(
        f"the shared result (GET /api/simulations/{fingerprint[:12]}…)",
        lambda: page.fingerprint() == fingerprint or "no longer stored" in page.message(),
    )
    if page.fingerprint() != fingerprint:
        raise CheckFailed(
            f"GET /api/simulations/{fingerprint} did not return the stored result (the page says: "
            f"{page.message().strip()[:200]}); the route is missing or forgot a result within its lifetime"
        )
    wrong = differences(page.shown(), expected_text(replay))
    if wrong:
        raise CheckFailed("the shared result differs from the API's:\n  " + "\n  ".join(wrong))
    after = api.balance()["balance"]
    if after != balance:
        raise CheckFailed(f"opening the share link changed the balance from {balance} to {after}")
    page.wait(f"the page to show the balance {after}", lambda: page.balance_shown() == str(after))
    log(f"share link: same numbers, balance still {after}")

    # 3. A link whose result has expired: 404, then computed again from the link's inputs.
    # Its seed is the largest the service accepts, 2^53 - 1: carried digit for digit.
    gone, big_seed = "0" * 64, 2**53 - 1
    stale = link.replace(f"fp={fingerprint}", f"fp={gone}").replace(f"seed={SEED}", f"seed={big_seed}")
    provoked.add(("GET", f"/api/simulations/{gone}", 404))
    page.open(stale)
    page.wait("the offer to compute an expired result again", lambda: page.js("return !!document.getElementById('message-action')"))
    page.press(lambda: browser.click(page.driver, page.driver.find_element(By.ID, "message-action")), "the computation")
    if "Computed again" not in page.message():
        raise CheckFailed(f"after computing a link's result again the page says {page.message()!r}")
    recomputed = api.simulate({"event_id": MATCH, "iterations": ITERATIONS, "seed": big_seed})
    wrong = differences(page.shown(), expected_text(recomputed))
    if wrong:
        raise CheckFailed("the recomputed result differs from the API's:\n  " + "\n  ".join(wrong))
    log(f"expired link: 404, offered to compute again, same numbers as the API (seed {big_seed})")

    # 4. A field out of range.
    page.field("home-rating", "5000")
    provoked.add(("POST", "/api/simulate", 400))
    page.run("the run with a rating of 5000")
    error = page.js("return document.getElementById('home-rating-error')?.textContent ?? ''")
    if not error or "event.home_rating" not in page.message() or "invalid_request" not in page.message():
        raise CheckFailed(f"the 400 should name event.home_rating next to the field, got {error!r} / {page.message()!r}")
    log(f"400: the home rating is marked ({error})")
    page.audit("field error")

    # 5. Spend the allowance.
    Select(page.driver.find_element(By.ID, "event-select")).select_by_value(MATCH)
    left = api.balance()["balance"]
    if left > 20:
        raise CheckFailed(f"{left} tokens to spend: run with a small DAILY_TOKENS (scripts/explorer-check.sh does)")
    provoked.add(("POST", "/api/simulate", 402))
    for seed in range(SEED + 100, SEED + 100 + left + 1):
        page.field("seed", str(seed))
        page.run(f"the run with seed {seed}")
    if "Today's tokens are spent" not in page.message():
        raise CheckFailed(f"after spending {left} tokens, one more run should be refused; the page says {page.message()!r}")
    balance = api.balance()
    shown_at = page.js("return document.getElementById('next-allowance')?.getAttribute('datetime')")
    if balance["balance"] != 0 or shown_at != balance["next_allowance_at"] or "insufficient_tokens" not in page.message():
        raise CheckFailed(f"402 message {page.message()!r} (next allowance {shown_at}) against balance {balance}")
    log(f"402: tokens spent, next allowance {shown_at} shown")
    page.audit("402 message")

    # The phone: the shared result again, at 360 px.
    page.cdp.emulate_viewport(360, 780, scale=2, mobile=True)
    page.open(link)
    page.wait("the shared result on the phone", lambda: page.fingerprint() == fingerprint)
    overflow = page.js(OVERFLOW)
    if overflow:
        raise CheckFailed("at 360 px: " + "; ".join(overflow))
    page.audit("phone")
    page.js("document.getElementById('results').scrollIntoView()")
    time.sleep(0.3)
    page.cdp.screenshot(out_dir / "phone.png")
    page.cdp.screenshot(out_dir / "phone-full.png", full_page=True)
    log(f"phone: nothing scrolls sideways; screenshots {out_dir / 'phone.png'} and phone-full.png")
    return provoked


def traffic_problems(cdp: CdpSession, base_url: str, provoked: set[tuple[str, str, int]]) -> list[str]:
    """Requests off the origin, network failures, unexpected errors, console errors."""
    origin = base_url.rstrip("/")
    problems = []
    sent = {e["requestId"]: e["request"] for e in cdp.events("Network.requestWillBeSent")}
    for request in sent.values():
        if not request["url"].startswith(origin + "/"):
            problems.append(f"request outside the service: {request['method']} {request['url']}")
    for failed in cdp.events("Network.loadingFailed"):
        request = sent.get(failed["requestId"], {})
        problems.append(f"request failed: {request.get('url')} ({failed.get('errorText')})")
    expected_urls = set()
    for response in cdp.events("Network.responseReceived"):
        request = sent.get(response["requestId"], {})
        status, url = response["response"]["status"], response["response"]["url"]
        path = url[len(origin):].split("#")[0]
        if status >= 400:
            if (request.get("method"), path, status) in provoked:
                expected_urls.add(url)
            else:
                problems.append(f"unexpected {status} for {request.get('method')} {path}")
    for entry in cdp.events("Log.entryAdded"):
        e = entry["entry"]
        if e["level"] == "error" and not (e.get("source") == "network" and e.get("url") in expected_urls):
            problems.append(f"console ({e.get('source')}): {e.get('text')} {e.get('url', '')}")
    for call in cdp.events("Runtime.consoleAPICalled"):
        if call["type"] in ("error", "assert"):
            problems.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in call["args"]))
    for thrown in cdp.events("Runtime.exceptionThrown"):
        details = thrown["exceptionDetails"]
        problems.append(f"uncaught: {details.get('exception', {}).get('description', details.get('text'))}")
    if not sent:
        problems.append("no request was seen: the DevTools session saw nothing")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL"), help="the service")
    parser.add_argument("--out-dir", default="target/explorer-check", help="screenshots go here")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait in the browser")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    if not args.base_url:
        print("explorer-check: FAILED: no --base-url and no BASE_URL", file=sys.stderr)
        return 2
    os.environ["SE_OFFLINE"] = "true"  # the browser and driver are Debian's; fetch nothing
    out_dir = Path(args.out_dir)
    (out_dir / "failure.png").unlink(missing_ok=True)  # from an earlier run
    started = time.monotonic()
    driver = cdp = page = None
    try:
        driver = browser.make_driver(args.chromium, args.chromedriver, args.timeout)
        cdp = CdpSession.attach(driver, args.timeout)
        for domain in ("Network", "Log", "Runtime", "Page"):
            cdp.send(f"{domain}.enable")
        page = Explorer(driver, cdp, args.base_url, args.timeout)
        log(f"chromium {driver.capabilities.get('browserVersion')} at {args.base_url}")
        provoked = run(page, Api(args.base_url, f"explorer-{uuid.uuid4().hex[:12]}"), out_dir)
        problems = traffic_problems(cdp, args.base_url, provoked)
        if problems:
            raise CheckFailed("the page's traffic or console:\n  " + "\n  ".join(problems))
        requests = len(cdp.events("Network.requestWillBeSent"))
        log(f"{requests} requests, all to {args.base_url}; no failure, no console error")
    except Exception as err:  # every failure ends as one line naming it, with a screenshot
        print(f"explorer-check: FAILED: {err}", file=sys.stderr)
        if cdp is not None:
            try:
                print(f"explorer-check: page at failure: {cdp.screenshot(out_dir / 'failure.png')}", file=sys.stderr)
            except Exception as shot_err:  # noqa: BLE001 - the first failure is the one to report
                print(f"explorer-check: no failure screenshot: {shot_err}", file=sys.stderr)
        return 1
    finally:
        if cdp is not None:
            cdp.close()
        if driver is not None:
            driver.quit()
    log(f"passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
