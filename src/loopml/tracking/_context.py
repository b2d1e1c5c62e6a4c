"""Automatic run context: source, git state, user, host and package versions."""

from __future__ import annotations

import getpass
import json
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

SOURCE_NAME = "loopml.source.name"
GIT_COMMIT = "loopml.source.git.commit"
GIT_DIRTY = "loopml.source.git.dirty"
GIT_BRANCH = "loopml.source.git.branch"
USER = "loopml.user"
HOST = "loopml.host"
PYTHON = "loopml.python_version"
PACKAGES = "loopml.packages"
PARENT_RUN = "loopml.parentRunId"
AUTOLOGGED = "loopml.autologging"

KEY_PACKAGES = ("loopml", "numpy", "pandas", "scikit-learn", "scipy", "xgboost", "lightgbm")


def current_user() -> str:
    """The user name, as MLflow finds it (``LOOPML_USER`` first)."""
    if os.environ.get("LOOPML_USER"):
        return os.environ["LOOPML_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _source_path() -> Path | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).absolute() if path else None


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Installed versions of the key packages (missing ones are left out)."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def context_tags() -> dict[str, str]:
    """Tags describing where and from what code a run was started."""
    source = _source_path()
    tags = {
        USER: current_user(),
        HOST: socket.gethostname(),
        PYTHON: platform.python_version(),
        PACKAGES: json.dumps(package_versions(), sort_keys=True),
        SOURCE_NAME: str(source) if source else "<interactive>",
    }
    where = source.parent if source else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], where)
    if commit:
        tags[GIT_COMMIT] = commit
        status = _git(["status", "--porcelain", "--untracked-files=no"], where)
        tags[GIT_DIRTY] = "true" if status else "false"
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
        if branch:
            tags[GIT_BRANCH] = branch
    return tags
