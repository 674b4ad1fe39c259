"""A local server following the published Fly Machines REST API (v1) for tests.

Not the real service: it implements the documented request/response shapes of the
endpoints rclaude uses (https://fly.io/docs/machines/api/machines-resource/):

- ``GET  /v1/apps/{app}`` → app; 404 ``{"error": "app not found"}``
- ``POST /v1/apps/{app}/secrets`` ``{"values": {NAME: value}}`` → ``{"secrets", "version"}``
- ``POST /v1/apps/{app}/machines`` → machine (state ``created``); 422 for an unknown
  region or an invalid guest
- ``GET  /v1/apps/{app}/machines?metadata.KEY=VALUE`` → list (filtered by metadata)
- ``GET  /v1/apps/{app}/machines/{id}`` → machine
- ``GET  /v1/apps/{app}/machines/{id}/wait?state=…&timeout=…`` → ``{"ok": true}``; 408
  if the machine does not reach the state; 400 for a bad state
- ``POST /v1/apps/{app}/machines/{id}/stop`` → ``{"ok": true}`` (auto_destroy: destroyed)
- ``DELETE /v1/apps/{app}/machines/{id}?force=true`` → ``{"ok": true}``; 412 if running
  without force

Auth: ``Authorization: Bearer <token>``; anything else → 401 ``{"error": …}``.
Errors use Fly's ``{"error": "…"}`` body. ``start_fails`` makes new machines never start.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from tests.support.fake_api import FakeApiServer, Request

REGIONS = {"ams", "cdg", "fra", "iad", "lax", "lhr", "nrt", "ord", "sin", "sjc", "syd", "yyz"}
WAIT_STATES = {"started", "stopped", "suspended", "destroyed"}
APP = r"/v1/apps/(?P<app>[^/]+)"
MACHINE = APP + r"/machines/(?P<id>[0-9a-z]+)"


class FakeFly(FakeApiServer):
    def __init__(self, *, token: str = "fly-test-token", apps: tuple[str, ...] = ("rc-app",)):
        super().__init__()
        self.token = token
        self.apps: dict[str, dict[str, Any]] = {
            a: {"machines": {}, "secrets": {}, "version": 0} for a in apps
        }
        self.start_fails = False
        self.route("GET", APP, self._get_app)
        self.route("POST", APP + "/secrets", self._set_secrets)
        self.route("POST", APP + "/machines", self._create)
        self.route("GET", APP + "/machines", self._list)
        self.route("GET", MACHINE, self._get)
        self.route("GET", MACHINE + "/wait", self._wait)
        self.route("POST", MACHINE + "/stop", self._stop)
        self.route("DELETE", MACHINE, self._destroy)

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def authorize(self, req: Request):
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "You must be authenticated to view this."}, {}
        return None

    # -- helpers ----------------------------------------------------------------------
    def machines(self, app: str = "rc-app") -> dict[str, dict[str, Any]]:
        return self.apps[app]["machines"]

    def _app(self, req: Request):
        return self.apps.get(req.match["app"])

    def _machine(self, req: Request):
        app = self._app(req)
        if app is None:
            return None, (404, {"error": "app not found"})
        m = app["machines"].get(req.match["id"])
        if m is None or m["state"] == "destroyed":
            return None, (404, {"error": "machine not found"})
        return m, None

    def set_state(self, machine_id: str, state: str, app: str = "rc-app") -> None:
        with self.lock:
            self.apps[app]["machines"][machine_id]["state"] = state

    # -- handlers ---------------------------------------------------------------------
    def _get_app(self, req: Request):
        if self._app(req) is None:
            return 404, {"error": "app not found"}
        return 200, {"name": req.match["app"], "organization": {"slug": "personal"}}

    def _set_secrets(self, req: Request):
        app = self._app(req)
        if app is None:
            return 404, {"error": "app not found"}
        values = (req.body or {}).get("values")
        if not isinstance(values, dict):
            return 400, {"error": "values is required"}
        for k, v in values.items():
            if v is None:
                app["secrets"].pop(k, None)
            else:
                app["secrets"][k] = v
        app["version"] += 1
        names = [{"name": k, "digest": "d" + str(hash(v))[-8:]} for k, v in app["secrets"].items()]
        return 200, {"secrets": names, "version": app["version"]}

    def _create(self, req: Request):
        app = self._app(req)
        if app is None:
            return 404, {"error": "app not found"}
        body = req.body or {}
        config = body.get("config") or {}
        if not config.get("image"):
            return 422, {"error": "invalid config: image is required"}
        region = body.get("region") or "iad"
        if region not in REGIONS:
            return 422, {"error": f"invalid region {region!r}"}
        guest = config.get("guest") or {}
        if (
            guest.get("cpu_kind") not in ("shared", "performance")
            or guest.get("memory_mb", 0) < 256
        ):
            return 422, {"error": "invalid guest"}
        name = body.get("name") or f"machine-{secrets.token_hex(3)}"
        if any(m["name"] == name and m["state"] != "destroyed" for m in app["machines"].values()):
            return 409, {"error": f"machine name {name!r} already exists"}
        mid = secrets.token_hex(7)
        machine = {
            "id": mid,
            "name": name,
            "state": "created",
            "region": region,
            "instance_id": secrets.token_hex(8).upper(),
            "private_ip": f"fdaa:0:1::{len(app['machines']) + 2}",
            "config": config,
            "image_ref": {"repository": config["image"]},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        app["machines"][mid] = machine
        return 200, machine

    def _list(self, req: Request):
        app = self._app(req)
        if app is None:
            return 404, {"error": "app not found"}
        wanted = {
            k[len("metadata.") :]: v for k, v in req.query.items() if k.startswith("metadata.")
        }
        include_deleted = req.query.get("include_deleted") == "true"
        out = []
        for m in app["machines"].values():
            if m["state"] == "destroyed" and not include_deleted:
                continue
            meta = m["config"].get("metadata") or {}
            if all(meta.get(k) == v for k, v in wanted.items()):
                out.append(m)
        return 200, out

    def _get(self, req: Request):
        m, err = self._machine(req)
        return err or (200, m)

    def _wait(self, req: Request):
        m, err = self._machine(req)
        if err:
            return err
        state = req.query.get("state", "started")
        if state not in WAIT_STATES:
            return 400, {"error": f"invalid state {state!r}"}
        if "instance_id" in req.query and req.query["instance_id"] != m["instance_id"]:
            return 400, {"error": "instance_id does not match"}
        if state == "started" and m["state"] in ("created", "starting"):
            # A created machine boots; a broken image never gets there.
            if self.start_fails:
                return 408, {"error": "deadline_exceeded: timeout waiting for machine"}
            m["state"] = "started"
        if m["state"] != state:
            return 408, {"error": "deadline_exceeded: timeout waiting for machine"}
        return 200, {"ok": True}

    def _stop(self, req: Request):
        m, err = self._machine(req)
        if err:
            return err
        m["state"] = "destroyed" if m["config"].get("auto_destroy") else "stopped"
        return 200, {"ok": True}

    def _destroy(self, req: Request):
        m, err = self._machine(req)
        if err:
            return err
        if m["state"] in ("started", "starting") and req.query.get("force") != "true":
            return 412, {"error": "failed_precondition: machine still active, refusing to delete"}
        m["state"] = "destroyed"
        return 200, {"ok": True}
