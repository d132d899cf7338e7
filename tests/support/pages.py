"""Reads our HTML pages the way a browser would: links by id, images, scripts and visible text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    links: dict[str, str] = field(default_factory=dict)  # id → href, as the browser resolves entities
    images: list[dict[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._text: list[str] = []
        self._hidden = 0  # inside <style> or <script>: not text anyone reads

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.page.tags.append(tag)
        if tag == "a" and "id" in values:
            self.page.links[values["id"]] = values.get("href", "")
        if tag == "img":
            self.page.images.append(values)
        if tag in ("style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._text.append(data)


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    reader.page.text = " ".join(" ".join(reader._text).split())
    return reader.page
