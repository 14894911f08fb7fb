"""Benchmark for research retrieval (``local:DIR``), printing figures only.

1. Candidates (``support/retrieval_candidates.py``: SQLite FTS5, bm25s,
   tantivy), each fed the same passages of a synthetic N-document
   collection (two passages of ~125 words per document, drawn from a
   Zipf-distributed vocabulary): index build, update of one document,
   cold load (open what is on disk and answer one query), query latency
   (median and p95 over 100 queries), disk size; then recall@5 and MRR@5
   on the labelled questions below. This is how the package's index was
   chosen.
2. The package end to end over the same collection written as Markdown,
   HTML and text files: index build (extraction included), reload from
   the on-disk index, refresh after editing 10 files, refresh after
   editing one, and query latency (median and p95 over 300 queries).
   Goals: build <= 60 s, median query <= 50 ms (at 10,000 documents).
3. Quality on the offline stdlib sample collection (``sample:stdlib``): 40
   questions, each labelled with the module whose documentation answers
   it; recall@5 is the share of questions whose module appears among the
   top 5 passages, MRR@5 the mean reciprocal rank of its first passage.

Times are wall and CPU seconds: the machine may be shared, and CPU time is
the steadier figure. Cold loads come from the OS page cache.

Usage: python bench/research_retrieval.py [--docs N] [--keep DIR]
           [--skip-candidates] [--skip-local]
Output: grep-able ``key: value`` lines, one block per ``--- name`` line.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from deeploop.research.sources import LocalSource, get_source, sample_collection
from deeploop.research.sources.chunk import chunk_document
from deeploop.research.sources.extract import extract
from deeploop.research.sources.cache import RACY_NS

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from retrieval_candidates import CANDIDATES, missing  # noqa: E402

BUILD_GOAL_S, QUERY_GOAL_MS = 60.0, 50.0

LABELLED = [
    ("parse command line arguments and options", "argparse"),
    ("encode binary data as base64 text", "base64"),
    ("keep a list sorted while inserting items", "bisect"),
    ("count how many times each element occurs", "collections"),
    ("named tuple with fields accessible by attribute", "collections"),
    ("context manager that suppresses specified exceptions", "contextlib"),
    ("deep copy of a nested object", "copy"),
    ("read rows from a comma separated values file", "csv"),
    ("generate special methods like __init__ for a class with fields", "dataclasses"),
    ("difference between two dates as a timedelta", "datetime"),
    ("exact decimal arithmetic without binary floating point rounding", "decimal"),
    ("compute the differences between two sequences of lines", "difflib"),
    ("cache the results of a function call", "functools"),
    ("find file names matching a wildcard pattern", "glob"),
    ("compress and decompress gzip files", "gzip"),
    ("secure hash and message digest sha256", "hashlib"),
    ("priority queue with a heap", "heapq"),
    ("message authentication code with a secret key", "hmac"),
    ("escape special characters for html", "html"),
    ("check whether an ip address belongs to a network", "ipaddress"),
    ("combinations and permutations of an iterable", "itertools"),
    ("serialize an object to a JSON formatted string", "json"),
    ("log messages with severity levels to handlers", "logging"),
    ("guess the mime type of a file from its name", "mimetypes"),
    ("object oriented filesystem paths", "pathlib"),
    ("serialize python objects to bytes and back", "pickle"),
    ("thread safe queue for producers and consumers", "queue"),
    ("regular expression matching and substitution", "re"),
    ("generate a secure random token for passwords", "secrets"),
    ("split a shell command line into words with quoting", "shlex"),
    ("copy a directory tree recursively", "shutil"),
    ("mean median and standard deviation of data", "statistics"),
    ("pack values into binary structures of bytes", "struct"),
    ("run a subprocess and capture its standard output", "subprocess"),
    ("create a temporary directory that is removed afterwards", "tempfile"),
    ("wrap long text into lines of a given width", "textwrap"),
    ("measure execution time of small code snippets", "timeit"),
    ("generate a universally unique identifier", "uuid"),
    ("read and write zip archives", "zipfile"),
    ("percent encode a url query string", "urllib.parse"),
]


def zipf_vocabulary(rng: random.Random, size: int) -> tuple[list[str], list[float]]:
    """Pseudo-words and their cumulative Zipf weights (for ``rng.choices``)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 10)))
                    for _ in range(size)})
    rng.shuffle(words)
    return words, list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))


