// The task page: a full xterm.js terminal bound to the task's WebSocket.
//
// Output frames are [u32 seq][bytes]; each is written to xterm and acknowledged once
// xterm has parsed it (flow=ack), so the server pauses while the browser is behind.
// On a dropped connection the page reconnects from the last seq it rendered, so no
// byte is shown twice or skipped; a reload starts a fresh terminal from seq 0.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { api, el, go } from "./api.js";
import { header, isTerminal } from "./tasks.js";

export async function taskPage(root, me, taskId) {
  let task;
  try {
    task = await api("GET", `/api/tasks/${encodeURIComponent(taskId)}`);
  } catch (err) {
    if (err.status === 401) return go("/login");
    root.append(header(me), el("main", {}, el("p", { id: "task-error" }, err.message)));
    return;
  }
  const state = el("span", { id: "task-state", class: `state state-${task.state}` }, task.state);
  const exit = el("span", { id: "task-exit" });
  const cancel = el("button", { id: "task-cancel", onclick: async () => {
    const t = await api("POST", `/api/tasks/${task.id}/cancel`);
    // Usually still "running": the end arrives on the socket, maybe before this reply,
    // which then must not put "running" back.
    if (isTerminal(t.state)) setState(t.state);
  } }, "Cancel");
  const download = el("a", { id: "task-download", class: "button", hidden: true,
    href: `/api/tasks/${task.id}/results.tar.gz` }, "Download results");
  const copy = el("button", { id: "task-copy", onclick: () => {
    const text = term.getSelection();
    if (text && navigator.clipboard) navigator.clipboard.writeText(text);
  } }, "Copy selection");
  const box = el("div", { id: "terminal", class: "terminal" });
  const cmd = task.spec.command.join(" ") || `(agent) ${task.spec.prompt || ""}`;
  root.append(header(me), el("main", { class: "task" },
    el("div", { class: "task-bar" }, el("strong", {}, task.spec.name || task.id),
      el("code", {}, cmd), state, exit, copy, cancel, download), box));

  const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 10000,
    fontFamily: "ui-monospace, Menlo, Consolas, monospace", fontSize: 14,
    theme: { background: "#1e1e1e" } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  // Ctrl+Shift+C copies the selection (Ctrl+C goes to the task as an interrupt).
  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type === "keydown" && ev.ctrlKey && ev.shiftKey && ev.code === "KeyC") {
      copy.click();
      return false;
    }
    return true;
  });
  const debug = { term, output: "", frames: 0, attempt: 0, final: null, socket: null };
  window.rclaude = debug;
  const decoder = new TextDecoder();

  function setState(s, info) {
    state.textContent = s;
    state.className = `state state-${s}`;
    if (isTerminal(s)) {
      cancel.disabled = true;
      if (info && info.exit_status !== undefined) exit.textContent = `exit ${info.exit_status}`;
      api("GET", `/api/tasks/${task.id}`).then((t) => {
        if (t.result) download.hidden = false;
      }).catch(() => {});
    }
  }
  if (isTerminal(task.state)) setState(task.state);

  let attempt = 0;
  let lastSeq = 0;
  let finished = false;
  let ws = null;
  const encoder = new TextEncoder();

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }
  term.onData((data) => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
  });
  term.onBinary((data) => {
    const bytes = Uint8Array.from(data, (c) => c.charCodeAt(0));
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
  });
  term.onResize(({ cols, rows }) => send({ type: "resize", cols, rows }));
  new ResizeObserver(() => fit.fit()).observe(box);

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const q = new URLSearchParams({ flow: "ack", after_seq: String(lastSeq) });
    if (attempt) q.set("attempt", String(attempt));
    ws = new WebSocket(`${proto}://${location.host}/api/tasks/${task.id}/terminal?${q}`);
    ws.binaryType = "arraybuffer";
    debug.socket = ws;
    ws.onopen = () => send({ type: "resize", cols: term.cols, rows: term.rows });
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        const view = new DataView(ev.data);
        const seq = view.getUint32(0);
        const bytes = new Uint8Array(ev.data, 4);
        lastSeq = seq;
        debug.frames += 1;
        if (debug.output.length < 4 << 20) debug.output += decoder.decode(bytes, { stream: true });
        term.write(bytes, () => send({ type: "ack", seq }));
        return;
      }
      const msg = JSON.parse(ev.data);
      if (msg.type === "hello") {
        attempt = msg.attempt;
        debug.attempt = attempt;
        if (!isTerminal(msg.task.state)) setState(msg.task.state);
      } else if (msg.type === "attempt") {
        attempt = msg.attempt;
        lastSeq = 0;
        debug.attempt = attempt;
        term.write(`\r\n\x1b[2m── attempt ${attempt} (the previous worker was lost) ──\x1b[0m\r\n`);
      } else if (msg.type === "final") {
        finished = true;
        lastSeq = msg.seq;
        debug.final = msg;
        setState(msg.info.state || "finished", msg);
      }
    };
    ws.onclose = () => {
      if (!finished) setTimeout(connect, 1000);
    };
  }
  connect();
  term.focus();
  // Poll the state while running (the WebSocket carries output; states change meanwhile).
  const timer = setInterval(async () => {
    if (finished) return clearInterval(timer);
    try {
      const t = await api("GET", `/api/tasks/${task.id}`);
      if (!isTerminal(t.state)) setState(t.state);
    } catch (_) { /* transient */ }
  }, 2000);
}
