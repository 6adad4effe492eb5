"""A real Postfix for tests: Debian's package, run as its own instance (`postfix -c DIR`) with
its own config, queue and data directories and high loopback ports; the system's Postfix and
/etc/postfix are never touched. Also a throw-away CA for TLS between mailbot and Postfix."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"

# The daemons Postfix needs, none chrooted (a chroot would need copies of /etc files).
MASTER_CF = """\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key)."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=mailbot test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "relay.key", "-out", "relay.csr",
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "relay.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "relay.pem", "-days", "2", "-extfile", "ext.cnf")  # fmt: skip
    return folder / "ca.pem", folder / "relay.pem", folder / "relay.key"


@dataclass
class PostfixInstance:
    """main.cf/master.cf text in, a running Postfix out; `stop()` ends it and removes it."""

    main_cf: str
    master_cf: str
    maps: dict[str, str] = field(default_factory=dict)  # name -> text, postmap'ed as hash:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mailbot-postfix-")))

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "maillog"

    def start(self) -> PostfixInstance:
        # The daemons run as the postfix user: every folder on the way must be searchable.
        self.root.chmod(0o755)
        for sub in ("etc", "queue", "data"):
            (self.root / sub).mkdir(exist_ok=True)
        shutil.chown(self.root / "data", "postfix")
        base = f"""\
compatibility_level = 3.6
config_directory = {self.config_dir}
queue_directory = {self.root / "queue"}
data_directory = {self.root / "data"}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix-test.invalid
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {self.log}
maillog_file_prefixes = {self.root}
smtputf8_enable = yes
"""
        (self.config_dir / "main.cf").write_text(base + self.main_cf)
        (self.config_dir / "master.cf").write_text(MASTER_CF + self.master_cf)
        for name, text in self.maps.items():
            (self.config_dir / name).write_text(text)
            self._run(POSTMAP, "-c", str(self.config_dir), f"hash:{self.config_dir / name}")
        self._run(POSTFIX, "-c", str(self.config_dir), "check")
        self._run(POSTFIX, "-c", str(self.config_dir), "start")
        return self

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, env={**os.environ})
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)}: {done.stdout}{done.stderr}\n{log}")

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.config_dir), "stop"], capture_output=True)
        pid_file = self.root / "queue" / "pid" / "master.pid"
        deadline = time.monotonic() + 15
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
