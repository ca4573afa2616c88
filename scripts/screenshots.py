"""`make screenshots`: the README's pictures, one PNG per notification kind, from the real demo.

Plays the demo's scenarios against the real bot and the sandboxes, draws each flow's messages
alone in their channel's pane (`bot.demo.write_flow_page`, the same renderer as demo.html),
measures the pane in headless Chromium and photographs exactly that much, so the pictures are
small and never drift from the code. Writes docs/screenshots/<flow>.png (or the folder given).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from bot.demo import SHOT_WIDTH, Demo, write_flow_page, write_home_page
from bot.sandbox.chromium import ChromiumError, dump_dom, find_chromium, screenshot

_HEIGHT = re.compile(r'data-shot-height="(\d+)"')


def main(folder: Path) -> int:
    chromium = find_chromium()
    if chromium is None:
        print(
            "screenshots need Chromium: apt-get install chromium (Debian/Ubuntu)", file=sys.stderr
        )
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qtslack-shots-") as workdir:
        demo = Demo(Path(workdir))
        try:
            flows = demo.play()
            for flow in flows:
                if not flow.ok:
                    print(f"{flow.title}: the flow failed, no picture", file=sys.stderr)
                    return 1
                page = Path(workdir) / f"{flow.slug}.html"
                write_flow_page(demo, flow, page)
                found = _HEIGHT.search(dump_dom(chromium, page, width=SHOT_WIDTH))
                if found is None:
                    print(f"{flow.title}: the page did not measure itself", file=sys.stderr)
                    return 1
                png = folder / f"{flow.slug}.png"
                screenshot(chromium, page, png, width=SHOT_WIDTH, height=int(found.group(1)))
                print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")
            shoot_home(chromium, demo, Path(workdir) / "app-home.html", folder / "app-home.png")
        except ChromiumError as error:
            print(f"screenshots failed: {error}", file=sys.stderr)
            return 1
        finally:
            demo.close()
    return 0


def shoot_home(chromium: str, demo: Demo, page: Path, png: Path) -> None:
    """The admin's App Home with its open incidents on top (the incident flow's)."""
    write_home_page(demo, page)
    found = _HEIGHT.search(dump_dom(chromium, page, width=SHOT_WIDTH))
    height = int(found.group(1)) if found else 900
    screenshot(chromium, page, png, width=SHOT_WIDTH, height=height)
    print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
