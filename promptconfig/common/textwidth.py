"""How wide a line of text is in the admin's sans-serif font, for server-drawn SVG charts (no browser to ask).

Widths are DejaVu Sans's advance widths (in thousandths of an em) for printable ASCII: it is the widest of the
usual sans-serif fonts (Helvetica, Arial, Liberation Sans, Roboto, Segoe UI are narrower), so a label measured
here never takes more room in a browser than computed. Other characters count as a full em, except the few
the charts print. `fit` shortens a text with an ellipsis to a given width.
"""

_TABLE = (
    "318 401 460 838 636 950 780 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 636 636 "
    "636 636 337 337 838 838 838 531 1000 684 686 698 770 632 575 775 752 295 295 656 557 863 748 787 "
    "603 787 695 635 611 732 684 989 685 611 685 390 337 390 838 500 500 613 635 550 635 615 352 635 "
    "634 278 278 579 278 974 634 612 635 635 411 521 392 634 592 818 592 592 525 636 337 636 838"
)
ASCII_WIDTHS = tuple(int(width) for width in _TABLE.split(" "))
OTHER_WIDTHS = {"\u00b7": 318, "\u2026": 1000, "\u2605": 896, "\u2212": 838, "\u2013": 500, "\u2014": 1000}
SAFETY = 1.04  # kerning and rounding in the renderer
MONO_WIDTH = 602  # DejaVu Sans Mono, every ASCII character
BOLD = 1.12  # DejaVu Sans Bold is at most this much wider than the regular weight
ELLIPSIS = "…"


def text_width(text: str, font_size: float, *, mono: bool = False, bold: bool = False) -> float:
    """The width of `text` set at `font_size` pixels, in pixels (an upper bound for the usual fonts)."""
    total = 0
    for char in text:
        code = ord(char)
        if 32 <= code < 127:
            total += MONO_WIDTH if mono else ASCII_WIDTHS[code - 32]
        else:
            total += OTHER_WIDTHS.get(char, 1000) if not mono else 1000
    return total * font_size / 1000 * SAFETY * (BOLD if bold else 1)


def fit(text: str, max_width: float, font_size: float, *, mono: bool = False) -> str:
    """`text` if it fits in `max_width` pixels, else its longest prefix that fits with an ellipsis after it."""
    if text_width(text, font_size, mono=mono) <= max_width:
        return text
    room = max_width - text_width(ELLIPSIS, font_size, mono=mono)
    low, high = 0, len(text)  # the longest prefix within `room`: widths only grow with the prefix
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(text[:middle], font_size, mono=mono) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS if low else ""
