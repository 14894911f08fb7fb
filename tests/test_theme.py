"""The status pills' fills read against their white text (theme.py's claim)."""
from __future__ import annotations

from deeploop import theme


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_fill_is_at_least_6_4_to_1_against_white():
    assert "color: #ffffff" in theme.PILL_STYLE
    assert min(_contrast(colour, "#ffffff") for colour in set(theme.FILL.values())) >= 6.4
    assert theme.fill("keep") == theme.GREEN and theme.fill("nonsense") == theme.GREY
