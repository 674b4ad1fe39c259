// Task list (live states by polling) and the form that starts a task, optionally with
// a project folder uploaded as a content-addressed snapshot (only missing blobs travel).
import { api, el, go } from "./api.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out", "lost"]);

export function isTerminal(state) {
  return TERMINAL.has(state);
}

export function taskListPage(root, me) {
  const tbody = el("tbody", { id: "task-rows" });
  const table = el("table", { class: "tasks" },
    el("thead", {}, el("tr", {}, ["ID", "Name", "State", "Attempt", "Exit", "Command", "Created"]
      .map((h) => el("th", {}, h)))), tbody);
  root.append(header(me), el("main", {}, newTaskForm(), el("h2", {}, "Tasks"), table));
  const refresh = async () => {
    try {
      const tasks = await api("GET", "/api/tasks?limit=100");
      tbody.replaceChildren(...tasks.map(row));
    } catch (err) {
      if (err.status === 401) go("/login");
    }
  };
  refresh();
  setInterval(refresh, 2000);
}

function row(t) {
  const cmd = t.spec.command.length ? t.spec.command.join(" ") : `(agent) ${t.spec.prompt || ""}`;
  return el("tr", { "data-task": t.id },
    el("td", {}, el("a", { href: `/tasks/${t.id}` }, t.id)),
    el("td", {}, t.spec.name || ""),
    el("td", { class: `state state-${t.state}` }, t.state),
    el("td", {}, String(t.attempt)),
    el("td", {}, t.exit_code === null ? "" : String(t.exit_code)),
    el("td", { class: "cmd" }, cmd),
    el("td", {}, new Date(t.created_at * 1000).toLocaleTimeString()));
}

export function header(me) {
  const logout = el("button", { class: "link", onclick: async () => {
    await api("POST", "/api/auth/logout");
    go("/login");
  } }, "Sign out");
  return el("header", {}, el("a", { href: "/", class: "brand" }, "rclaude"),
    el("span", { class: "who" }, me.email), logout);
}

function newTaskForm() {
  const command = el("input", { id: "new-command", name: "command", required: true,
    placeholder: "bash", autocomplete: "off" });
  const name = el("input", { id: "new-name", name: "name", placeholder: "optional name" });
  const timeout = el("input", { id: "new-timeout", name: "timeout", type: "number", min: "1",
    placeholder: "seconds" });
  const folder = el("input", { id: "new-project", type: "file", webkitdirectory: true,
    multiple: true });
  const note = el("span", { class: "note", id: "new-note" });
  const form = el("form", { id: "new-task", class: "new-task", onsubmit: async (ev) => {
    ev.preventDefault();
    const spec = { command: command.value, cols: 120, rows: 32 };
    if (name.value) spec.name = name.value;
    if (timeout.value) spec.timeout = Number(timeout.value);
    try {
      if (folder.files.length) {
        note.textContent = "Uploading project…";
        spec.snapshot_id = await uploadFolder(folder.files, (n) => {
          note.textContent = `Uploading project… ${n} file(s)`;
        });
      }
      note.textContent = "Starting…";
      const task = await api("POST", "/api/tasks", { spec });
      go(`/tasks/${task.id}`);
    } catch (err) {
      note.textContent = err.message + (err.hint ? ` (${err.hint})` : "");
    }
  } },
  el("label", {}, "Command", command), el("label", {}, "Name", name),
  el("label", {}, "Timeout", timeout), el("label", {}, "Project folder", folder),
  el("button", { type: "submit", id: "new-submit" }, "Start task"), note);
  return form;
}

async function sha256(buf) {
  const d = await crypto.subtle.digest("SHA-256", buf);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function uploadFolder(fileList, progress) {
  if (!crypto.subtle) throw new Error("folder upload needs https (or localhost)");
  const files = {};
  const blobs = new Map();
  let n = 0;
  for (const f of fileList) {
    // webkitRelativePath is "<folder>/<path>": the snapshot is rooted inside the folder.
    const rel = f.webkitRelativePath.split("/").slice(1).join("/");
    if (!rel || rel.split("/").some((p) => p === ".git" || p === "node_modules")) continue;
    const sha = await sha256(await f.arrayBuffer());
    files[rel] = { sha, size: f.size, mode: 0o644 };
    blobs.set(sha, f);
    progress(++n);
  }
  const plan = await api("POST", "/api/snapshots/missing", { shas: [...blobs.keys()] });
  for (const up of plan.uploads) {
    const opts = { method: "PUT", body: blobs.get(up.sha) };
    if (!up.presigned) opts.credentials = "same-origin";
    const resp = await fetch(up.url, opts);
    if (!resp.ok) throw new Error(`upload failed (${resp.status})`);
  }
  const out = await api("POST", "/api/snapshots", { files, links: {} });
  return out.snapshot_id;
}
