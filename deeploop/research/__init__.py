"""Research mode: questions answered from sources into a cited report.

``research.sources`` holds the document sources (offline ``local:DIR`` and the
bundled ``sample:stdlib`` collection); the loop, synthesis and judge build on
its ``get_source(spec).search(query, k)``.
"""
