"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

:func:`load_page` opens a local file in a fresh headless browser with its own
profile, waits for the load event, and returns what a person would notice: console
errors, uncaught exceptions, every request that left the file (anything but
``file:`` and ``data:``), numbers measured by a script in the page, and a
full-page PNG screenshot.

The browser listens on a loopback port chosen by the system (read from
``DevToolsActivePort`` in its profile); nothing else is opened.

Example::

    page = load_page(binary=CHROMIUM, url=Path("r.html").as_uri(), profile=tmp, measure="1+1")
    assert not page.errors and page.measured == 2
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import websocket

__all__ = ["PageLoad", "chromium_binary", "load_page"]

_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str | None:
    """Debian's Chromium, if installed."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclasses.dataclass
class PageLoad:
    errors: list[str]  # console errors, uncaught exceptions, log entries of level error
    requests: list[str]  # URLs requested beyond file: and data:
    measured: Any  # the value of the ``measure`` expression
    screenshot: bytes  # PNG of the whole page


class _Session:
    """One CDP connection; calls wait for their answer and keep every event."""

    def __init__(self, ws_url: str, timeout: float) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._timeout = timeout
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, deadline: float) -> None:
        if any(event.get("method") == method for event in self.events):
            return
        while time.monotonic() < deadline:
            event = json.loads(self._ws.recv())
            self.events.append(event)
            if event.get("method") == method:
                return
        raise TimeoutError(f"no {method} before the deadline")

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive in the next ``seconds`` (late errors)."""
        self._ws.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.events.append(json.loads(self._ws.recv()))
            except websocket.WebSocketTimeoutException:
                continue
        self._ws.settimeout(self._timeout)

    def close(self) -> None:
        self._ws.close()


def _devtools_url(profile: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append(f"exception: {details.get('text')} {details.get('exception', {})}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = [str(a.get("value", a.get("description"))) for a in params.get("args", [])]
            found.append(f"console.{params['type']}: {' '.join(args)}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log: {entry.get('text')} ({entry.get('url')})")
    return found


def _requests(events: list[dict[str, Any]]) -> list[str]:
    urls = []
    for event in events:
        if event.get("method") == "Network.requestWillBeSent":
            url = event["params"]["request"]["url"]
            if not url.startswith(("file:", "data:")):
                urls.append(url)
    return urls


def load_page(
    *, binary: str, url: str, profile: Path, measure: str, width: int = 1280, timeout: float = 60
) -> PageLoad:
    """Open ``url`` headless, evaluate ``measure`` after load, screenshot the whole page."""
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [binary, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cdp = _Session(_devtools_url(profile, process, timeout), timeout)
        try:
            target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
            session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                cdp.call(f"{domain}.enable", session)
            cdp.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=width,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            cdp.call("Page.navigate", session, url=url)
            cdp.wait_for("Page.loadEventFired", time.monotonic() + timeout)
            cdp.drain(0.5)
            measured = cdp.call(
                "Runtime.evaluate", session, expression=measure, returnByValue=True
            )["result"].get("value")
            size = cdp.call("Page.getLayoutMetrics", session)["cssContentSize"]
            shot = cdp.call(
                "Page.captureScreenshot",
                session,
                format="png",
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
            )
            return PageLoad(
                errors=_errors(cdp.events),
                requests=_requests(cdp.events),
                measured=measured,
                screenshot=base64.b64decode(shot["data"]),
            )
        finally:
            cdp.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
