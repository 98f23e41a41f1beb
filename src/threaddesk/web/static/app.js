// threaddesk chat page: plain JS over the native API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("threaddesk.token"), threadId: null, threads: [] };

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) { signOut("Your token was not accepted."); throw new Error("unauthorized"); }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.error?.message || `${response.status} ${response.statusText}`);
  }
  return response.status === 204 ? null : response.json();
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`;
  }
}

function showError(id, message) { $(id).textContent = message || ""; }

function signOut(message) {
  sessionStorage.removeItem("threaddesk.token");
  Object.assign(state, { token: null, threadId: null, threads: [] });
  $("app").hidden = true;
  $("signin").hidden = false;
  showError("signin-error", message);
}

async function signIn(token) {
  state.token = token;
  const me = await api("GET", "/me");
  $("whoami").textContent = me.name;
  await loadThreads();
  sessionStorage.setItem("threaddesk.token", token);
  $("signin").hidden = true;
  $("app").hidden = false;
  $("message").focus();
}

async function loadThreads() {
  const page = await api("GET", "/threads?limit=100");
  state.threads = page.threads;
  renderThreads();
}

function renderThreads() {
  const list = $("threads");
  list.replaceChildren(...state.threads.map((thread) => {
    const item = document.createElement("li");
    item.dataset.threadId = thread.thread_id;
    item.className = thread.thread_id === state.threadId ? "active" : "";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = thread.title || "New conversation";
    const when = document.createElement("time");
    when.dateTime = thread.last_active_at;
    when.textContent = ago(thread.last_active_at);
    item.append(title, when);
    item.addEventListener("click", () => openThread(thread.thread_id));
    return item;
  }));
}

function addMessage(role, text) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = text;
  $("messages").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

async function openThread(threadId) {
  state.threadId = threadId;
  renderThreads();
  const thread = state.threads.find((t) => t.thread_id === threadId);
  $("chat-title").textContent = thread?.title || "New conversation";
  $("messages").replaceChildren();
  const history = await api("GET", `/threads/${encodeURIComponent(threadId)}/messages`);
  for (const message of history.messages) addMessage(message.role, message.content);
}

async function newThread() {
  const thread = await api("POST", "/threads", {});
  state.threads.unshift(thread);
  await openThread(thread.thread_id);
  $("message").focus();
}

// POST with Accept: text/event-stream; `token` events extend the bubble, `reply` ends it.
async function streamReply(threadId, text, bubble) {
  const response = await fetch(`/threads/${encodeURIComponent(threadId)}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ content: text }),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.error?.message || `${response.status} ${response.statusText}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let reply = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "null");
      if (event === "token") bubble.textContent += data.text;
      else if (event === "reply") { reply = data; bubble.textContent = data.message.content; }
      else if (event === "error") throw new Error(data.error.message);
    }
  }
  return reply;
}

async function send(event) {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  showError("chat-error", "");
  $("send").disabled = true;
  try {
    if (!state.threadId) await newThread();
    const threadId = state.threadId;
    $("message").value = "";
    addMessage("user", text);
    const bubble = addMessage("assistant streaming", "");
    const reply = await streamReply(threadId, text, bubble).finally(() => bubble.classList.remove("streaming"));
    let thread = reply.thread;
    if (!thread.title) thread = await api("PATCH", `/threads/${encodeURIComponent(threadId)}`, { title: text.slice(0, 60) });
    state.threads = [thread, ...state.threads.filter((t) => t.thread_id !== threadId)];
    if (state.threadId === threadId) $("chat-title").textContent = thread.title;
    renderThreads();
  } catch (error) {
    showError("chat-error", error.message);
  } finally {
    $("send").disabled = false;
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showError("signin-error", "");
  signIn($("token").value.trim()).catch((error) => { if (error.message !== "unauthorized") showError("signin-error", error.message); });
});
$("signout").addEventListener("click", () => signOut());
$("new-thread").addEventListener("click", () => newThread().catch((e) => showError("chat-error", e.message)));
$("composer").addEventListener("submit", send);
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
});

if (state.token) signIn(state.token).catch(() => signOut());
else signOut();
