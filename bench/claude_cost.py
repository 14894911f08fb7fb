"""What Claude costs per step, with and without prompt caching.

Replays, through the real ``anthropic`` SDK and ``ANTHROPIC_BASE_URL``, a
48-experiment session of the anthropic proposer, a 30-round drill of the
model questioner and a 20-entry research run of the web synthesiser against
``deeploop.models.standin``: a stdlib http.server on 127.0.0.1, started and
stopped here, that applies the prompt cache's prefix rules (breakpoints,
20-block lookback, TTLs on a simulated clock, a 1,024-token minimum) and
bills nothing. Each workload runs twice: as deeploop sends it (cache
breakpoints, 1-hour TTL for the proposer because an experiment step
outlasts 5 minutes) and with caching off. Prices are Sonnet 4.6's.

Prints, per workload: prompt tokens per step, the cacheable prefix (and
whether it reaches the 1,024-token minimum), the share served from cache,
dollars per step cached and uncached, and the ratio, with a sample of steps
(``--steps`` prints every step), then a summary line per workload. The
stand-in does not bill the search results the API feeds back to the model
as input, so research's real prompt (and its uncached cost) is larger.
Goals (proposer):
>= 70 % of input tokens from cache and >= 2.5x cheaper per experiment.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deeploop.experiment.knobs import format_value, read_knobs  # noqa: E402
from deeploop.experiment.proposers.base import ProposalContext  # noqa: E402
from deeploop.experiment.proposers.llm import LLMProposer  # noqa: E402
from deeploop.experiment.results import parse_results  # noqa: E402
from deeploop.models.anthropic import AnthropicModel  # noqa: E402
from deeploop.usage import Usage  # noqa: E402
from deeploop.models.standin import (PromptCache, StandIn, count_tokens,  # noqa: E402
                                     prefix_blocks)

MODEL = "claude-sonnet-4-6"
TEMPLATE = REPO / "deeploop" / "experiment" / "template"
EXPERIMENTS, DRILL_ROUNDS, RESEARCH_ENTRIES = 48, 30, 20
STEP_S = {"proposer": 330.0, "drill": 45.0, "research": 90.0}  # simulated time per step


PREFIX: dict[str, int] = {}  # workload -> tokens up to its last cache breakpoint


def cacheable_prefix(body: dict) -> int:
    """Stand-in tokens up to the request's last cache breakpoint: what the
    cache could hold (0 when nothing is marked)."""
    total, upto = 0, 0
    for block, mark in prefix_blocks(body):
        clean = {k: v for k, v in block.items() if k != "cache_control"} \
            if isinstance(block, dict) else block
        total += count_tokens(clean)
        if mark:
            upto = total
    return upto


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def knob_edit(train_py: str, step: int) -> tuple[str, dict]:
    """A one-knob change of ``train_py`` (what a proposer might send)."""
    knobs = [k for k, v in read_knobs(train_py).items()
             if isinstance(v.value, (int, float)) and not isinstance(v.value, bool)]
    name = knobs[step % len(knobs)]
    line = re.search(rf"^{name}\s*=.*$", train_py, re.M).group(0)
    value = read_knobs(train_py)[name].value
    new_value = value * 2 if isinstance(value, int) else round(value * 1.5, 8)
    new_line = line.replace(line.split("=", 1)[1].split("#")[0].strip(),
                            format_value(new_value), 1)
    return f"{name} {format_value(value)} -> {format_value(new_value)}", \
        {"old": line, "new": new_line}


def proposer_session(url: str, cached: bool) -> list[Usage]:
    clock = Clock()
    state = {"train_py": (TEMPLATE / "train.py").read_text(), "edit": None}

    def replier(body):
        description, edit = knob_edit(state["train_py"], len(standin.requests))
        state["edit"] = (description, edit)
        return {"content": [{"type": "tool_use", "id": "toolu_bench", "name": "propose_change",
                             "input": {"description": description, "hypothesis": "",
                                       "edits": [edit]}}],
                "stop_reason": "tool_use"}

    standin = StandIn(replier, PromptCache(clock=clock))
    program = (TEMPLATE / "program.md").read_text()
    rows = ["commit\tval_bpb\tmemory_gb\tstatus\tdescription",
            "a000000\t2.400000\t1.2\tkeep\tbaseline"]
    usages = []
    with serve(standin, url) as base:
        model = AnthropicModel(MODEL, cache_ttl="1h" if cached else None)
        proposer = LLMProposer(model)
        for n in range(1, EXPERIMENTS + 1):
            context = ProposalContext(
                workspace=None, train_py=state["train_py"], program_md=program,
                results=parse_results("\n".join(rows) + "\n"),
                git_log="\n".join(f"{i:07x} exp {i}" for i in range(n, 0, -1))[:1200],
                experiment=n)
            proposal = proposer.propose(context)
            assert proposal.ok, proposal.error
            usages.append(proposal.usage)
            kept = n % 4 == 0  # about one keep in four
            if kept:
                state["train_py"] = proposal.train_py
            rows.append(f"{n:07x}\t{2.4 - 0.001 * n:.6f}\t1.2\t{'keep' if kept else 'discard'}"
                        f"\t{proposal.description}")
            clock.now += STEP_S["proposer"]
    if cached:
        PREFIX["proposer"] = cacheable_prefix(standin.requests[0])
    return usages


def drill_session(url: str, cached: bool) -> list[Usage]:
    from deeploop.drill.node import DeeperNode
    from deeploop.drill.questioner import ModelQuestioner
    clock = Clock()
    standin = StandIn(lambda body: {"content": [{
        "type": "tool_use", "id": "toolu_bench", "name": "ask_question",
        "input": {"question": "Why does that hold for you?"}}], "stop_reason": "tool_use"},
        PromptCache(clock=clock))
    node = DeeperNode(REPO / "nodes" / "deeper")
    usages, chain = [], ["Our nightly builds should move to the new CI runners."]
    with serve(standin, url):
        questioner = ModelQuestioner(AnthropicModel(MODEL, cache_ttl="5m" if cached else None),
                                     node)
        for n in range(DRILL_ROUNDS):
            question = questioner.ask(chain, [])
            usages.append(question.usage)
            chain.append(f"Because reason {n} matters to the team's release schedule.")
            if len(chain) > 6:  # a branch closes; the cursor moves up
                chain = chain[:2]
            clock.now += STEP_S["drill"]
    if cached:
        PREFIX["drill"] = cacheable_prefix(standin.requests[0])
    return usages


def research_session(url: str, cached: bool) -> list[Usage]:
    from deeploop.research.synthesizer import Context
    from deeploop.research.web import WebSynthesizer
    clock = Clock()
    url = "https://example.org/a"
    searched = [{"type": "server_tool_use", "id": "srvtoolu_bench", "name": "web_search",
                 "input": {"query": "cancel scopes"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_bench",
                 "content": [{"type": "web_search_result", "url": url, "title": "Src",
                              "encrypted_content": "e30=", "page_age": None}]},
                {"type": "text", "text": "- A claim.", "citations": [{
                    "type": "web_search_result_location", "url": url, "title": "Src",
                    "encrypted_index": "e30=", "cited_text": "a claim"}]},
                {"type": "tool_use", "id": "toolu_bench", "name": "record_finding",
                 "input": {"section": "Current Approaches & Patterns", "confidence": "MEDIUM",
                           "status": "answered", "summary": "s", "gaps": []}}]
    written = count_tokens([b for b in searched if b["type"] != "web_search_tool_result"])
    standin = StandIn(lambda body: {"content": searched, "stop_reason": "tool_use",
                                    "web_searches": 2,  # search results are not output
                                    "output_tokens": written}, PromptCache(clock=clock))
    context = Context("structured concurrency",
                      constitution=(REPO / "nodes" / "research" / "PROMPT.md").read_text(),
                      lessons=(REPO / "nodes" / "research" / "BANS.md").read_text())
    usages = []
    with serve(standin, url):
        synth = WebSynthesizer(AnthropicModel(MODEL, cache_ttl="5m" if cached else None),
                               max_uses=2)
        for n in range(RESEARCH_ENTRIES):
            context.round = n + 1
            usages.append(synth.research(f"Question {n} about cancel scopes?", context).usage)
            clock.now += STEP_S["research"]
    if cached:
        PREFIX["research"] = cacheable_prefix(standin.requests[0])
    return usages


class serve:
    """Start the stand-in on 127.0.0.1 and point the SDK at it."""

    def __init__(self, standin, _url=None):
        self.server = standin.serve()

    def __enter__(self):
        url = self.server.__enter__()
        os.environ["ANTHROPIC_BASE_URL"] = url
        os.environ.setdefault("ANTHROPIC_API_KEY", "bench-no-key")
        return url

    def __exit__(self, *exc):
        self.server.__exit__(*exc)
        os.environ.pop("ANTHROPIC_BASE_URL", None)


def step_table(cached: list[Usage], plain: list[Usage], every: bool) -> None:
    """Per step: prompt tokens, the share read from cache, dollars both ways."""
    picks = range(len(cached)) if every else sorted(
        {0, 1, 2, 3, len(cached) // 4, len(cached) // 2, len(cached) - 1})
    print("   step  prompt tok  cached  written    $ cached  $ uncached")
    for i in picks:
        c, p = cached[i], plain[i]
        share = c.cache_read_tokens / c.prompt_tokens if c.prompt_tokens else 0.0
        print(f"  {i + 1:5d}  {c.prompt_tokens:10,d}  {100 * share:5.1f}%  "
              f"{c.cache_write_5m_tokens + c.cache_write_1h_tokens:7,d}  "
              f"{c.usd:10.5f}  {p.usd:10.5f}")


def summary(name: str, kind: str, cached: list[Usage], plain: list[Usage], unit: str,
            every: bool = False) -> dict:
    total = sum(cached, Usage())
    base = sum(plain, Usage())
    share = total.cache_read_tokens / total.prompt_tokens if total.prompt_tokens else 0.0
    ratio = base.usd / total.usd if total.usd else float("nan")
    print(f"\n{name}: {len(cached)} steps ({unit})")
    print(f"  prompt tokens per {unit}: {total.prompt_tokens / len(cached):,.0f} "
          f"(first {cached[0].prompt_tokens:,}, last {cached[-1].prompt_tokens:,})")
    prefix, least = PREFIX.get(kind, 0), PromptCache().min_cacheable
    print(f"  cacheable prefix (up to the last breakpoint): {prefix:,} tokens"
          + (f" < the {least:,}-token minimum: nothing is cached" if prefix < least else ""))
    print(f"  served from cache: {100 * share:.1f} % "
          f"(written {total.cache_write_5m_tokens + total.cache_write_1h_tokens:,}, "
          f"read {total.cache_read_tokens:,}, uncached {total.input_tokens:,})")
    print(f"  dollars per {unit}: cached ${total.usd / len(cached):.5f}, "
          f"uncached ${base.usd / len(plain):.5f}  ->  {ratio:.2f}x cheaper")
    print(f"  output tokens per {unit}: {total.output_tokens / len(cached):,.0f}; "
          f"session total ${total.usd:.4f} vs ${base.usd:.4f}")
    step_table(cached, plain, every)
    return {"share": share, "ratio": ratio}


def main() -> int:
    every = "--steps" in sys.argv[1:]  # every step, not a sample
    print(f"claude_cost: {MODEL} prices; stand-in API on 127.0.0.1 with prefix caching")
    results = {}
    for kind, name, run, unit in (
            ("proposer", "proposer (experiment session)", proposer_session, "experiment"),
            ("research", "research synthesiser", research_session, "entry"),
            ("drill", "drill questioner", drill_session, "round")):
        results[kind] = summary(name, kind, run(None, True), run(None, False), unit, every)
    print("\nsummary: cached share, cost ratio (uncached / cached)")
    for kind, got in results.items():
        print(f"  {kind:9s} {100 * got['share']:5.1f} %  {got['ratio']:5.2f}x")
    prop = results["proposer"]
    ok = prop["share"] >= 0.70 and prop["ratio"] >= 2.5
    print(f"GOAL proposer: >= 70 % from cache and >= 2.5x cheaper: "
          f"{100 * prop['share']:.1f} %, {prop['ratio']:.2f}x -> {'met' if ok else 'NOT met'}")
    print("research: the cache serves most prompt tokens, but the web searches ($0.01 each) "
          "and the output dominate its cost; drill: the questioner's stable prefix is below "
          "the cache minimum until lessons or long chains grow it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
