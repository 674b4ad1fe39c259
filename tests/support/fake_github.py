"""A local server following the published GitHub REST API (2022-11-28) for tests.

Not the real service: it implements the documented shapes of the endpoints rclaude uses
(https://docs.github.com/rest/codespaces, …/rest/pulls/pulls):

- ``GET /user`` → user; classic tokens get an ``X-OAuth-Scopes`` header on every answer,
  fine-grained tokens (scopes None) get none
- ``GET /repos/{o}/{r}`` → repository; 404 ``{"message": "Not Found"}``
- ``GET /repos/{o}/{r}/codespaces/machines`` → ``{"total_count", "machines"}``; 403 when
  Codespaces are not enabled for the repository
- ``POST /repos/{o}/{r}/codespaces`` → 201 codespace (state ``Queued``; each later GET
  moves it on: Queued → Provisioning → Available); 400 for an unknown machine
- ``GET /user/codespaces?per_page&page`` → ``{"total_count", "codespaces"}`` with a
  ``Link`` header (rel="next", rel="last")
- ``GET /user/codespaces/{name}``, ``POST …/{name}/stop`` (→ Shutdown), ``POST
  …/{name}/start``, ``DELETE …/{name}`` → 202
- ``GET /user/codespaces/secrets/public-key`` → ``{"key_id", "key"}`` (a real Curve25519
  key; :meth:`decrypt_secret` opens what was stored), ``PUT
  /user/codespaces/secrets/{name}`` → 201 created / 204 updated; 422 on a bad body
- ``POST /repos/{o}/{r}/pulls`` → 201 PR with ``html_url``; 422 "Validation Failed"
  when the head branch is missing or a PR for it already exists; ``GET …/pulls?head&state``

Auth: ``Authorization: Bearer|token <token>``; unknown → 401 ``Bad credentials``.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
from typing import Any

from tests.support.fake_api import FakeApiServer, Request

REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
CS = r"/user/codespaces/(?P<name>[A-Za-z0-9-]+)"
MACHINES = [
    {"name": "basicLinux32gb", "display_name": "2 cores, 8 GB RAM, 32 GB storage", "cpus": 2},
    {"name": "standardLinux32gb", "display_name": "4 cores, 16 GB RAM, 32 GB storage", "cpus": 4},
    {"name": "premiumLinux", "display_name": "8 cores, 32 GB RAM, 64 GB storage", "cpus": 8},
]
BOOT = ["Queued", "Provisioning", "Available"]


class FakeGitHub(FakeApiServer):
    def __init__(self) -> None:
        super().__init__()
        from nacl.public import PrivateKey

        self.tokens: dict[str, dict[str, Any]] = {
            "gh-test-token": {"login": "octo", "scopes": "repo, codespace, workflow"}
        }
        self.repos: dict[str, dict[str, Any]] = {}
        self.codespaces: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.pulls: dict[str, list[dict[str, Any]]] = {}
        self.private_key = PrivateKey.generate()
        self.key_id = "568250167242549743"
        #: repo full name -> path of a bare git repo whose branches PRs are checked against
        self.git_remotes: dict[str, str] = {}
        self.add_repo("octo/app")
        for method, pattern, handler in [
            ("GET", "/user", self._user),
            ("GET", REPO, self._repo),
            ("GET", REPO + "/codespaces/machines", self._machines),
            ("POST", REPO + "/codespaces", self._create_cs),
            ("GET", "/user/codespaces", self._list_cs),
            ("GET", "/user/codespaces/secrets/public-key", self._public_key),
            ("PUT", r"/user/codespaces/secrets/(?P<secret>[^/]+)", self._put_secret),
            ("GET", CS, self._get_cs),
            ("POST", CS + "/stop", self._stop_cs),
            ("POST", CS + "/start", self._start_cs),
            ("DELETE", CS, self._delete_cs),
            ("POST", REPO + "/pulls", self._create_pull),
            ("GET", REPO + "/pulls", self._list_pulls),
        ]:
            self.route(method, pattern, handler)

    # -- setup helpers ------------------------------------------------------------------
    def add_repo(self, full_name: str, *, codespaces: bool = True) -> dict[str, Any]:
        repo = {
            "id": 1000 + len(self.repos),
            "name": full_name.split("/")[1],
            "full_name": full_name,
            "owner": {"login": full_name.split("/")[0]},
            "private": True,
            "default_branch": "main",
            "html_url": f"https://github.com/{full_name}",
            "_codespaces": codespaces,
        }
        self.repos[full_name.lower()] = repo
        return repo

    def decrypt_secret(self, name: str) -> str:
        from nacl.public import SealedBox

        sealed = base64.b64decode(self.secrets[name]["encrypted_value"])
        return SealedBox(self.private_key).decrypt(sealed).decode()

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message, "documentation_url": "https://docs.github.com/rest"}

    def _err(self, status: int, message: str):
        return status, self.error_body(status, message)

    def token_info(self, headers) -> dict[str, Any] | None:
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        return self.tokens.get(token)

    def authorize(self, req: Request):
        if self.token_info(req.headers) is None:
            return 401, self.error_body(401, "Bad credentials"), {}
        return None

    def dispatch(self, method, target, headers, raw):
        status, body, hdrs = super().dispatch(method, target, headers, raw)
        info = self.token_info({k.lower(): v for k, v in headers.items()})
        if status != 401 and info and info.get("scopes") is not None:
            hdrs = {**hdrs, "X-OAuth-Scopes": info["scopes"]}
        return status, body, hdrs

    def _repo_of(self, req: Request):
        return self.repos.get(f"{req.match['owner']}/{req.match['repo']}".lower())

    # -- users and repos ----------------------------------------------------------------
    def _user(self, req: Request):
        return 200, {"login": self.token_info(req.headers)["login"], "id": 1, "type": "User"}

    def _repo(self, req: Request):
        repo = self._repo_of(req)
        if repo is None:
            return self._err(404, "Not Found")
        return 200, {k: v for k, v in repo.items() if not k.startswith("_")}

    def _machines(self, req: Request):
        repo = self._repo_of(req)
        if repo is None:
            return self._err(404, "Not Found")
        if not repo["_codespaces"]:
            return self._err(403, "Codespaces are not enabled for this repository")
        return 200, {"total_count": len(MACHINES), "machines": MACHINES}

    # -- codespaces ---------------------------------------------------------------------
    def _create_cs(self, req: Request):
        repo = self._repo_of(req)
        if repo is None:
            return self._err(404, "Not Found")
        if not repo["_codespaces"]:
            return self._err(403, "Codespaces are not enabled for this repository")
        body = req.body or {}
        machine = next((m for m in MACHINES if m["name"] == body.get("machine")), None)
        if body.get("machine") and machine is None:
            return self._err(400, f"machine {body['machine']} is not valid")
        display = body.get("display_name") or "bookish space pancake"
        if len(display) > 48:
            return self._err(422, "display_name is too long (max 48)")
        name = f"octo-{secrets.token_hex(5)}"
        cs = {
            "id": len(self.codespaces) + 1,
            "name": name,
            "display_name": display,
            "state": "Queued",
            "owner": {"login": self.token_info(req.headers)["login"]},
            "repository": {"id": repo["id"], "full_name": repo["full_name"]},
            "machine": machine or MACHINES[0],
            "git_status": {"ref": body.get("ref") or repo["default_branch"]},
            "idle_timeout_minutes": body.get("idle_timeout_minutes", 30),
            "devcontainer_path": body.get("devcontainer_path"),
            "web_url": f"https://{name}.github.dev",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "_polls": 0,
        }
        self.codespaces[name] = cs
        return 201, self._public(cs)

    @staticmethod
    def _public(cs):
        return {k: v for k, v in cs.items() if not k.startswith("_")}

    def _list_cs(self, req: Request):
        per_page = min(int(req.query.get("per_page", 30)), 100)
        page = int(req.query.get("page", 1))
        items = [self._public(c) for c in self.codespaces.values()]
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        if page < last:
            links.append(
                f'<{self.url}/user/codespaces?per_page={per_page}&page={page + 1}>; rel="next"'
            )
        links.append(f'<{self.url}/user/codespaces?per_page={per_page}&page={last}>; rel="last"')
        return 200, {"total_count": len(items), "codespaces": chunk}, {"Link": ", ".join(links)}

    def _cs(self, req: Request):
        return self.codespaces.get(req.match["name"])

    def _get_cs(self, req: Request):
        cs = self._cs(req)
        if cs is None:
            return self._err(404, "Not Found")
        if cs["state"] in BOOT[:-1]:
            cs["state"] = BOOT[BOOT.index(cs["state"]) + 1]
        return 200, self._public(cs)

    def _stop_cs(self, req: Request):
        cs = self._cs(req)
        if cs is None:
            return self._err(404, "Not Found")
        cs["state"] = "Shutdown"
        return 200, self._public(cs)

    def _start_cs(self, req: Request):
        cs = self._cs(req)
        if cs is None:
            return self._err(404, "Not Found")
        cs["state"] = "Starting"
        return 200, self._public(cs)

    def _delete_cs(self, req: Request):
        if self.codespaces.pop(req.match["name"], None) is None:
            return self._err(404, "Not Found")
        return 202, {}

    # -- secrets ------------------------------------------------------------------------
    def _public_key(self, req: Request):
        key = base64.b64encode(bytes(self.private_key.public_key)).decode()
        return 200, {"key_id": self.key_id, "key": key}

    def _put_secret(self, req: Request):
        body = req.body or {}
        if body.get("key_id") != self.key_id or not body.get("encrypted_value"):
            return 422, {"message": "Validation Failed", "errors": ["key_id/encrypted_value"]}
        ids = body.get("selected_repository_ids")
        if ids is not None and not all(isinstance(i, (int, str)) for i in ids):
            return 422, {"message": "Validation Failed"}
        created = req.match["secret"] not in self.secrets
        self.secrets[req.match["secret"]] = body
        return (201, {}) if created else (204, None)

    # -- pull requests --------------------------------------------------------------------
    def _branch_exists(self, full: str, branch: str) -> bool:
        bare = self.git_remotes.get(full.lower())
        if bare is None:
            return True
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=bare,
            capture_output=True,
            check=False,
        )
        return out.returncode == 0

    def _create_pull(self, req: Request):
        repo = self._repo_of(req)
        if repo is None:
            return self._err(404, "Not Found")
        body = req.body or {}
        missing = [k for k in ("title", "head", "base") if not body.get(k)]
        if missing:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"field": f, "code": "missing_field"} for f in missing],
            }
        full = repo["full_name"]
        head = body["head"].split(":")[-1]
        if not self._branch_exists(full, head):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"field": "head", "code": "invalid"}],
            }
        pulls = self.pulls.setdefault(full.lower(), [])
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in pulls):
            return 422, {
                "message": "Validation Failed",
                "errors": [
                    {
                        "message": f"A pull request already exists for {repo['owner']['login']}:{head}."
                    }
                ],
            }
        number = len(pulls) + 1
        pr = {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "draft": bool(body.get("draft")),
            "head": {"ref": head},
            "base": {"ref": body["base"]},
            "html_url": f"https://github.com/{full}/pull/{number}",
            "url": f"{self.url}/repos/{full}/pulls/{number}",
        }
        pulls.append(pr)
        return 201, pr

    def _list_pulls(self, req: Request):
        repo = self._repo_of(req)
        if repo is None:
            return self._err(404, "Not Found")
        head = req.query.get("head", "").split(":")[-1]
        state = req.query.get("state", "open")
        out = [
            p
            for p in self.pulls.get(repo["full_name"].lower(), [])
            if (not head or p["head"]["ref"] == head) and (state == "all" or p["state"] == state)
        ]
        return 200, out
