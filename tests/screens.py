"""Screenshot checks shared by the browser tests: saved as artifacts, not blank, numbers big."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageStat
from playwright.sync_api import Page

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

#: Rendered size of the DOM elements holding the page's key numbers (px).
NUMBER_SIZE_JS = """
(selectors) => selectors.map((sel) => {
  const el = document.querySelector(sel);
  if (!el) return {sel, missing: true};
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {sel, fontPx: parseFloat(style.fontSize), heightPx: box.height,
          visible: box.width > 0 && box.height > 0 && style.visibility === "visible"};
})
"""


def save_screenshot(page: Page, name: str, full_page: bool = False) -> Path:
    """Save ``test-artifacts/<name>`` and assert the picture is not blank."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        grey = image.convert("L")
        spread = ImageStat.Stat(grey).stddev[0]
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        distinct = len(colours) if colours is not None else 1 << 20
    assert spread > 10 and distinct > 50, (
        f"{name} looks blank: grey stddev {spread:.1f}, {distinct} colours")
    return path


def number_sizes(page: Page, selectors: list[str]) -> list[dict[str, Any]]:
    sizes: list[dict[str, Any]] = page.evaluate(NUMBER_SIZE_JS, selectors)
    return sizes


def assert_numbers_at_least(page: Page, selectors: list[str], min_px: float) -> None:
    """Each key number is shown, with a font of at least ``min_px`` pixels."""
    for size in number_sizes(page, selectors):
        assert not size.get("missing"), f"{size['sel']} is not on the page"
        assert size["visible"], f"{size['sel']} is not visible"
        assert size["fontPx"] >= min_px, (
            f"{size['sel']} is {size['fontPx']} px, under the required {min_px:.0f} px")
