"""Secrets stay home: subprocesses get no credentials unless the user passes them."""
from __future__ import annotations

import sys

from deeploop import childenv
from deeploop.notify import Notifier
from deeploop.models.command import CommandModel

SECRETS = {"ANTHROPIC_API_KEY": "sk-ant-x", "ANTHROPIC_BASE_URL": "http://x",
           "AWS_SECRET_ACCESS_KEY": "a", "AWS_PROFILE": "p", "GITHUB_TOKEN": "t",
           "OPENAI_API_KEY": "o", "MY_SECRET": "s", "HOME": "/home/me", "PATH": "/bin"}


def test_child_env_drops_credentials_unless_passed(monkeypatch):
    monkeypatch.setattr(childenv, "_passed", set())
    env = childenv.child_env(SECRETS)
    assert env == {"HOME": "/home/me", "PATH": "/bin"}
    childenv.pass_env("ANTHROPIC_API_KEY")
    assert childenv.child_env(SECRETS)["ANTHROPIC_API_KEY"] == "sk-ant-x"
    env = childenv.child_env(dict(SECRETS, DEEPLOOP_PASS_ENV="GITHUB_TOKEN, MY_SECRET"))
    assert {"GITHUB_TOKEN", "MY_SECRET", "ANTHROPIC_API_KEY"} <= set(env)
    assert "OPENAI_API_KEY" not in env


def printing_env(tmp_path):
    script = tmp_path / "envdump.py"
    script.write_text("import os, sys\nsys.stdin.read()\n"
                      "print(','.join(sorted(k for k in os.environ if 'KEY' in k or "
                      "k.startswith('AWS_'))))\n")
    return f"{sys.executable} {script}"


def test_command_models_and_notify_commands_get_no_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(childenv, "_passed", set())
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    command = printing_env(tmp_path)
    assert CommandModel(command).complete("hi").text == ""
    childenv.pass_env("ANTHROPIC_API_KEY")
    assert CommandModel(command).complete("hi").text == "ANTHROPIC_API_KEY"
    monkeypatch.setattr(childenv, "_passed", set())
    out = tmp_path / "out.txt"
    notify = tmp_path / "notify.py"
    notify.write_text("import os, sys\nopen(sys.argv[1], 'w').write(','.join(sorted(k for k in "
                      "os.environ if 'KEY' in k)))\n")
    Notifier(tmp_path / "notify.log", command=f"{sys.executable} {notify} {out}").send(
        "done", "message")
    assert out.read_text() == ""


KEYS_CELL = ("import os\n"
             "print('KEYS=' + ','.join(sorted(k for k in os.environ if 'KEY' in k "
             "or k.startswith('AWS_'))))")


def kernel_keys(notebook_out) -> str:
    from tests.notebook.nbhelpers import outputs_text
    return outputs_text(notebook_out).split("KEYS=")[1].split("\n")[0].strip()


def test_notebook_kernels_get_no_keys_unless_passed(tmp_path, monkeypatch, capsys):
    from tests.notebook.nbhelpers import make_notebook

    from deeploop.cli import main
    monkeypatch.setattr(childenv, "_passed", set())
    for name, value in SECRETS.items():
        if name not in ("HOME", "PATH"):
            monkeypatch.setenv(name, value)
    notebook = make_notebook(tmp_path / "env.ipynb", [KEYS_CELL])
    assert main(["session", str(notebook), "--out", str(tmp_path / "a.ipynb"),
                 "--no-progress"]) == 0
    assert kernel_keys(tmp_path / "a.ipynb") == ""
    assert main(["session", str(notebook), "--out", str(tmp_path / "b.ipynb"), "--no-progress",
                 "--pass-env", "ANTHROPIC_API_KEY"]) == 0, capsys.readouterr().err
    assert kernel_keys(tmp_path / "b.ipynb") == "ANTHROPIC_API_KEY"


def test_batch_workers_pass_on_only_the_names_given(tmp_path, monkeypatch):
    """A batch worker (a fresh process, or a Dask worker) gets the --pass-env
    names with its task and applies them to the kernels it starts."""
    from tests.notebook.nbhelpers import make_notebook

    from deeploop.notebook.batch import run_task, task_for
    from deeploop.notebook.grid import load_grid
    for name, value in SECRETS.items():
        if name not in ("HOME", "PATH"):
            monkeypatch.setenv(name, value)
    make_notebook(tmp_path / "env.ipynb", [KEYS_CELL], params="x = 1")
    (tmp_path / "grid.yaml").write_text("notebook: env.ipynb\nout: out\nsessions:\n  - {x: 2}\n")
    grid = load_grid(tmp_path / "grid.yaml")
    monkeypatch.setattr(childenv, "_passed", {"AWS_PROFILE"})
    task = task_for(grid, grid.sessions[0])
    assert task["pass_env"] == ["AWS_PROFILE"]
    monkeypatch.setattr(childenv, "_passed", set())  # the worker starts with none
    assert run_task(task)["status"] == "passed"
    assert kernel_keys(grid.session_dir(grid.sessions[0]) / "session.ipynb") == "AWS_PROFILE"


def test_workspace_git_gets_no_keys(tmp_path, monkeypatch):
    from deeploop.experiment.workspace import TrainingWorkspace as Workspace
    monkeypatch.setattr(childenv, "_passed", set())
    log = tmp_path / "git-env.log"
    shim = tmp_path / "bin"
    shim.mkdir()
    import shutil
    real = shutil.which("git")
    (shim / "git").write_text(f"#!/bin/sh\nenv | grep -E 'KEY|AWS_' >> {log}\nexec {real} \"$@\"\n")
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a")
    workspace = Workspace.create(tmp_path / "ws", "envtest", {"a.txt": "a\n"})
    assert workspace.git("status", "--short") == ""
    assert log.exists() and log.read_text() == ""  # git ran, and saw no credential
