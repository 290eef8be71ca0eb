"""Headless Chromium driven over the DevTools protocol: open a page, run JavaScript in it, move
the mouse, take a screenshot. What the paper's browser test and the README's screenshot use.

Only Debian's ``chromium`` and aiohttp's WebSocket client (already a dependency of MLflow) are
needed; no Selenium or Playwright download.

    python -m lnpaper.tools.browser results/manuscript/paper.html docs/img/paper.png
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium with one page; every call waits for its answer."""

    def __init__(self, width: int = 1100, height: int = 1400):
        exe = chromium()
        if exe is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        self.port = _free_port()
        # Chromium's helper processes may still write into the profile as it exits
        self.profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
            + [f"--remote-debugging-port={self.port}", f"--user-data-dir={self.profile.name}"]
            + [f"--window-size={width},{height}", "--allow-file-access-from-files"]
            + ["about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.loop = asyncio.new_event_loop()
        self.ids = itertools.count(1)
        self.loop.run_until_complete(self._connect())

    async def _connect(self):
        import aiohttp

        self.session = aiohttp.ClientSession()
        deadline = time.monotonic() + 60
        while True:  # the DevTools endpoint answers once the browser is up
            try:
                async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as r:
                    pages = [t for t in await r.json() if t["type"] == "page"]
                if pages:
                    break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.2)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        await self._send("Page.enable")

    async def _send(self, method: str, **params):
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def call(self, method: str, **params) -> dict:
        return self.loop.run_until_complete(self._send(method, **params))

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, settle: str = "true", timeout: float = 60) -> None:
        """Navigate and wait until the document is loaded and ``settle`` (a JS expression) holds."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        check = f"document.readyState === 'complete' && Boolean({settle})"
        while not self.evaluate(check):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            time.sleep(0.2)

    def hover(self, x: float, y: float) -> None:
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        async def _close():
            await self.ws.close()
            await self.session.close()

        try:
            self.loop.run_until_complete(_close())
        finally:
            self.loop.close()
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv: list[str] | None = None) -> int:
    """Screenshot of the first screen of a page: ``python -m lnpaper.tools.browser PAGE PNG``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m lnpaper.tools.browser PAGE.html OUT.png", file=sys.stderr)
        return 2
    with Browser() as b:
        b.open(Path(args[0]).resolve().as_uri())
        b.screenshot(Path(args[1]))
    print(f"screenshot -> {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
