"""Secrets stay home: subprocesses get no credentials unless the user passes them."""
from __future__ import annotations

import sys

from deeploop import childenv
from deeploop.experiment.notify import Notifier
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
