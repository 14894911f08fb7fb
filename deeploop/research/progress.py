"""A tqdm progress bar that follows the research loop's events: entries
recorded, how many reached HIGH confidence, the question being researched.
It only reads events; the loop never knows it."""
from __future__ import annotations


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ResearchProgress:
    def __init__(self, total: int, done: int, high: int = 0, disable: bool = False):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=total, initial=min(done, total), unit="entry", disable=disable,
                        desc="research", dynamic_ncols=True)
        self.high, self.question = high, ""
        self._postfix()

    def _postfix(self) -> None:
        asking = f" | {_short(self.question)}" if self.question else ""
        self.bar.set_postfix_str(f"HIGH {self.high}/{self.bar.n}{asking}")

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "research_started":
            self.question = event.get("question", "")
        elif kind == "research_result":
            self.high += event.get("confidence") == "HIGH"
            self.question = ""
            if self.bar.n < self.bar.total:
                self.bar.update(1)
        elif kind == "meta_analysis" and not self.bar.disable:
            self.bar.write(f"cohort {event.get('cohort')} analysed: program "
                           f"v{event.get('version_to', '?')}")
        else:
            return
        self._postfix()

    def close(self) -> None:
        self.bar.close()
