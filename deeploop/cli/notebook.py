"""``deeploop session``, ``deeploop batch`` and ``deeploop report``: notebooks, headless."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError
from .claude import add_pass_env

SESSION_HELP = """\
Run a parameterised notebook headless with papermill. Parameters are checked
against the notebook's cell tagged 'parameters' first: an unknown name or a
value of the wrong type stops before any kernel starts. -p values are
converted by the parameter's type hint (-p experiments 24 gives an int).

The executed notebook goes to --out (a .ipynb file, or a folder that gets
session.ipynb), else to the run_dir parameter's folder, else to
runs/<node>/<tag or fresh id>/session.ipynb. session.json beside it records
the status, times and the notebook's headline figure. A failing cell stops
the session with a one-line error; the partial notebook is kept.

The kernel gets this environment without credentials (ANTHROPIC_*, AWS_*,
names with KEY, TOKEN, SECRET, PASSWORD ...): a notebook that calls Claude
needs --pass-env ANTHROPIC_API_KEY."""

BATCH_HELP = """\
Run many sessions of one notebook, several at once, and write index.html.
GRID.yaml names the notebook and a parameter grid (every combination) or a
list of sessions:

  notebook: session.ipynb      # relative to GRID.yaml
  parameters: {experiments: 8} # shared by all sessions (optional)
  grid: {lr: [0.01, 0.04], depth: [2, 4]}   # or: sessions: [{lr: 0.01}, ...]
  timeout: 600                 # seconds per cell (optional)

Sessions run in a local process pool (--workers, default: one per core) or
on an existing Dask cluster (--dask tcp://scheduler:8786). A failure does not
stop the others; running the same file again skips sessions that passed.
Exit status 1 if any session did not pass. Kernels get no credentials
unless named with --pass-env NAME (as for session)."""

REPORT_HELP = """\
Execute the report template against a run folder (or a run id) or an
autoresearch results.tsv, and write report.ipynb and a self-contained
report.html (code hidden, images embedded) into the run folder or --out."""


def register(sub) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    s = sub.add_parser("session", help="run a parameterised notebook headless",
                       description=SESSION_HELP, formatter_class=fmt)
    s.add_argument("notebook", help="the .ipynb to run")
    s.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("KEY", "VALUE"), help="set a parameter (repeatable)")
    s.add_argument("-f", "--parameters-file", metavar="FILE",
                   help="YAML mapping of parameters (-p wins over it)")
    s.add_argument("--out", metavar="PATH", help="executed notebook (.ipynb) or run folder")
    s.add_argument("--timeout", type=float, metavar="S", help="time limit per cell, in seconds")
    s.add_argument("--kernel", metavar="NAME", help="kernel to use (default: the notebook's)")
    s.add_argument("--help-notebook", action="store_true",
                   help="list the notebook's parameters and exit")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_pass_env(s)
    s.set_defaults(func=run_session_command)

    b = sub.add_parser("batch", help="run a grid of notebook sessions, several at once",
                       description=BATCH_HELP, formatter_class=fmt)
    b.add_argument("grid", metavar="GRID.yaml", help="the batch file")
    b.add_argument("--workers", type=int, metavar="N", help="sessions at once (local pool)")
    b.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler instead")
    add_pass_env(b)
    b.set_defaults(func=run_batch_command)

    r = sub.add_parser("report", help="execute the report notebook for a run or results file",
                       description=REPORT_HELP, formatter_class=fmt)
    r.add_argument("run", nargs="?", metavar="RUN_DIR", help="run folder or run id")
    r.add_argument("--results", metavar="FILE", help="an autoresearch results.tsv instead")
    r.add_argument("--out", metavar="DIR", help="output folder (default: the run folder)")
    r.add_argument("--template", metavar="NOTEBOOK", help="report template (default: built-in)")
    r.add_argument("--timeout", type=float, metavar="S", default=300,
                   help="time limit per cell, in seconds (default 300)")
    r.set_defaults(func=run_report_command)


def run_session_command(args) -> int:
    from ..notebook.session import run_session
    if args.help_notebook:
        return print_parameters(args.notebook)
    params, from_cli = session_parameters(args.parameters_file, args.parameter)
    result = run_session(args.notebook, params, out=args.out, timeout=args.timeout,
                         progress=not args.no_progress, from_cli=from_cli,
                         kernel_name=args.kernel)
    print(f"session passed in {result.seconds:.1f} s: {result.output}")
    if result.headline:
        print(f"headline: {result.headline.get('label')} = {result.headline.get('value')}")
    return 0


def session_parameters(params_file, pairs) -> tuple[dict, frozenset]:
    """-f values (typed by YAML) overlaid with -p values (strings, typed later)."""
    from ..fileio import read_text
    from ..notebook.grid import parse_yaml
    params = {}
    if params_file:
        data, _ = parse_yaml(read_text(params_file, "parameters file"), Path(params_file))
        if data is not None and not isinstance(data, dict):
            raise InputError(f"{params_file}: must be a mapping of parameter: value")
        params.update(data or {})
    cli = {key: value for key, value in pairs}
    params.update(cli)
    return params, frozenset(cli)


def print_parameters(notebook) -> int:
    from ..notebook.parameters import read_parameters
    declared = read_parameters(notebook)
    if not declared:
        print(f"{notebook} has no cell tagged 'parameters'")
    for param in declared.values():
        print(f"  {param.describe()}")
    return 0


def run_batch_command(args) -> int:
    from ..notebook.batch import run_batch
    done = [0]

    def report(outcome: dict) -> None:
        done[0] += 1
        headline = outcome.get("headline") or {}
        extra = f" {headline.get('label')}={headline.get('value')}" if headline else ""
        error = f" — {outcome['error']}" if outcome.get("error") else ""
        print(f"[{done[0]}] {outcome['sid']}: {outcome['status']}{extra}{error}", flush=True)

    result = run_batch(args.grid, workers=args.workers, dask=args.dask, on_done=report)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts.items()))
    skipped = f" ({len(result.skipped)} already done)" if result.skipped else ""
    print(f"batch {result.grid.name}: {counts}{skipped}")
    print(f"index: {result.index}")
    return 0 if result.all_passed else 1


def run_report_command(args) -> int:
    from ..notebook.report import build_report
    if bool(args.run) == bool(args.results):
        raise InputError("give a run folder (RUN_DIR) or --results FILE, not both"
                         if args.run else "give a run folder (RUN_DIR) or --results FILE")
    source = args.results or args.run
    report = build_report(source, args.out, template=args.template,
                          results=bool(args.results), timeout=args.timeout)
    print(f"report: {report.html}", file=sys.stdout)
    return 0
