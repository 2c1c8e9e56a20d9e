"""A private Docker daemon for the Docker tests, started and stopped by the tests themselves.

``docker_daemon`` (module fixture) starts ``dockerd --iptables=false --bridge=none`` on its own socket,
data root and exec root under a short /tmp directory (unix socket paths are limited to 108 bytes), with
its own containerd namespace, and imports ``local/busybox:1`` from a root file system made of the static
busybox of Debian's ``busybox-static`` (``tar -C rootfs -c . | docker import - local/busybox:1``; no
registry is reachable). On teardown dockerd gets SIGTERM (SIGKILL after 20 s), its leftover processes
and mounts are removed with it.

dockerd needs root and the ``docker.io`` and ``busybox-static`` packages (``scripts/ensure_system_deps.sh
docker``; ``.ci/run`` installs them). When the daemon cannot start the tests are skipped with the reason
printed — unless ``DAGSTUDIO_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

IMAGE = "local/busybox:1"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
START_TIMEOUT = 60.0
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


@dataclass
class DockerDaemon:
    """A running private dockerd: ``url`` is its ``unix://`` socket, ``image`` the busybox image."""

    url: str
    root: Path
    process: subprocess.Popen[bytes]
    image: str = IMAGE

    def client(self) -> Any:
        import docker

        return docker.APIClient(base_url=self.url, version="auto", timeout=30)

    def containers(self, label: str | None = None) -> list[dict[str, Any]]:
        """Every container (running or not), or those carrying ``label`` (``key`` or ``key=value``)."""
        with contextlib.closing(self.client()) as client:
            return client.containers(all=True, filters={"label": label} if label else None)


def _is_static(path: Path) -> bool:
    """Whether the ELF file has no PT_INTERP program header (needs no dynamic loader in the image)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only (Debian's amd64/arm64 busybox)
        return False
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return all(struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def why_not() -> str | None:
    """Why a private dockerd cannot run here (None when it can be tried)."""
    if sys.platform != "linux":
        return "dockerd needs Linux"
    if os.geteuid() != 0:
        return "dockerd needs root (run the Docker tests as root, as CI does)"
    missing = [tool for tool in ("dockerd", "docker") if shutil.which(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (apt-get install docker.io; scripts/ensure_system_deps.sh docker)"
        )
    if not BUSYBOX.exists() or not _is_static(BUSYBOX):
        return f"no static busybox at {BUSYBOX} (apt-get install busybox-static)"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker Python package is not installed (pip install -e '.[dev]')"
    return None


def build_rootfs(rootfs: Path) -> None:
    """A minimal root file system: busybox with a link per applet, /etc/passwd (root, nobody), /tmp."""
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "passwd").write_text(PASSWD)
    (rootfs / "etc" / "group").write_text(GROUP)
    for name, mode in (("tmp", 0o1777), ("root", 0o700), ("data", 0o755)):
        (rootfs / name).mkdir()
        (rootfs / name).chmod(mode)


def _wait_ready(daemon: DockerDaemon, log: Path) -> None:
    import docker

    deadline = time.monotonic() + START_TIMEOUT
    problem: Exception | None = None
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise RuntimeError(f"dockerd exited with {daemon.process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with contextlib.closing(docker.APIClient(base_url=daemon.url, version="auto", timeout=5)) as client:
                client.ping()
                return
        except Exception as err:
            problem = err
            time.sleep(0.1)
    raise RuntimeError(f"dockerd did not answer within {START_TIMEOUT:.0f} s ({problem}):\n{log.read_text()[-3000:]}")


def start() -> DockerDaemon:
    """Start a private dockerd and import the busybox image into it (raises RuntimeError on failure)."""
    root = Path(tempfile.mkdtemp(prefix="dsd-", dir="/tmp"))
    (root / "daemon.json").write_text("{}")
    log = root / "dockerd.log"
    namespace = f"dagstudio-test-{os.getpid()}"
    command = [
        "dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none", f"--host=unix://{root}/docker.sock",
        f"--data-root={root}/data", f"--exec-root={root}/exec", f"--pidfile={root}/docker.pid",
        f"--config-file={root}/daemon.json", f"--containerd-namespace={namespace}",
        f"--containerd-plugins-namespace={namespace}-plugins",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    daemon = DockerDaemon(f"unix://{root}/docker.sock", root, process)
    try:
        _wait_ready(daemon, log)
        build_rootfs(root / "rootfs")
        tar = subprocess.Popen(["tar", "-C", str(root / "rootfs"), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "-H", daemon.url, "import", "-", IMAGE], stdin=tar.stdout, capture_output=True, text=True
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr}")
    except BaseException:
        stop(daemon)
        raise
    return daemon


def stop(daemon: DockerDaemon) -> None:
    """Stop dockerd and whatever it started; remove its directories."""
    try:
        processes = psutil.Process(daemon.process.pid).children(recursive=True)
    except psutil.Error:
        processes = []
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(20)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(str(daemon.root) + "/")), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    shutil.rmtree(daemon.root, ignore_errors=True)


def unavailable(reason: str) -> None:
    """Skip (printing why) — or fail when CI requires the services (``DAGSTUDIO_REQUIRE_SERVICES=1``)."""
    message = f"Docker tests: a private dockerd cannot run here: {reason}"
    print(message, file=sys.stderr)
    if os.environ.get("DAGSTUDIO_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (DAGSTUDIO_REQUIRE_SERVICES=1: the Docker tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def docker_daemon() -> Iterator[DockerDaemon]:
    """A private dockerd with ``local/busybox:1`` for the test module (skips, or fails in CI, when
    impossible). Per module, not per session: other tests check that they leave no child process."""
    reason = why_not()
    if reason is not None:
        unavailable(reason)
    try:
        daemon = start()
    except Exception as err:
        unavailable(str(err))
    try:
        yield daemon
    finally:
        stop(daemon)
