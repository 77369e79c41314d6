"""Find what a browser would run in an HTML page: script bodies, handlers, script URLs."""

from __future__ import annotations

from html.parser import HTMLParser

SCRIPT_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data"}


class _Finder(HTMLParser):
    def __init__(self, token: str):
        super().__init__(convert_charrefs=True)
        self.token, self.found, self._in_script = token, [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and self.token.lower() in value:
                self.found.append(f"<{tag} {name}=...>")
            if name in SCRIPT_URL_ATTRS and value.replace(" ", "").startswith(
                    ("javascript:", "vbscript:", "data:text/html")):
                self.found.append(f"<{tag} {name}={value[:40]}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and self.token in data:
            self.found.append(f"<script> with {data.strip()[:60]!r}")


def runnable_payloads(html: str, token: str) -> list[str]:
    """Places where ``html`` would run code carrying ``token`` (empty when inert)."""
    finder = _Finder(token)
    finder.feed(html)
    return finder.found
