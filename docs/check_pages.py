"""Check the built documentation as a browser shows it.

Run after ``make docs`` (``make docs-check`` runs it)::

    python docs/check_pages.py [docs/_build/html] [--screenshots DIR]

Two checks, each failing with a list of what is wrong:

1. **Internal links.** Every ``href`` (and ``src``) in every built HTML page
   that points inside the site must name a file that exists and, with a
   ``#fragment``, an ``id`` in that file.
2. **Rendered pages.** Headless Chromium (Debian's ``chromium`` package)
   renders a fixed set of pages at 1280 px: the landing page, the user
   guide's first chapter, the API index, one class page, the benchmarks page
   and two gallery examples. A small script injected into a copy of each
   page measures it once it has loaded, and ``--dump-dom`` returns the DOM.
   A page fails on a raw Markdown table in its text (a ``|---|`` row), on
   code blocks that scroll sideways, and, for the index pages, on a height
   above ``INDEX_MAX_HEIGHT`` pixels.

With ``--screenshots DIR`` it also saves a PNG of each page (1280 px wide,
the page's first ``SCREENSHOT_HEIGHT`` pixels) for a person to look at.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

WIDTH = 1280
INDEX_MAX_HEIGHT = 6000  # pixels at 1280 px: an index lists, it does not repeat
SCREENSHOT_HEIGHT = 2400

# (page, is an index page)
PAGES = [
    ("index.html", True),
    ("user_guide/input_forms.html", False),
    ("api.html", True),
    ("generated/skcoop.CooperativeClassifier.html", False),
    ("benchmarks/index.html", False),
    ("auto_examples/index.html", True),
    ("auto_examples/plot_quickstart.html", False),
    ("auto_examples/plot_relation_scores.html", False),
]

RAW_TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\|")
SKIPPED_DIRS = {"_sources", "_static", "_downloads", "_images"}

MEASURE = """
<script>
window.addEventListener("load", function () {
  var overflowing = [];
  document.querySelectorAll(".bd-article pre").forEach(function (pre) {
    if (pre.scrollWidth > pre.clientWidth + 2) {
      overflowing.push(pre.textContent.split("\\n").sort(function (a, b) {
        return b.length - a.length;
      })[0]);
    }
  });
  var out = document.createElement("div");
  out.id = "check-pages-metrics";
  out.setAttribute("data-height", document.documentElement.scrollHeight);
  out.setAttribute("data-overflow", JSON.stringify(overflowing));
  document.body.appendChild(out);
});
</script>
"""


class _Refs(HTMLParser):
    """Collect the ids of a page and the links it makes."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])


def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8", errors="replace"))
    return refs


def check_links(root: Path) -> list[str]:
    """Return the broken internal links of every page under ``root``."""
    pages = [
        path
        for path in root.rglob("*.html")
        if not SKIPPED_DIRS & set(path.relative_to(root).parts)
    ]
    parsed = {path.resolve(): _parse(path) for path in pages}
    problems = []
    for page, refs in parsed.items():
        for link in refs.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue  # external: not checked here (no network in CI)
            target = (
                page if not parts.path else (page.parent / unquote(parts.path))
            ).resolve()
            where = f"{page.relative_to(root.resolve())}: {link}"
            if not target.exists():
                problems.append(f"{where} -> missing file")
                continue
            if target.is_dir():
                target = target / "index.html"
                if not target.exists():
                    problems.append(f"{where} -> directory without index.html")
                    continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = parsed.get(target) or _parse(target)
                if fragment not in ids.ids:
                    problems.append(f"{where} -> no id {fragment!r}")
    return problems


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit(
        "check_pages: no chromium found; install Debian's package "
        "(apt-get install -y chromium) or run `make docs-check`."
    )


def _browser_flags() -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},900",
        "--virtual-time-budget=10000",
    ]


def render(chromium: str, page: Path, screenshot: Path | None) -> str:
    """Return the DOM of ``page`` after load, with the measurements added."""
    source = page.read_text(encoding="utf-8")
    probe = page.with_name(f".check-pages-{page.name}")
    probe.write_text(source.replace("</body>", MEASURE + "</body>", 1), "utf-8")
    try:
        dom = subprocess.run(
            [chromium, *_browser_flags(), "--dump-dom", probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    finally:
        probe.unlink()
    if screenshot is not None:
        flags = [f for f in _browser_flags() if not f.startswith("--window-size")]
        subprocess.run(
            [
                chromium,
                *flags,
                f"--window-size={WIDTH},{SCREENSHOT_HEIGHT}",
                f"--screenshot={screenshot}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return dom


def _text(dom: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def check_page(dom: str, name: str, is_index: bool) -> tuple[list[str], int]:
    """Return the problems of one rendered page and its height."""
    problems = []
    metrics = re.search(
        r'id="check-pages-metrics" data-height="(\d+)" data-overflow="([^"]*)"', dom
    )
    if metrics is None:
        return [f"{name}: the page did not finish loading"], 0
    height = int(metrics.group(1))
    overflowing = html.unescape(metrics.group(2))
    if RAW_TABLE.search(_text(dom)):
        line = RAW_TABLE.search(_text(dom)).group(0)
        problems.append(f"{name}: raw Markdown table in the text ({line!r})")
    if overflowing not in ("[]", ""):
        problems.append(f"{name}: code scrolls sideways at {WIDTH} px: {overflowing}")
    if is_index and height > INDEX_MAX_HEIGHT:
        problems.append(
            f"{name}: index page {height} px tall at {WIDTH} px "
            f"(limit {INDEX_MAX_HEIGHT})"
        )
    return problems, height


def main(argv=None) -> int:
    """Run both checks and print what fails; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "root", nargs="?", default=Path(__file__).parent / "_build" / "html", type=Path
    )
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "index.html").exists():
        sys.exit(f"check_pages: no built site in {root}; run `make docs` first.")

    problems = check_links(root)
    print(f"links: {len(problems)} broken")

    chromium = _chromium()
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    def one(item):
        name, is_index = item
        page = root / name
        if not page.exists():
            return [f"{name}: not built"], 0
        shot = None
        if args.screenshots is not None:
            shot = args.screenshots / (name.replace("/", "_")[:-5] + ".png")
        return check_page(render(chromium, page, shot), name, is_index)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, PAGES))
    for (name, is_index), (page_problems, height) in zip(PAGES, results, strict=True):
        kind = "index page" if is_index else "page"
        status = "ok" if not page_problems else "FAIL"
        print(f"{status:4} {name} ({kind}, {height} px)")
        problems.extend(page_problems)

    for problem in problems:
        print(f"  {problem}")
    if problems:
        print(f"check_pages: {len(problems)} problem(s)")
        return 1
    print("check_pages: all pages pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