def synthetic_docs(docs: int, seed: int = 7):
    """Deterministic synthetic documents: (vocabulary, cumulative weights,
    [(i, title, section1, section2, first half, second half), ...])."""
    rng = random.Random(seed)
    words, cumulative = zipf_vocabulary(rng, 30_000)
    out = []
    for i in range(docs):
        body = rng.choices(words, cum_weights=cumulative, k=250)
        out.append((i, " ".join(body[:4]), " ".join(body[4:7]), " ".join(body[7:10]),
                    " ".join(body[10:130]), " ".join(body[130:])))
    return words, cumulative, out


def write_collection(root: Path, docs: int, seed: int = 7) -> tuple[list[str], list[float]]:
    """A deterministic synthetic collection; returns the vocabulary used."""
    words, cumulative, generated = synthetic_docs(docs, seed)
    for i, title, sec1, sec2, first, second in generated:
        folder = root / f"part{i % 20:02d}"
        folder.mkdir(exist_ok=True)
        kind = i % 10
        if kind == 0:
            text = (f"<html><title>{title}</title><h2>{sec1}</h2><p>{first}</p>"
                    f"<h2>{sec2}</h2><p>{second}</p></html>")
            (folder / f"doc{i:05d}.html").write_text(text)
        elif kind == 1:
            (folder / f"doc{i:05d}.txt").write_text(f"{first}\n\n{second}\n")
        else:
            text = f"# {title}\n\n## {sec1}\n\n{first}\n\n## {sec2}\n\n{second}\n"
            (folder / f"doc{i:05d}.md").write_text(text)
    return words, cumulative


def synthetic_passages(generated) -> list[tuple[str, str]]:
    """The (doc, text) passages a collection of synthetic documents makes:
    two sections each, title and heading indexed with the text."""
    return [(f"doc{i:06d}", f"{title}\n{heading}\n{text}")
            for i, title, sec1, sec2, first, second in generated
            for heading, text in ((sec1, first), (sec2, second))]


def timed(fn):
    """(result, wall seconds, CPU seconds): CPU time is the steadier figure
    on a shared machine, wall time the one a user waits."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_speed(root: Path, docs: int) -> dict:
    (words, cumulative), gen_s, _ = timed(lambda: write_collection(root, docs))
    # Let the files age past the cache's racy window (RACY_NS), so the warm
    # reload measures loading, not re-hashing files written a moment ago.
    time.sleep(RACY_NS / 1e9 + 0.1)
    source = LocalSource(root)
    stats, build_s, build_cpu = timed(source.refresh)
    _, load_s, load_cpu = timed(LocalSource(root).refresh)
    edited = sorted(root.glob("part02/*.md"))[:10]
    for path in edited:
        path.write_text(path.read_text() + "\n\nAn appended paragraph about nurseries.\n")
    refreshed, refresh_s, refresh_cpu = timed(source.refresh)
    one = sorted(root.glob("part03/*.md"))[0]
    one.write_text(one.read_text() + "\n\nA second appended paragraph about channels.\n")
    refreshed_one, one_s, one_cpu = timed(source.refresh)
    assert refreshed_one.updated == [one.relative_to(root).as_posix()], refreshed_one.updated
    rng = random.Random(11)
    latencies = []
    for _ in range(300):
        query = " ".join(rng.choices(words[:5000], cum_weights=cumulative[:5000],
                                     k=rng.randint(3, 6)))
        _, seconds, _ = timed(lambda q=query: source.search(q, k=5))
        latencies.append(seconds * 1000)
    latencies.sort()
    return {"docs": len(stats.added), "passages": len(source), "generate_s": gen_s,
            "build_s": build_s, "build_cpu_s": build_cpu, "reload_s": load_s,
            "reload_cpu_s": load_cpu, "refresh_10_edits_s": refresh_s,
            "refresh_10_edits_cpu_s": refresh_cpu, "refresh_updated": len(refreshed.updated),
            "refresh_1_edit_s": one_s, "refresh_1_edit_cpu_s": one_cpu,
            "query_median_ms": statistics.median(latencies),
            "query_p95_ms": latencies[int(0.95 * len(latencies)) - 1]}


def labelled_passages() -> list[tuple[str, str]]:
    """The sample collection's passages as (doc, title + section + text),
    cut exactly as ``local:`` cuts them, for the candidates' quality runs."""
    root = sample_collection()
    out = []
    for path in sorted(root.glob("*.md")):
        document = extract(path.name, path.read_bytes())
        out.extend((path.name, f"{document.title}\n{chunk.section}\n{chunk.text}")
                   for chunk in chunk_document(document))
    return out


