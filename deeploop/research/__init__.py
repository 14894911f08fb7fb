"""Research mode: questions answered from sources into a cited report.

``sources`` holds the document sources (offline ``local:DIR`` and the
bundled ``sample:stdlib`` collection); ``synthesizer`` (the registry),
``extractive`` (offline) and ``web`` (Claude) turn a question into an
attempt; ``settle`` and ``judge`` decide what is written; ``loop`` and
``resume`` run and resume the loop; ``cohort_analysis`` is the cohort
meta-analysis; ``opening`` (prepare, execute) is what the CLI and the notebook call. See
docs/research-mode.md.
"""
