"""Pages, locators and retrying assertions over tests/support/cdp.py's Chromium.

The subset of Playwright's API the dashboard's browser tests use, with its meaning: a
locator is looked up again at every use; ``has_text`` matches the text with whitespace
collapsed and case ignored; a click is the mouse's (moved, pressed, released at the
element's centre, after scrolling it into view); ``fill`` and ``select_option`` fire the
``input`` and ``change`` events a person's typing and choosing fire; ``expect`` retries
its check until it holds or EXPECT_BOUND has passed. JavaScript runs through the
DevTools protocol, which the page's Content Security Policy does not apply to.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

from tests.support.cdp import Chromium

EXPECT_BOUND = 15.0  # seconds an expectation is retried (Playwright's default is 5)

_ELEMENTS = """(() => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  let els = [document];
  for (const [kind, arg] of STEPS) {
    if (kind === "css") els = els.flatMap((e) => [...e.querySelectorAll(arg)]);
    else if (kind === "text")
      els = els.filter((e) => norm(e.textContent).toLowerCase().includes(norm(arg).toLowerCase()));
    else { const one = arg < 0 ? els[els.length + arg] : els[arg]; els = one ? [one] : []; }
  }
  return els;
})()"""

_VISIBLE = """(e) => { const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden"; }"""


class Page:
    def __init__(self, browser: Chromium, session: str, width: int, height: int) -> None:
        self.connection, self.session = browser.connection, session
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.keyboard = _Keyboard(self)
        self.loads = 0  # load events so far: a navigation's may come before its answer
        self.connection.on(session, "Page.loadEventFired", lambda _: self._loaded())

    def _loaded(self) -> None:
        self.loads += 1

    def call(self, method: str, **params: Any) -> dict:
        return self.connection.call(method, self.session, **params)

    def on(self, event: str, listener: Callable[[str], None]) -> None:
        """'pageerror': an uncaught exception's text; 'request': each URL the page asks."""
        if event == "pageerror":
            self.connection.on(self.session, "Runtime.exceptionThrown", lambda p: listener(
                p["exceptionDetails"].get("exception", {}).get("description")
                or p["exceptionDetails"]["text"]))
        elif event == "request":
            self.connection.on(self.session, "Network.requestWillBeSent",
                               lambda p: listener(p["request"]["url"]))
        else:
            raise ValueError(event)

    def goto(self, url: str) -> None:
        before = self.loads
        answer = self.call("Page.navigate", url=url)
        if answer.get("errorText"):
            raise RuntimeError(f"{url}: {answer['errorText']}")
        self.connection.pump_until(lambda: self.loads > before)

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True, userGesture=True)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description")
                               or details["text"])
        return answer["result"].get("value")

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def locator(self, selector: str) -> Locator:
        return Locator(self, []).locator(selector)

    def fill(self, selector: str, value: str) -> None:
        self.locator(selector).fill(value)

    def select_option(self, selector: str, value: str) -> None:
        self.locator(selector).select_option(value)

    def click(self, selector: str) -> None:
        self.locator(selector).click()

    def screenshot(self, path: str, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            width, height = self.evaluate("[document.documentElement.scrollWidth,"
                                          " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        Path(path).write_bytes(base64.b64decode(self.call("Page.captureScreenshot",
                                                          **params)["data"]))


