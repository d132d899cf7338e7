"""The start tags of an HTML fragment as a browser's tokenizer sees them, for tests of rendered markup."""

from __future__ import annotations

from html.parser import HTMLParser

Tag = tuple[str, dict[str, str | None]]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(markup: str) -> list[Tag]:
    """Every start tag with its attributes, entities in attribute values resolved."""
    parser = _Collector()
    parser.feed(markup)
    parser.close()
    return parser.tags
