"""The docker provider's hook and exceptions (``airflow.providers.docker.hooks.docker`` and
``airflow.providers.docker.exceptions``) on the docker SDK.

``DockerHook`` opens a ``docker.APIClient`` on the first of its daemon URLs that answers (default: the
``DOCKER_HOST`` environment variable, else the local socket) and, with a ``docker_conn_id``, logs in to
that connection's registry. A daemon that cannot be reached is a task error naming every URL tried and
why. The docker SDK is imported on first use, so loading a DAG file does not pay for it."""

from __future__ import annotations

import os
from typing import Any

from studio.sdk.exceptions import AirflowException, AirflowSkipException

DEFAULT_DOCKER_URL = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT_SECONDS = 60  # docker.constants.DEFAULT_TIMEOUT_SECONDS


_BOOLS = {**dict.fromkeys(("y", "yes", "t", "true", "on", "1"), True),
          **dict.fromkeys(("n", "no", "f", "false", "off", "0"), False)}  # fmt: skip


def default_docker_url() -> str:
    """Where the daemon is when no ``docker_url`` is given: ``DOCKER_HOST``, else the local socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_URL


class DockerContainerFailedException(AirflowException):
    """The container exited with a non-zero code (``logs``: its output lines)."""

    def __init__(self, message: str | None = None, logs: list[str | bytes] | None = None) -> None:
        super().__init__(message)
        self.logs = logs


class DockerContainerFailedSkipException(AirflowSkipException):
    """The container exited with one of the operator's ``skip_on_exit_code`` codes."""

    def __init__(self, message: str | None = None, logs: list[str | bytes] | None = None) -> None:
        super().__init__(message)
        self.logs = logs


class DockerHook:
    """A docker API client for ``base_url`` (one URL or a list tried in order), as Airflow's DockerHook."""

    conn_name_attr = "docker_conn_id"
    default_conn_name = "docker_default"
    conn_type = "docker"
    hook_name = "Docker"

    def __init__(
        self,
        docker_conn_id: str | None = default_conn_name,
        base_url: str | list[str] | None = None,
        version: str | None = None,
        tls: Any = None,
        timeout: int = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not base_url:
            raise AirflowException("URL to the Docker server not provided.")
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if tls:
            urls = [("https://" + u[len("tcp://") :]) if u.startswith("tcp://") else u for u in urls]
        self.docker_conn_id = docker_conn_id
        self.base_url = urls
        self.version = version
        self.tls = tls
        self.timeout = timeout
        self.connected_url: str | None = None
        self._client: Any = None

    @staticmethod
    def construct_tls_config(
        ca_cert: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        verify: bool = True,
        assert_hostname: str | bool | None = None,
        ssl_version: str | None = None,
    ) -> Any:
        """A ``docker.tls.TLSConfig`` when certificates are given, else False (docker>=7 has no
        ``assert_hostname``/``ssl_version``: like Airflow's hook they are ignored)."""
        if not (ca_cert and client_cert and client_key):
            return False
        from docker import TLSConfig

        return TLSConfig(ca_cert=ca_cert, client_cert=(client_cert, client_key), verify=verify)

    @property
    def client_created(self) -> bool:
        return self._client is not None

    @property
    def api_client(self) -> Any:
        """The ``docker.APIClient`` of the first URL whose daemon answers (created once)."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def get_conn(self) -> Any:
        return self.api_client

    def new_client(self) -> Any:
        """Another client on the daemon already connected to (for stopping a container from a signal
        handler without sharing the streaming client's connection pool)."""
        from docker import APIClient

        version = self._client.api_version if self._client is not None else self.version
        return APIClient(base_url=self.connected_url, version=version, tls=self.tls, timeout=self.timeout)

    def _connect(self) -> Any:
        from docker import APIClient

        problems = []
        for url in self.base_url:
            try:
                client = APIClient(base_url=url, version=self.version, tls=self.tls, timeout=self.timeout)
                if not client.ping():
                    raise AirflowException(f"Failed to ping host {url}.")
            except Exception as err:
                problems.append(f"{url}: {err}")
                print(f"Failed to establish connection to Docker host {url}: {err}", flush=True)
                continue
            if self.docker_conn_id:
                self._login(client)
            self.connected_url = url
            return client
        raise AirflowException(
            "Failed to establish connection to any given Docker hosts. "
            + "; ".join(problems)
            + ". Is the Docker daemon running? Point docker_url (or DOCKER_HOST) at its socket."
        )

    def _login(self, client: Any) -> None:
        """Log in to the registry of the ``docker_conn_id`` connection (host[:port], login, password)."""
        from docker.errors import APIError

        from studio.sdk.context import Connection

        try:
            conn = Connection.get(self.docker_conn_id or "")
        except KeyError as err:  # not defined (Airflow: AirflowNotFoundException, an AirflowException)
            raise AirflowException(err.args[0] if err.args else str(err)) from None
        if not conn.host:
            raise AirflowException("No Docker Registry URL provided.")
        if not conn.login:
            raise AirflowException("No Docker Registry username provided.")
        registry = f"{conn.host}:{conn.port}" if conn.port else conn.host
        extra = conn.extra_dejson
        reauth = extra.get("reauth", True)
        if isinstance(reauth, str):
            if reauth.lower() not in _BOOLS:
                raise ValueError(f"Unable parse `reauth` value {reauth.lower()!r} to bool.")
            reauth = _BOOLS[reauth.lower()]
        print(f"Login into Docker Registry: {registry}", flush=True)
        try:
            client.login(
                username=conn.login, password=conn.password, registry=registry, email=extra.get("email") or None,
                reauth=reauth,
            )  # fmt: skip
        except APIError as err:
            raise AirflowException(f"Login to the Docker registry {registry} failed: {err}") from err
