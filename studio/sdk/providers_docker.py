"""DockerOperator (``airflow.providers.docker.operators.docker``; Airflow 2's
``airflow.operators.docker_operator``) on the docker SDK, with the provider's signature and template fields.

``execute`` pulls the image when the daemon does not have it (a failed pull is a task error naming the
image), creates the container (environment + ``private_environment`` — its values are registered with the
secrets masker, so they show as ``***`` in the task log — + ``AIRFLOW_TMP_DIR``, mounts plus a
temporary host directory at ``tmp_dir`` when ``mount_tmp_dir``), attaches before starting it and prints
each output line into the task log as it comes. A non-zero exit raises DockerContainerFailedException
(``Docker container failed: {'StatusCode': N, ...}``; a ``skip_on_exit_code`` code skips). XCom: the
unpickled ``retrieve_output_path`` file, else all lines (``xcom_all``) or the last one.

Interruptions: an ``execution_timeout`` (raised inside ``execute``) or a cancel (SIGTERM → ``on_kill``)
stops the container (``STOP_GRACE`` seconds, then SIGKILL) and removes it, whatever ``auto_remove`` says
(Airflow's ``on_kill`` only stops it unless ``auto_remove="force"``; DAG Studio leaves no container
behind a killed task). When the container has ended by itself ``auto_remove`` applies as in the provider:
``"success"`` removes it after it exits (the provider's code does that on a failed exit too), ``"force"``
force-removes it, ``"never"`` keeps it."""

from __future__ import annotations

import ast
import contextlib
import pickle
import sys
import tarfile
from collections.abc import Container, Iterable, Sequence
from io import BytesIO
from tempfile import TemporaryDirectory
from typing import Any, ClassVar, Literal

from studio.sdk.baseoperator import BaseOperator
from studio.sdk.exceptions import AirflowException
from studio.sdk.providers_docker_hook import (
    DEFAULT_TIMEOUT_SECONDS,
    DockerContainerFailedException,
    DockerContainerFailedSkipException,
    DockerHook,
    default_docker_url,
)

STOP_GRACE = 2  # seconds between SIGTERM and SIGKILL when a killed task stops its container


def stringify(line: str | bytes) -> str:
    """The text of a chunk of container output (bytes decoded as UTF-8, bad bytes replaced)."""
    return line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line


