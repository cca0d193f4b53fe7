"""Distinct person names by the thousand, for author floods."""

from __future__ import annotations

__all__ = ["distinct_names"]


def distinct_names(count: int) -> list[str]:
    """Distinct two-word names without digits (trafilatura drops digits from names)."""

    def word(i: int) -> str:
        letters = ""
        while True:
            i, rest = divmod(i, 26)
            letters = "abcdefghijklmnopqrstuvwxyz"[rest] + letters
            if not i:
                return letters.capitalize()

    return [f"Jo {word(i)} Smith" for i in range(26, 26 + count)]