class _Keyboard:
    KEYS = {"Escape": 27, "Enter": 13, "Tab": 9}

    def __init__(self, page: Page) -> None:
        self.page = page

    def press(self, key: str) -> None:
        code = self.KEYS[key]
        for kind in ("rawKeyDown", "keyUp"):
            self.page.call("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                           windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)


class Locator:
    def __init__(self, page: Page, steps: list[tuple[str, Any]]) -> None:
        self.page, self.steps = page, steps

    def __repr__(self) -> str:
        return f"Locator({self.steps})"

    def locator(self, selector: str, has_text: Optional[str] = None) -> Locator:
        steps = list(self.steps)
        for part in selector.split(" >> "):
            if part.startswith("nth="):
                steps.append(("nth", int(part[4:])))
            else:
                steps.append(("css", part))
        if has_text is not None:
            steps.append(("text", has_text))
        return Locator(self.page, steps)

    def filter(self, has_text: str) -> Locator:
        return Locator(self.page, [*self.steps, ("text", has_text)])

    def nth(self, index: int) -> Locator:
        return Locator(self.page, [*self.steps, ("nth", index)])

    @property
    def first(self) -> Locator:
        return self.nth(0)

    def evaluate_all(self, function: str) -> Any:
        return self.page.evaluate(f"({function})({self._elements()})")

    def _elements(self) -> str:
        return _ELEMENTS.replace("STEPS", json.dumps(self.steps))

    def _one(self, function: str) -> Any:
        """function(element) on the one element this locates (Playwright's strictness)."""
        found = self.count()
        if found != 1:
            raise AssertionError(f"{self} locates {found} elements, not 1")
        return self.evaluate_all(f"(els) => ({function})(els[0])")

    def count(self) -> int:
        return int(self.evaluate_all("(els) => els.length"))

    def text_content(self) -> str:
        return str(self._one("(e) => e.textContent"))

    def get_attribute(self, name: str) -> Optional[str]:
        return self._one(f"(e) => e.getAttribute({json.dumps(name)})")

    def bounding_box(self) -> Optional[dict[str, float]]:
        return self._one("(e) => { const r = e.getBoundingClientRect();"
                         " return {x: r.x, y: r.y, width: r.width, height: r.height}; }")

    def click(self) -> None:
        expect(self).to_be_visible()
        box = self._one("(e) => { e.scrollIntoView({block: 'center', inline: 'center'});"
                        " const r = e.getBoundingClientRect();"
                        " return [r.x + r.width / 2, r.y + r.height / 2]; }")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.page.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                           button="left", clickCount=1)

    def fill(self, value: str) -> None:
        expect(self).to_be_visible()
        self._one("(e) => { e.focus(); e.select(); }")
        if value:
            self.page.call("Input.insertText", text=value)
        else:
            self._one("(e) => { e.value = '';"
                      " e.dispatchEvent(new Event('input', {bubbles: true})); }")

    def select_option(self, value: str) -> None:
        found = self._one(f"""(e) => {{
            const option = [...e.options].find((o) => o.value === {json.dumps(value)});
            if (!option) return false;
            e.value = option.value;
            e.dispatchEvent(new Event('input', {{bubbles: true}}));
            e.dispatchEvent(new Event('change', {{bubbles: true}}));
            return true; }}""")
        if not found:
            raise AssertionError(f"{self} has no option {value!r}")


class expect:  # noqa: N801 - read as Playwright's expect(locator).to_...
    def __init__(self, locator: Locator) -> None:
        self.locator = locator

    def _until(self, check: Callable[[], Any], said: str) -> None:
        deadline, last = time.monotonic() + EXPECT_BOUND, None
        while True:
            try:
                last = check()
                if last is True:
                    return
            except AssertionError as error:
                last = str(error)
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.locator} {said}: last saw {last!r}")
            time.sleep(0.05)

    def _text(self) -> str:
        return " ".join(self.locator.text_content().split())

    def _visible(self) -> bool:
        return self.locator.count() == 1 and bool(self.locator._one(_VISIBLE))

    def to_have_count(self, count: int) -> None:
        self._until(lambda: self.locator.count() == count or self.locator.count(),
                    f"to have {count} elements")

    def to_contain_text(self, text: str) -> None:
        self._until(lambda: " ".join(text.split()) in self._text() or self._text(),
                    f"to contain {text!r}")

    def to_have_text(self, text: str) -> None:
        self._until(lambda: self._text() == " ".join(text.split()) or self._text(),
                    f"to have the text {text!r}")

    def to_be_visible(self) -> None:
        self._until(self._visible, "to be visible")

    def to_be_hidden(self) -> None:
        self._until(lambda: self.locator.count() == 0 or not self._visible(), "to be hidden")

    def to_be_attached(self) -> None:
        self._until(lambda: self.locator.count() >= 1, "to be attached")

    def to_be_in_viewport(self) -> None:
        self._until(lambda: bool(self.locator._one(
            "(e) => { const r = e.getBoundingClientRect();"
            " return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0"
            " && r.left < innerWidth && r.top < innerHeight; }")), "to be in the viewport")


class Browser:
    """Chromium with new_page and new_context, as the tests use them."""

    def __init__(self, chromium: Chromium) -> None:
        self.chromium = chromium

    def new_page(self, viewport: dict[str, int]) -> Page:
        return Page(self.chromium, self.chromium.new_target(), viewport["width"],
                    viewport["height"])

    def new_context(self, viewport: dict[str, int],
                    permissions: Optional[list[str]] = None) -> Context:
        context = str(self.chromium.connection.call(
            "Target.createBrowserContext")["browserContextId"])
        if permissions:
            names = {"clipboard-read": "clipboardReadWrite",
                     "clipboard-write": "clipboardSanitizedWrite"}
            self.chromium.connection.call("Browser.grantPermissions", browserContextId=context,
                                          permissions=[names[p] for p in permissions])
        return Context(self.chromium, context, viewport)


class Context:
    def __init__(self, chromium: Chromium, context: str, viewport: dict[str, int]) -> None:
        self.chromium, self.context, self.viewport = chromium, context, viewport

    def new_page(self) -> Page:
        return Page(self.chromium, self.chromium.new_target(self.context),
                    self.viewport["width"], self.viewport["height"])

    def close(self) -> None:
        self.chromium.connection.call("Target.disposeBrowserContext",
                                      browserContextId=self.context)
