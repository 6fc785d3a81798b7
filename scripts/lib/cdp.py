"""A small Chrome DevTools Protocol client for the browser checks.

Selenium drives the page; this attaches a second DevTools session to the same tab (through
the debugger address chromedriver reports) to see what WebDriver cannot: every request the
page sends, the responses and failures, console messages and exceptions, and to emulate a
viewport and capture screenshots.

    session = CdpSession.attach(driver)
    session.send("Network.enable")
    ...
    session.events("Network.requestWillBeSent")

Only the standard library and websocket-client (a dependency of selenium) are used.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import urllib.request
from pathlib import Path

import websocket


class CdpError(Exception):
    """A DevTools command failed or did not answer in time."""


class CdpSession:
    def __init__(self, websocket_url: str, timeout: float = 30.0) -> None:
        # No Origin header: Chrome refuses DevTools websockets from unlisted origins.
        self._ws = websocket.create_connection(websocket_url, timeout=timeout, suppress_origin=True)
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._answers: dict[int, dict] = {}
        self._answered = threading.Condition(self._lock)
        self._events: list[dict] = []
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    @classmethod
    def attach(cls, driver, timeout: float = 30.0) -> "CdpSession":
        """A session on the tab a chromedriver-controlled Chrome shows."""
        address = driver.capabilities.get("goog:chromeOptions", {}).get("debuggerAddress")
        if not address:
            raise CdpError("chromedriver reported no debuggerAddress")
        with urllib.request.urlopen(f"http://{address}/json/list", timeout=timeout) as response:
            targets = json.load(response)
        pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
        if not pages:
            raise CdpError(f"no page target at {address}")
        return cls(pages[0]["webSocketDebuggerUrl"], timeout)

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                with self._lock:
                    self._answered.notify_all()
                return
            with self._lock:
                if "id" in message:
                    self._answers[message["id"]] = message
                    self._answered.notify_all()
                elif "method" in message:
                    self._events.append(message)

    def send(self, method: str, params: dict | None = None) -> dict:
        """Runs a command and returns its result; a protocol error raises CdpError."""
        command_id = next(self._ids)
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params or {}}))
        with self._lock:
            answered = self._answered.wait_for(
                lambda: command_id in self._answers or not self._reader.is_alive(), self._timeout
            )
            answer = self._answers.pop(command_id, None)
        if not answered or answer is None:
            raise CdpError(f"{method}: no answer within {self._timeout:.0f}s")
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def events(self, *methods: str) -> list[dict]:
        """The `params` of every event so far with one of these names (all when none given)."""
        with self._lock:
            return [e["params"] for e in self._events if not methods or e["method"] in methods]

    def emulate_viewport(self, width: int, height: int, scale: float = 1.0, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
        )

    def screenshot(self, path: str | Path, full_page: bool = False) -> Path:
        """Saves a PNG of the viewport (or of the whole page) and returns its path."""
        params: dict = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._ws.close()
        except (websocket.WebSocketException, OSError):
            pass
