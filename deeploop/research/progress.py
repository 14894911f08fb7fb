"""A tqdm progress bar that follows the research loop's events: entries
recorded, how many reached HIGH confidence, the question being researched.
It only reads events; the loop never knows it."""
from __future__ import annotations

from ..progressbar import EventBar


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ResearchProgress(EventBar):
    def __init__(self, total: int, done: int, high: int = 0, disable: bool = False):
        super().__init__(total, done, unit="entry", desc="research", disable=disable)
        self.high, self.question = high, ""
        self._postfix()

    def _postfix(self) -> None:
        asking = f" | {_short(self.question)}" if self.question else ""
        self.show(f"HIGH {self.high}/{self.done}{asking}")

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "research_started":
            self.question = event.get("question", "")
        elif kind == "research_result":
            self.high += event.get("confidence") == "HIGH"
            self.question = ""
            self.step()
        elif kind == "meta_analysis":
            self.note(f"cohort {event.get('cohort')} analysed: program "
                      f"v{event.get('version_to', '?')}")
        else:
            return
        self._postfix()
