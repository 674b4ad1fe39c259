// Entry point: a tiny router over location.pathname (pages are rendered client-side;
// the server serves the same HTML shell for /, /login, /new and /tasks/<id>).
import { api, go } from "./api.js";
import { loginPage } from "./login.js";
import { taskListPage } from "./tasks.js";
import { taskPage } from "./terminal.js";

async function main() {
  const root = document.getElementById("app");
  const path = window.location.pathname;
  if (path === "/login") return loginPage(root);
  let me;
  try {
    me = await api("GET", "/api/me");
  } catch (err) {
    if (err.status === 401) return go("/login");
    root.textContent = err.message;
    return;
  }
  const m = path.match(/^\/tasks\/([^/]+)$/);
  if (m) return taskPage(root, me, decodeURIComponent(m[1]));
  return taskListPage(root, me);
}

main();