def score_rankings(rank, k: int = 5) -> dict:
    """recall@k and MRR@k of ``rank(question, k) -> [doc, ...]`` on LABELLED."""
    hits, reciprocal, misses = 0, 0.0, []
    for question, module in LABELLED:
        ranked = rank(question, k)
        target = f"{module}.md"
        if target in ranked:
            hits += 1
            reciprocal += 1.0 / (ranked.index(target) + 1)
        else:
            misses.append(f"{question!r} -> {ranked[:2]}")
    return {"questions": len(LABELLED), f"recall_at_{k}": hits / len(LABELLED),
            f"mrr_at_{k}": reciprocal / len(LABELLED), "misses": misses}


def bench_quality(k: int = 5) -> dict:
    source = get_source("sample:stdlib")
    result = score_rankings(lambda q, n: [p.doc for p in source.search(q, k=n)], k)
    for miss in result.pop("misses"):
        print(f"miss: {miss}")
    return result


def bench_candidate(candidate, folder: Path, passages, queries, labelled) -> dict:
    """Index build, update of one document, cold load and query latency over
    ``passages``; recall and MRR over the labelled sample."""
    _, build_s, build_cpu = timed(lambda: candidate.build(folder / "big", passages))
    doc = passages[len(passages) // 2][0]
    edited = [(doc, text + " nursery appended") for d, text in passages if d == doc]
    _, update_s, update_cpu = timed(lambda: candidate.update(folder / "big", doc, edited))

    def cold():
        opened = candidate.open(folder / "big")
        return opened, candidate.search(opened, queries[0], 5)
    (opened, _), load_s, load_cpu = timed(cold)
    assert candidate.search(opened, "nursery appended", 1) == [doc], "update not visible"
    latencies = sorted(timed(lambda q=q: candidate.search(opened, q, 5))[1] * 1000
                       for q in queries)
    candidate.build(folder / "sample", labelled)
    sample = candidate.open(folder / "sample")
    quality = score_rankings(lambda q, n: candidate.search(sample, q, n))
    return {"build_s": build_s, "build_cpu_s": build_cpu, "update_one_s": update_s,
            "update_one_cpu_s": update_cpu, "cold_load_s": load_s, "cold_load_cpu_s": load_cpu,
            "query_median_ms": statistics.median(latencies),
            "query_p95_ms": latencies[int(0.95 * len(latencies)) - 1],
            "recall_at_5": quality["recall_at_5"], "mrr_at_5": quality["mrr_at_5"],
            "disk_mb": sum(f.stat().st_size for f in (folder / "big").rglob("*")
                           if f.is_file()) / 1e6}


def bench_candidates(docs: int, count: int = 100) -> None:
    """Every candidate on the same passages; prints one block per candidate."""
    words, cumulative, generated = synthetic_docs(docs)
    passages = synthetic_passages(generated)
    del generated
    rng = random.Random(11)
    queries = [" ".join(rng.choices(words[:5000], cum_weights=cumulative[:5000],
                                    k=rng.randint(3, 6))) for _ in range(count)]
    labelled = labelled_passages()
    for candidate in CANDIDATES:
        print(f"--- candidate: {candidate.name} ({docs} docs, {len(passages)} passages)")
        if need := missing(candidate):
            print(f"skipped: {need} is not installed (pip install -e '.[bench]')")
            continue
        with tempfile.TemporaryDirectory(prefix=f"deeploop-{candidate.name}-") as tmp:
            figures = bench_candidate(candidate, Path(tmp), passages, queries, labelled)
        for key, value in figures.items():
            print(f"{key}: {value:.3f}")
        sys.stdout.flush()


def bench_local(args) -> None:
    """The package's ``local:`` source end to end, then its quality."""
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        speed = bench_speed(args.keep, args.docs)
    else:
        with tempfile.TemporaryDirectory(prefix="deeploop-bench-") as tmp:
            speed = bench_speed(Path(tmp), args.docs)
    quality = bench_quality()
    print(f"--- local: (the package, end to end: {args.docs} docs)")
    for key, value in {**speed, **quality}.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"build_goal_met: {speed['build_s'] <= BUILD_GOAL_S}")
    print(f"query_goal_met: {speed['query_median_ms'] <= QUERY_GOAL_MS}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="synthetic collection size")
    parser.add_argument("--keep", type=Path, help="build the collection here and keep it")
    parser.add_argument("--queries", type=int, default=100,
                        help="queries timed per candidate (FTS5 is slow at 100k documents)")
    parser.add_argument("--skip-local", action="store_true", help="only compare candidates")
    parser.add_argument("--skip-candidates", action="store_true", help="only the package")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deeploop-cache-") as cache:
        os.environ.setdefault("DEEPLOOP_CACHE", cache)  # the sample is rendered fresh
        if not args.skip_candidates:
            bench_candidates(args.docs, args.queries)
        if not args.skip_local:
            bench_local(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
