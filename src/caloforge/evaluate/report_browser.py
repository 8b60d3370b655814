"""Render a report in headless Chromium: image load checks, console errors, screenshots.

A small client of the Chrome DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
ending in NUL on file descriptors 3 and 4), standard library only. Used by the browser test of
the evaluation report and by ``benchmarks/report_screenshots.py``; Chromium itself is optional
(Debian: ``apt-get install chromium``), :func:`find_chromium` says whether it is there.

Example:
    >>> find_chromium() is None or Path(find_chromium()).exists()
    True
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BrowserError", "PageCheck", "Renderer", "find_chromium"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_IMAGES_JS = """(async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                         height: i.naturalHeight, shown: i.getBoundingClientRect().width}));
})()"""


class BrowserError(RuntimeError):
    """Chromium did not start, answer, or render in time."""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None (``$CHROMIUM`` first)."""
    env = os.environ.get("CHROMIUM")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What a page did when loaded: its images, console errors and outside requests."""

    images: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    height: int = 0
    seconds: float = 0.0

    @property
    def broken_images(self) -> list[str]:
        """``alt`` of every image that did not load (natural width 0)."""
        return [i["alt"] for i in self.images if not i["complete"] or i["width"] <= 0]

    @property
    def outside_requests(self) -> list[str]:
        """Requests other than the page itself and ``data:`` URIs (a self-contained page has
        none)."""
        return [u for u in self.requests if not u.startswith(("data:", "file:", "about:"))]


def _high_fd(fd: int) -> int:
    """``fd`` moved to a number >= 10, so the child's dup2 to 3 and 4 cannot clobber it."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Renderer:
    """A headless Chromium driven over the DevTools pipe; use as a context manager.

    Arguments:
        width, height: Viewport in CSS pixels (device scale 1).
        timeout: Seconds to wait for any answer or page load.
        chromium: Executable (default: :func:`find_chromium`).
    """

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0,
                 chromium: str | None = None) -> None:
        exe = chromium or find_chromium()
        if exe is None:
            raise BrowserError("no chromium found (install it, e.g. apt-get install chromium)")
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.mkdtemp(prefix="caloforge-chromium-")
        to_r, to_w = (_high_fd(fd) for fd in os.pipe())
        from_r, from_w = (_high_fd(fd) for fd in os.pipe())
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
                "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}", "about:blank"]
        actions = [(os.POSIX_SPAWN_DUP2, to_r, 3), (os.POSIX_SPAWN_DUP2, from_w, 4),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        self._pid = os.posix_spawn(exe, args, dict(os.environ), file_actions=actions)
        os.close(to_r)
        os.close(from_w)
        self._out, self._in = to_w, from_r
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._session: str | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser and remove its profile."""
        with contextlib.suppress(OSError):
            self._send("Browser.close", session=False, wait=False)
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.waitpid(self._pid, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        else:
            os.kill(self._pid, 9)
            os.waitpid(self._pid, 0)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _send(self, method: str, params: dict[str, Any] | None = None, session: bool = True,
              wait: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for k, event in enumerate(self._events):
            if event["method"] == method:
                return self._events.pop(k)
        while True:
            reply = self._read_message(deadline)
            if reply.get("method") == method:
                return reply
            if "method" in reply:
                self._events.append(reply)

    def open(self, page: str | Path) -> PageCheck:
        """Load a local HTML file; return its images, console errors and requests."""
        t0 = time.perf_counter()
        target = self._send("Target.createTarget", {"url": "about:blank"}, session=False)
        self._session = self._send("Target.attachToTarget",
                                   {"targetId": target["targetId"], "flatten": True},
                                   session=False)["sessionId"]
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self._send(method)
        self._send("Emulation.setDeviceMetricsOverride",
                   {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                    "mobile": False})
        self._events.clear()
        self._send("Page.navigate", {"url": Path(page).resolve().as_uri()})
        self._wait_event("Page.loadEventFired")
        images = self.evaluate(_IMAGES_JS)
        check = PageCheck(images=images, height=int(self.evaluate(
            "document.documentElement.scrollHeight")))
        for event in self._events:
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
                    "error", "assert"):
                check.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                     for a in params.get("args", [])))
            elif event["method"] == "Runtime.exceptionThrown":
                check.console_errors.append(str(params.get("exceptionDetails", {}).get("text")))
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get(
                    "level") == "error":
                check.console_errors.append(str(params["entry"].get("text")))
            elif event["method"] == "Network.requestWillBeSent":
                check.requests.append(str(params.get("request", {}).get("url", ""))[:200])
        check.seconds = time.perf_counter() - t0
        return check

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the open page (promises awaited)."""
        result = self._send("Runtime.evaluate", {"expression": expression,
                                                 "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | Path, top: float = 0.0, height: int | None = None,
                   element: str | None = None) -> Path:
        """A PNG of the page ``width`` wide from ``top`` (CSS px; or the top of the element
        with id ``element``), ``height`` tall (default: the viewport)."""
        if element is not None:
            top = float(self.evaluate(f"document.getElementById({json.dumps(element)})"
                                      ".getBoundingClientRect().top + window.scrollY"))
        clip = {"x": 0, "y": max(top, 0.0), "width": self.width,
                "height": height or self.height, "scale": 1}
        data = self._send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                     "captureBeyondViewport": True})["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out
