"""The gateway's REST API as the command line uses it (httpx, synchronous): JSON in, JSON out, and two
errors a user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
Json = dict[str, Any]


class CliError(Exception):
    """Reported as one line, with an exit code; never a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GatewayUnreachable(CliError):
    exit_code = 2


class ApiError(CliError):
    """The gateway answered with an error: its message is the user's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = 2 if status >= 500 else 1


class GatewayClient:
    def __init__(self, base_url: str = DEFAULT_URL, timeout_s: float = 30.0,
                 transport: httpx.BaseTransport | None = None, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport,
                                  headers=headers)

    def close(self) -> None:
        self._http.close()

    # -- sessions ---------------------------------------------------------------------------------

    def create_session(self, path: str, subdirectories: list[str], priority: str) -> Json:
        body = {"path": path, "subdirectories": subdirectories, "priority": priority, "include": [],
                "exclude": []}
        return self._call("POST", "/api/v1/sessions", json=body)

    def session(self, session_id: int) -> Json:
        return self._call("GET", f"/api/v1/sessions/{session_id}")

    def sessions(self, state: str | None, limit: int) -> Json:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        return self._call("GET", "/api/v1/sessions", params=params)

    def session_action(self, session_id: int, action: str) -> Json:
        return self._call("POST", f"/api/v1/sessions/{session_id}/{action}")

    # -- the rest ---------------------------------------------------------------------------------

    def browse(self, path: str | None, limit: int = 500, offset: int = 0) -> Json:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if path:
            params["path"] = path
        return self._call("GET", "/api/v1/browse", params=params)

    def search(self, params: Mapping[str, Any]) -> Json:
        return self._call("GET", "/api/v1/search", params=dict(params))

    def readiness(self) -> Json:
        return self._call("GET", "/readyz", ok=(200, 503))  # 503 still carries the checks

    def reconcile(self, repair: bool) -> Json:
        return self._call("POST", "/api/v1/reconcile", json={"repair": repair}, timeout_s=3600.0)

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Json | None = None, ok: tuple[int, ...] = (), timeout_s: float | None = None) -> Json:
        try:
            response = self._http.request(
                method, path, params=params, json=json,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise GatewayUnreachable(
                f"the gateway at {self.base_url} did not answer in time ({exc})"
            ) from None
        except httpx.TransportError as exc:
            raise GatewayUnreachable(
                f"cannot reach the gateway at {self.base_url} ({exc}); is it running?"
                " (--url or IMGSEARCH_URL)"
            ) from None
        if response.is_success or response.status_code in ok:
            return _json(response)
        if response.status_code == 401:
            raise ApiError(401, _unauthenticated(self.api_key))
        raise ApiError(response.status_code, _message(response))


def _unauthenticated(api_key: str | None) -> str:
    what = "refused the API key (unknown or revoked)" if api_key else "needs an API key"
    return (f"the gateway {what}: set IMGSEARCH_API_KEY (or --api-key) to a key from"
            " `imgsearch keys create NAME`")


def _json(response: httpx.Response) -> Json:
    try:
        data = response.json()
    except ValueError:
        raise CliError(f"the gateway answered {response.status_code} without JSON") from None
    return data if isinstance(data, dict) else {"items": data}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return f"{body['message']} ({response.status_code} {body.get('error', '')})".replace(" )", ")")
    return f"the gateway answered {response.status_code} {response.reason_phrase}"
