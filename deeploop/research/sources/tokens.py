"""Text to index terms: lower case, words and numbers, stopwords out, and a
light suffix stemmer so 'parsing', 'parses' and 'parsed' meet 'parse'.

The stemmer is deliberately conservative (plural and -ing/-ed endings
only): aggressive stemmers conflate technical terms ('policy'/'police'),
which hurts more than it helps on documentation. Stems are memoised, since
a collection repeats the same few thousand words millions of times.
"""
from __future__ import annotations

import re
from functools import lru_cache

# Bump when tokens change, so cached indexes are rebuilt.
TOKENIZER_VERSION = 1

_WORD = re.compile(r"[^\W_]+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each
either else etc few for from further had has have having he her here hers herself him
himself his how however i if in into is it its itself just let me more most my myself
neither no nor of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they
this those through to too under until up upon us very via was we were what when where
whether which while who whom whose why will with within without would yet you your
yours yourself yourselves
""".split())

_NO_PLURAL = ("ss", "us", "is", "os")
_KEEP_DOUBLE = set("lsz")
_VOWELS = set("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English stemmer; words of four letters or fewer pass unchanged."""
    if len(word) <= 4 or word.isdigit():
        return word
    if word.endswith("ies") and word[-4] not in "ae":
        word = word[:-3] + "y"
    elif word.endswith("es") and word[-3] in "sxz" or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(_NO_PLURAL):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            root = word[:-len(suffix)]
            if _VOWELS & set(root):
                word = _undouble(root)
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(root: str) -> str:
    """'running' -> 'runn' -> 'run'; but 'install' keeps its double l."""
    if len(root) >= 3 and root[-1] == root[-2] and root[-1] not in _KEEP_DOUBLE | _VOWELS:
        return root[:-1]
    return root


def tokenize(text: str) -> list[str]:
    """Index terms of ``text`` in order (repeats kept)."""
    return [stem(word) for word in _WORD.findall(text.lower())
            if word not in STOPWORDS and (len(word) > 1 or word.isdigit())]

