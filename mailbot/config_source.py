"""Where the config comes from: finding the file, the env file beside it, paths relative to the
file, and which file line or environment variable gave a value (for error messages)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mailbot.resources import CHECKOUT

ENV_PREFIX = "MAILBOT_"
ENV_FILE = "mailbot.env"  # beside the config file; the process environment wins over it
# Keys of [server] that name files or folders: relative ones are relative to the config file.
PATH_KEYS = ("data_dir", "tls_cert", "tls_key", "templates_dir", "relay_ca_file", "dkim_key_file")


def config_candidates() -> list[Path]:
    """Where a config is looked for when neither --config nor $MAILBOT_CONFIG names one."""
    return [
        Path.cwd() / "config" / "mailbot.toml",
        Path("/etc/mailbot/mailbot.toml"),
        CHECKOUT / "config" / "mailbot.toml",  # a source checkout's sample
    ]


def find_config(explicit: Path | str | None = None) -> tuple[Path, list[Path]]:
    """-> (the config file, the places looked at). The file may not exist (then say so)."""
    if explicit:
        path = Path(explicit).absolute()
        return path, [path]
    if env := os.environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(env).absolute()
        return path, [path]
    looked = config_candidates()
    return next((p for p in looked if p.exists()), looked[0]), looked


def read_env_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """KEY=VALUE lines (systemd EnvironmentFile syntax, without expansion).
    -> (values, origin of each key as 'file line N')."""
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    if not path.is_file():
        return values, origins
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
        origins[key] = f"{path} line {number}"
    return values, origins


def anchor_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the relative paths of [server] absolute against `base` (the config's folder for
    the file's values, the working directory for the environment's)."""
    server = data.get("server")
    if not isinstance(server, dict):
        return data
    server = dict(server)
    for key in PATH_KEYS:
        value = server.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            server[key] = os.path.normpath(base / value)
    url = server.get("database_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            server["database_url"] = f"sqlite:///{os.path.normpath(base / relative)}"
    return {**data, "server": server}


def file_line(text: str, loc: tuple[str, ...]) -> int | None:
    """The line of `loc` (section..., key) in a TOML text, by a plain scan: good enough to
    point a person at the right line; None when the key is not written there."""
    if not loc:
        return None
    *section, key = [part for part in loc if not part.isdigit()]
    current: list[str] = []
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\[?([^\]]+)\]\]?", line)
        if header:
            current = [p.strip() for p in header.group(1).split(".")]
            continue
        if pattern.match(line) and current == section:
            return number
    return None


def environment_for(
    source: Path, environ: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The process environment over the env file beside the config (when reading os.environ)."""
    if environ is not None:
        return environ, {}
    values, lines = read_env_file(source.parent / ENV_FILE)
    return {**values, **os.environ}, {k: v for k, v in lines.items() if k not in os.environ}


def error_line(err: Any, *, source: Path, text: str, origins: dict[tuple[str, ...], str]) -> str:
    """'origin: key: message', the origin being the variable or the file line it came from."""
    loc = tuple(str(p) for p in err["loc"])
    key = ".".join(loc) or "(top)"
    origin = next((o for k, o in origins.items() if loc[: len(k)] == k), None)
    if origin is None:
        line = file_line(text, loc)
        origin = f"{source} line {line}" if line else str(source)
    return f"{origin}: {key}: {err['msg']}"
