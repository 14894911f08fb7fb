"""The node (ralph) loop: re-run one node's prompt with fresh context while
its judge logs violations (``loop``), and the meta-loop that runs it again
and again, promoting recurring violations into BANS.md between runs
(``metaloop``). It sits above the models: the core never imports it."""