def fetch_logs(log_stream: Iterable[str | bytes]) -> list[str]:
    """Print each complete line of the stream into the task log as soon as it arrives; return the lines."""
    lines: list[str] = []
    buffer = ""
    for chunk in log_stream:
        buffer += stringify(chunk)
        *complete, buffer = buffer.split("\n")
        for line in complete:
            lines.append(line.rstrip())
            print(lines[-1], flush=True)
    if buffer:
        lines.append(buffer.rstrip())
        print(lines[-1], flush=True)
    return lines


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` text (``#`` comments, ``export`` prefixes and quotes allowed)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


class DockerOperator(BaseOperator):
    """Runs ``command`` in a container of ``image``; its output streams into the task log."""

    template_fields: Sequence[str] = ("image", "command", "environment", "env_file", "container_name", "mounts",
                                      "docker_conn_id")  # fmt: skip
    template_fields_renderers: ClassVar[dict[str, str]] = {"env_file": "yaml"}
    template_ext: Sequence[str] = (".sh", ".bash", ".env")

    def __init__(
        self,
        *,
        image: str,
        api_version: str | None = None,
        command: str | list[str] | None = None,
        container_name: str | None = None,
        cpus: float = 1.0,
        docker_url: str | list[str] | None = None,
        environment: dict | None = None,
        private_environment: dict | None = None,
        env_file: str | None = None,
        force_pull: bool = False,
        mem_limit: float | str | None = None,
        host_tmp_dir: str | None = None,
        network_mode: str | None = None,
        tls_ca_cert: str | None = None,
        tls_client_cert: str | None = None,
        tls_client_key: str | None = None,
        tls_verify: bool = True,
        tls_hostname: str | bool | None = None,
        tls_ssl_version: str | None = None,
        mount_tmp_dir: bool = True,
        tmp_dir: str = "/tmp/airflow",
        user: str | int | None = None,
        mounts: list[Any] | None = None,
        entrypoint: str | list[str] | None = None,
        working_dir: str | None = None,
        xcom_all: bool = False,
        docker_conn_id: str | None = None,
        dns: list[str] | None = None,
        dns_search: list[str] | None = None,
        auto_remove: Literal["never", "success", "force"] = "never",
        shm_size: int | None = None,
        tty: bool = False,
        hostname: str | None = None,
        privileged: bool = False,
        cap_add: Iterable[str] | None = None,
        extra_hosts: dict[str, str] | None = None,
        retrieve_output: bool = False,
        retrieve_output_path: str | None = None,
        timeout: int = DEFAULT_TIMEOUT_SECONDS,
        device_requests: list[Any] | None = None,
        log_opts_max_size: str | None = None,
        log_opts_max_file: str | None = None,
        ipc_mode: str | None = None,
        skip_on_exit_code: int | Container[int] | None = None,
        port_bindings: dict | None = None,
        ulimits: list[Any] | None = None,
        labels: dict[str, str] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not auto_remove or auto_remove not in ("never", "success", "force"):
            raise ValueError(
                f"Invalid `auto_remove` value {auto_remove!r}, expected one of 'never', 'success', or 'force'."
            )
        self.image, self.api_version, self.command, self.container_name = image, api_version, command, container_name
        self.cpus, self.dns, self.dns_search, self.auto_remove = cpus, dns, dns_search, auto_remove
        self.docker_url = docker_url or default_docker_url()
        self.environment = environment or {}
        self._private_environment = private_environment or {}
        self.env_file, self.force_pull, self.mem_limit = env_file, force_pull, mem_limit
        self.host_tmp_dir, self.network_mode = host_tmp_dir, network_mode
        self.tls_ca_cert, self.tls_client_cert, self.tls_client_key = tls_ca_cert, tls_client_cert, tls_client_key
        self.tls_verify, self.tls_hostname, self.tls_ssl_version = tls_verify, tls_hostname, tls_ssl_version
        self.mount_tmp_dir, self.tmp_dir, self.user = mount_tmp_dir, tmp_dir, user
        self.mounts = mounts or []
        self.entrypoint, self.working_dir, self.xcom_all = entrypoint, working_dir, xcom_all
        self.docker_conn_id, self.shm_size, self.tty, self.hostname = docker_conn_id, shm_size, tty, hostname
        self.privileged, self.cap_add, self.extra_hosts = privileged, cap_add, extra_hosts
        self.ulimits, self.labels = ulimits or [], labels
        self.container: dict[str, Any] = None  # type: ignore[assignment]
        self.retrieve_output, self.retrieve_output_path = retrieve_output, retrieve_output_path
        self.timeout, self.device_requests = timeout, device_requests
        self.log_opts_max_size, self.log_opts_max_file, self.ipc_mode = log_opts_max_size, log_opts_max_file, ipc_mode
        if isinstance(skip_on_exit_code, Container):
            self.skip_on_exit_code: Container[int] = skip_on_exit_code
        else:
            self.skip_on_exit_code = [] if skip_on_exit_code is None else [skip_on_exit_code]
        self.port_bindings = port_bindings or {}
        if self.port_bindings and self.network_mode == "host":
            raise ValueError("Port bindings is not supported in the host network mode")
        self._hook: DockerHook | None = None
        self._ended = False  # the container exited, or was stopped and removed by _kill_container

    @property
    def hook(self) -> DockerHook:
        if self._hook is None:
            tls = DockerHook.construct_tls_config(
                ca_cert=self.tls_ca_cert, client_cert=self.tls_client_cert, client_key=self.tls_client_key,
                verify=self.tls_verify, assert_hostname=self.tls_hostname, ssl_version=self.tls_ssl_version,
            )  # fmt: skip
            self._hook = DockerHook(
                docker_conn_id=self.docker_conn_id, base_url=self.docker_url, version=self.api_version, tls=tls,
                timeout=self.timeout,
            )  # fmt: skip
        return self._hook

    @property
    def cli(self) -> Any:
        return self.hook.api_client

    def execute(self, context: Any) -> list[str] | str | None:
        from docker.errors import APIError, DockerException

        from studio.sdk.masking import mask_secret

        for value in self._private_environment.values():  # the container printing one shows ***
            mask_secret(value)
        self._normalize_mounts()
        cli = self.cli
        if self.force_pull or not cli.images(name=self.image):
            print(f"Pulling docker image {self.image}", flush=True)
            try:
                for output in cli.pull(self.image, stream=True, decode=True):
                    if isinstance(output, dict) and "status" in output:
                        print(f"{output.get('id', '')}: {output['status']}".lstrip(": "), flush=True)
            except (APIError, DockerException) as err:
                raise AirflowException(
                    f"Docker image {self.image!r} is not on the Docker daemon at {self.hook.connected_url} "
                    f"and pulling it failed: {err}"
                ) from err
        return self._run_image()

    def _normalize_mounts(self) -> None:
        from docker.types import Mount

        self.mounts = [m if isinstance(m, Mount) or "Target" in m else Mount(**m) for m in self.mounts]

    def _run_image(self) -> list[str] | str | None:
        from docker.errors import APIError
        from docker.types import Mount

        print(f"Starting docker container from image {self.image}", flush=True)
        if not self.mount_tmp_dir:
            return self._run_image_with_mounts(self.mounts, add_tmp_variable=False)
        with TemporaryDirectory(prefix="airflowtmp", dir=self.host_tmp_dir) as host_tmp_dir:
            try:
                tmp_mount = Mount(self.tmp_dir, host_tmp_dir, "bind")
                return self._run_image_with_mounts([*self.mounts, tmp_mount], add_tmp_variable=True)
            except APIError as err:
                if host_tmp_dir not in str(err):
                    raise
                print(
                    "WARNING: Using remote engine or docker-in-docker and mounting temporary volume from host is "
                    "not supported. Falling back to `mount_tmp_dir=False` mode. You can set `mount_tmp_dir` "
                    "parameter to False to disable mounting and remove the warning",
                    flush=True,
                )
                return self._run_image_with_mounts(self.mounts, add_tmp_variable=False)

    def _container_environment(self, add_tmp_variable: bool) -> dict[str, Any]:
        if add_tmp_variable:
            self.environment["AIRFLOW_TMP_DIR"] = self.tmp_dir
        else:
            self.environment.pop("AIRFLOW_TMP_DIR", None)
        from_file = parse_env_file(self.env_file) if self.env_file is not None else {}
        return {**from_file, **self.environment, **self._private_environment}

    def _host_config(self, target_mounts: list[Any]) -> dict[str, Any]:
        from docker.types import LogConfig

        log_config = {"max-size": self.log_opts_max_size, "max-file": self.log_opts_max_file}
        return {
            "auto_remove": False, "mounts": target_mounts, "network_mode": self.network_mode,
            "shm_size": self.shm_size, "dns": self.dns, "dns_search": self.dns_search,
            "cpu_shares": round(self.cpus * 1024), "port_bindings": self.port_bindings, "mem_limit": self.mem_limit,
            "cap_add": self.cap_add, "extra_hosts": self.extra_hosts, "privileged": self.privileged,
            "device_requests": self.device_requests, "ipc_mode": self.ipc_mode, "ulimits": self.ulimits,
            "log_config": LogConfig(config={k: v for k, v in log_config.items() if v is not None}),
        }  # fmt: skip

    def _run_image_with_mounts(self, target_mounts: list[Any], add_tmp_variable: bool) -> list[str] | str | None:
        cli = self.cli
        self._ended = False
        self.container = cli.create_container(
            command=self.format_command(self.command),
            name=self.container_name,
            environment=self._container_environment(add_tmp_variable),
            ports=list(self.port_bindings),
            host_config=cli.create_host_config(**self._host_config(target_mounts)),
            image=self.image,
            user=self.user,
            entrypoint=self.format_command(self.entrypoint),
            working_dir=self.working_dir,
            tty=self.tty,
            hostname=self.hostname,
            labels=self.labels,
        )
        container_id = self.container["Id"]
        sys.stdout.flush()
        try:
            log_stream = cli.attach(container=container_id, stdout=True, stderr=True, stream=True)
            cli.start(container_id)
            log_lines = fetch_logs(log_stream)
            result = cli.wait(container_id)
            self._ended = True
        except BaseException:  # execution_timeout, SIGTERM, a lost daemon: no container left behind
            self._kill_container()
            raise
        try:
            return self._outcome(result, log_lines)
        finally:
            if self.auto_remove == "success":
                cli.remove_container(container_id)
            elif self.auto_remove == "force":
                cli.remove_container(container_id, force=True)

    def _outcome(self, result: dict[str, Any], log_lines: list[str]) -> list[str] | str | None:
        if result["StatusCode"] in self.skip_on_exit_code:
            raise DockerContainerFailedSkipException(
                f"Docker container returned exit code {self.skip_on_exit_code}. Skipping.", logs=log_lines
            )
        if result["StatusCode"] != 0:
            raise DockerContainerFailedException(f"Docker container failed: {result!r}", logs=log_lines)
        if self.retrieve_output:
            return self._attempt_to_retrieve_result()
        if self.do_xcom_push and log_lines:
            return log_lines if self.xcom_all else log_lines[-1]
        return None

    def _attempt_to_retrieve_result(self) -> Any:
        """The unpickled ``retrieve_output_path`` file of the container (None when it is not there)."""
        from docker.errors import APIError

        try:
            return self._copy_from_docker(self.container["Id"], self.retrieve_output_path)
        except APIError:
            return None

    def _copy_from_docker(self, container_id: str, src: str | None) -> Any:
        archived, stat = self.cli.get_archive(container_id, src)
        if stat["size"] == 0:
            return None
        with BytesIO(b"".join(archived)) as buffer, tarfile.open(fileobj=buffer) as tar:
            file = tar.extractfile(stat["name"])
            return getattr(self, "pickling_library", pickle).load(file)

    @staticmethod
    def format_command(command: list[str] | str | None) -> list[str] | str | None:
        """A command string starting with ``[`` is a Python list literal; anything else is used as is."""
        if isinstance(command, str) and command.strip().startswith("["):
            command = ast.literal_eval(command)
        return command

    def on_kill(self) -> None:
        """Cancel (SIGTERM to the worker): stop the container and remove it."""
        if self._hook is None or not self._hook.client_created:
            return
        if self.container is None:
            print("Not attempting to kill container as it was not created", flush=True)
            return
        self._kill_container()

    def _kill_container(self) -> None:
        """Stop (``STOP_GRACE`` s, then SIGKILL) and remove the container, on a client of its own."""
        if self.container is None or self._ended or self._hook is None or not self._hook.client_created:
            return
        self._ended = True
        container_id = self.container["Id"]
        print(f"Stopping docker container {container_id[:12]}", flush=True)
        try:
            client = self._hook.new_client()
        except Exception as err:
            print(f"Could not reach the Docker daemon to stop container {container_id[:12]}: {err}", flush=True)
            return
        with contextlib.closing(client):
            with contextlib.suppress(Exception):
                client.stop(container_id, timeout=STOP_GRACE)
            try:
                client.remove_container(container_id, force=True)
            except Exception as err:
                print(f"Failed to remove docker container {container_id[:12]}: {err}", flush=True)

    @staticmethod
    def unpack_environment_variables(env_str: str) -> dict[str, str]:
        """Environment variables of a ``.env`` text (``KEY=value`` lines)."""
        return parse_env_file(env_str)
