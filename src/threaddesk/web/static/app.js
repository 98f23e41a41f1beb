// threaddesk chat page: plain JS over the native API (no build step, no inline code: it runs under a
// strict Content-Security-Policy). The open thread lives in the URL hash (#thread=ID), so links to a
// conversation work, reload keeps it, and Back goes to the previous one.
"use strict";

const PAGE_SIZE = 50;
const TITLE_LENGTH = 60;
const TOKEN_KEY = "threaddesk.token";
const PHONE = window.matchMedia("(max-width: 720px)");

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  threadId: null, // the open thread; null: a new conversation, created when its first message is sent
  threads: [],
  nextCursor: null,
  loadingMore: false,
  opening: 0, // bumped by every open, so a slow answer for an earlier one is dropped
  sending: false,
  me: null, // who signed in: {name, role}
  answering: false, // the open thread is answered as a human agent (opened from the inbox)
  inbox: [],
};

/** An API answer that is not 2xx: the status and the server's own message. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function problemOf(response) {
  const problem = await response.json().catch(() => ({}));
  return new ApiError(response.status, problem.error?.message || `${response.status} ${response.statusText}`);
}

async function api(method, path, body, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut("Your token was not accepted.");
    throw new ApiError(401, "unauthorized");
  }
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? null : response;
}

const apiJson = async (...args) => (await api(...args))?.json() ?? null;
const threadPath = (threadId) => `/threads/${encodeURIComponent(threadId)}`;
const isGone = (error) => error instanceof ApiError && error.status === 404;

// ---- the URL --------------------------------------------------------------------------------------

function threadInUrl() {
  const match = /^#thread=(.+)$/.exec(location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

function urlFor(threadId) {
  return threadId ? `#thread=${encodeURIComponent(threadId)}` : location.pathname + location.search;
}

/** Follow the URL: answer the thread it names from the inbox, open one, or a new conversation. */
function route() {
  const answering = inboxInUrl();
  if (answering && isAgent()) return openInboxThread(answering);
  state.answering = false;
  const threadId = threadInUrl();
  if (threadId) openThread(threadId);
  else showNewConversation();
}

// ---- small helpers --------------------------------------------------------------------------------

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`;
  }
}

function titleFrom(text) {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line;
}

function showError(id, message) {
  $(id).textContent = message || "";
}

/** Say `message` to screen readers (the polite status region), even if it is the same as last time. */
function announce(message) {
  const region = $("announcer");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

// ---- signing in and out ---------------------------------------------------------------------------

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { token: null, threadId: null, threads: [], nextCursor: null, me: null, answering: false });
  $("inbox-section").hidden = true;
  setDrawer(false);
  $("app").hidden = true;
  $("signin").hidden = false;
  document.title = "Sign in · threaddesk";
  showError("signin-error", message);
  $("token").focus();
}

async function signIn(token) {
  state.token = token;
  const me = await apiJson("GET", "/me");
  state.me = me;
  $("whoami").textContent = me.name;
  $("inbox-section").hidden = !isAgent();
  if (isAgent()) await loadInbox();
  await loadThreads();
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  $("signin").hidden = true;
  $("app").hidden = false;
  route();
  $("message").focus();
}

// ---- the thread list ------------------------------------------------------------------------------

/** The first page of threads (reset), or the next one after `nextCursor`. */
async function loadThreads({ more = false } = {}) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more) query.set("cursor", state.nextCursor);
  const page = await apiJson("GET", `/threads?${query}`);
  if (more) {
    const known = new Set(state.threads.map((t) => t.thread_id));
    state.threads.push(...page.threads.filter((t) => !known.has(t.thread_id)));
  } else {
    state.threads = page.threads;
  }
  state.nextCursor = page.next_cursor;
  renderThreads();
}

async function loadMoreThreads() {
  if (state.loadingMore || !state.nextCursor) return;
  state.loadingMore = true;
  $("more-threads").disabled = true;
  try {
    await loadThreads({ more: true });
    showError("chat-error", "");
  } catch (error) {
    if (error.status !== 401) showError("chat-error", `Could not load more conversations: ${error.message}`);
  } finally {
    state.loadingMore = false;
    $("more-threads").disabled = false;
    // Still in view (a tall list area, a short page)? Observing afresh reports it again.
    moreObserver.unobserve($("more-threads"));
    moreObserver.observe($("more-threads"));
  }
}

function renderThreads() {
  $("threads").replaceChildren(...state.threads.map((thread) => {
    const link = document.createElement("a");
    link.href = urlFor(thread.thread_id);
    link.className = "thread";
    if (thread.thread_id === state.threadId) link.setAttribute("aria-current", "page");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = thread.title || "Untitled conversation";
    const when = document.createElement("time");
    when.dateTime = thread.last_active_at;
    when.textContent = ago(thread.last_active_at);
    link.append(title, when);
    const item = document.createElement("li");
    item.dataset.threadId = thread.thread_id;
    item.append(link);
    return item;
  }));
  $("threads-empty").hidden = state.threads.length > 0;
  $("more-threads").hidden = !state.nextCursor;
  renderEmptyState();
}

/** Keep the "5m ago" labels true while the page stays open (text only: focus and scroll stay put). */
function refreshTimes() {
  for (const when of $("threads").querySelectorAll("time")) when.textContent = ago(when.dateTime);
}

/** Put `thread` (fresh from the server) first in the list, as the most recently active. */
function upsertThread(thread) {
  state.threads = [thread, ...state.threads.filter((t) => t.thread_id !== thread.thread_id)];
  renderThreads();
}

function forgetThread(threadId) {
  state.threads = state.threads.filter((t) => t.thread_id !== threadId);
  renderThreads();
}

// ---- the open conversation ------------------------------------------------------------------------

function setHeader(thread) {
  const title = thread ? thread.title || "Untitled conversation" : "New conversation";
  $("chat-title").textContent = title;
  document.title = `${title} · threaddesk`;
  $("thread-actions").hidden = !thread || state.answering;
  $("agent-actions").hidden = !thread || !state.answering;
  $("send").textContent = state.answering ? "Reply" : "Send";
}

/** A hint where the pane would be empty: a welcome for a new user, else how a new conversation starts. */
function renderEmptyState() {
  $("empty-state").hidden = Boolean(state.threadId) || $("messages").childElementCount > 0;
  $("welcome").hidden = state.threads.length > 0;
  $("new-hint").hidden = state.threads.length === 0;
}

function addMessage(role, text, author = null) {
  const item = document.createElement("li");
  item.className = author ? `${role} human-agent` : role;
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = role === "user" ? (state.answering ? "Customer: " : "You: ") : "Assistant: ";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  if (author) {
    // A person of the support team wrote this (a handoff): said, and seen.
    who.textContent = "";
    const name = document.createElement("span");
    name.className = "author";
    name.textContent = `${author} · support team`;
    item.append(name);
  }
  item.append(who, body);
  $("messages").append(item);
  $("messages").scrollTop = $("messages").scrollHeight;
  renderEmptyState();
  return item;
}

function showNewConversation() {
  state.opening += 1;
  state.threadId = null;
  state.answering = false;
  setHeader(null);
  $("messages").replaceChildren();
  renderThreads();
}

async function openThread(threadId) {
  const ticket = ++state.opening;
  state.threadId = threadId;
  state.answering = false;
  showError("chat-error", "");
  $("messages").replaceChildren();
  renderThreads();
  const known = state.threads.find((t) => t.thread_id === threadId);
  setHeader(known || { title: "…" });
  try {
    const [thread, history] = await Promise.all([
      known || apiJson("GET", threadPath(threadId)),
      apiJson("GET", `${threadPath(threadId)}/messages`),
    ]);
    if (ticket !== state.opening) return;
    setHeader(thread);
    // The customer sees what was said: not the agent's tool calls (no words) nor their results.
    showMessages(history.messages);
  } catch (error) {
    if (ticket !== state.opening) return;
    if (isGone(error)) threadGone(threadId);
    else if (error.status !== 401) showError("chat-error", `Could not open the conversation: ${error.message}`);
  }
}

/** The thread no longer exists (deleted in another tab or by its time-to-live): say so, start afresh. */
function threadGone(threadId, detail = "") {
  forgetThread(threadId);
  if (state.threadId === threadId) {
    history.replaceState(null, "", urlFor(null));
    showNewConversation();
  }
  showError(
    "chat-error",
    `This conversation no longer exists: it was deleted, perhaps in another window, or expired.${detail}`,
  );
}

// ---- sending --------------------------------------------------------------------------------------

/** POST with Accept: text/event-stream; `token` events extend the bubble, `reply` ends it. */
async function streamReply(threadId, text, bubble) {
  const response = await api("POST", `${threadPath(threadId)}/messages`, { content: text }, {
    Accept: "text/event-stream",
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
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
      else if (event === "reply") {
        bubble.textContent = data.message.content;
        return data;
      } else if (event === "error") throw new ApiError(data.status, data.error.message);
    }
  }
  throw new ApiError(0, "The connection closed before the reply arrived.");
}

async function send(event) {
  event.preventDefault();
  if (state.answering) return answerThread("stay");
  const text = $("message").value;
  if (!text.trim() || state.sending) return;
  state.sending = true;
  $("send").disabled = true;
  showError("chat-error", "");
  let threadId = state.threadId;
  let question = null;
  let answer = null;
  try {
    if (!threadId) {
      const thread = await apiJson("POST", "/threads", { title: titleFrom(text) });
      threadId = state.threadId = thread.thread_id;
      history.replaceState(null, "", urlFor(threadId));
      setHeader(thread);
      upsertThread(thread);
    }
    $("message").value = "";
    question = addMessage("user", text);
    answer = addMessage("assistant streaming", "");
    $("messages").setAttribute("aria-busy", "true");
    const reply = await streamReply(threadId, text, answer.querySelector(".text"));
    answer.classList.remove("streaming");
    question = answer = null; // the turn is stored: from here on, nothing to take back
    announce(`Reply: ${reply.message.content}`);
    let thread = reply.thread;
    if (!thread.title) thread = await apiJson("PATCH", threadPath(threadId), { title: titleFrom(text) });
    upsertThread(thread);
    if (state.threadId === threadId) setHeader(thread);
  } catch (error) {
    const failedTurn = answer !== null;
    if (failedTurn) {
      // The server rolled the failed turn back: so does the page, and the text goes back in the box.
      question.remove();
      answer.remove();
      if (!$("message").value) $("message").value = text;
      renderEmptyState();
    }
    if (isGone(error)) {
      threadGone(threadId, failedTurn ? " Your message is still in the box: send it to start a new one." : "");
    } else if (error.status !== 401) {
      showError("chat-error", error.message);
    }
  } finally {
    $("messages").removeAttribute("aria-busy");
    state.sending = false;
    $("send").disabled = false;
  }
}

// ---- the inbox: agents answer conversations handed to a person ---------------------------------------

const isAgent = () => state.me?.role === "agent" || state.me?.role === "admin";

function inboxInUrl() {
  const match = /^#inbox=(.+)$/.exec(location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** What the customer sees of a conversation: no tool calls or their results, the team's replies named. */
function showMessages(messages) {
  for (const message of messages) {
    if (message.role === "tool" || !message.content.trim()) continue;
    addMessage(message.role, message.content, message.author);
  }
}

/** Every customer's conversation waiting for a person, the one waiting longest first. */
async function loadInbox() {
  const page = await apiJson("GET", `/threads?${new URLSearchParams({ status: "interrupted", limit: "50" })}`);
  state.inbox = page.threads;
  $("inbox").replaceChildren(...state.inbox.map((thread) => {
    const link = document.createElement("a");
    link.href = `#inbox=${encodeURIComponent(thread.thread_id)}`;
    link.className = "thread";
    if (state.answering && thread.thread_id === state.threadId) link.setAttribute("aria-current", "page");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = `${thread.title || "Untitled conversation"} (${thread.user_id})`;
    const when = document.createElement("time");
    when.dateTime = thread.last_active_at;
    when.textContent = `waiting since ${ago(thread.last_active_at)}`;
    link.append(title, when);
    const item = document.createElement("li");
    item.dataset.threadId = thread.thread_id;
    item.append(link);
    return item;
  }));
  $("inbox-empty").hidden = state.inbox.length > 0;
  $("inbox-count").textContent = state.inbox.length ? `(${state.inbox.length})` : "";
}

/** Open a customer's conversation to answer it: their messages, the reply box, hand back and close. */
async function openInboxThread(threadId) {
  const ticket = ++state.opening;
  state.threadId = threadId;
  state.answering = true;
  showError("chat-error", "");
  $("messages").replaceChildren();
  renderThreads();
  try {
    const [thread, history] = await Promise.all([
      apiJson("GET", threadPath(threadId)),
      apiJson("GET", `${threadPath(threadId)}/messages`),
    ]);
    if (ticket !== state.opening) return;
    state.answeringThread = thread;
    setHeader(thread);
    showMessages(history.messages);
    await loadInbox();
  } catch (error) {
    if (ticket !== state.opening) return;
    if (error.status !== 401) showError("chat-error", `Could not open the conversation: ${error.message}`);
  }
}

/** The pending interrupt this reply answers, so a reply to one already answered is refused (409). */
function pendingInterrupt() {
  const pending = Object.values(state.answeringThread?.interrupts || {}).flat();
  return pending.length ? pending[0].id : null;
}

/** Reply (if text was written), then `stay` with the team, hand back to the `bot`, or `close`. */
async function answerThread(then) {
  const text = $("message").value.trim();
  if (state.sending || (then === "stay" && !text)) return;
  const threadId = state.threadId;
  state.sending = true;
  for (const id of ["send", "hand-back", "close-conversation"]) $(id).disabled = true;
  showError("chat-error", "");
  try {
    const body = { then, interrupt_id: pendingInterrupt() };
    if (text) body.content = text;
    const done = await apiJson("POST", `${threadPath(threadId)}/reply`, body);
    $("message").value = "";
    $("messages").replaceChildren();
    showMessages((await apiJson("GET", `${threadPath(threadId)}/messages`)).messages);
    state.answeringThread = done.thread;
    announce(then === "stay" ? "Reply sent" : then === "bot" ? "Handed back to the assistant" : "Conversation closed");
  } catch (error) {
    if (error.status === 409) showError("chat-error", "Someone else answered this conversation first.");
    else if (error.status !== 401) showError("chat-error", error.message);
  } finally {
    state.sending = false;
    for (const id of ["send", "hand-back", "close-conversation"]) $(id).disabled = false;
    await loadInbox().catch(() => {});
  }
}

// ---- rename and delete ----------------------------------------------------------------------------

function openDialog(id) {
  showError("chat-error", "");
  $(id).showModal();
}

function startRename() {
  const thread = state.threads.find((t) => t.thread_id === state.threadId);
  $("rename-title").value = thread?.title || $("chat-title").textContent;
  openDialog("rename-dialog");
  $("rename-title").select();
}

async function rename(event) {
  event.preventDefault();
  const threadId = state.threadId;
  const title = $("rename-title").value.trim();
  $("rename-dialog").close();
  if (!threadId || !title) return;
  try {
    const thread = await apiJson("PATCH", threadPath(threadId), { title });
    state.threads = state.threads.map((t) => (t.thread_id === threadId ? thread : t));
    renderThreads();
    if (state.threadId === threadId) setHeader(thread);
    announce(`Renamed to ${thread.title}`);
  } catch (error) {
    if (isGone(error)) threadGone(threadId);
    else if (error.status !== 401) showError("chat-error", `Could not rename: ${error.message}`);
  }
}

function startDelete() {
  $("delete-title").textContent = $("chat-title").textContent;
  openDialog("delete-dialog");
}

async function deleteThread(event) {
  event.preventDefault();
  const threadId = state.threadId;
  $("delete-dialog").close();
  if (!threadId) return;
  try {
    await api("DELETE", threadPath(threadId));
  } catch (error) {
    if (!isGone(error)) {
      if (error.status !== 401) showError("chat-error", `Could not delete: ${error.message}`);
      return;
    }
  }
  forgetThread(threadId);
  if (state.threadId === threadId) {
    history.pushState(null, "", urlFor(null));
    showNewConversation();
  }
  announce("Conversation deleted");
  $("message").focus();
}

// ---- the thread list as a drawer on phones --------------------------------------------------------

function setDrawer(open) {
  const wasOpen = $("app").classList.contains("drawer-open");
  $("app").classList.toggle("drawer-open", open);
  $("toggle-threads").setAttribute("aria-expanded", String(open));
  $("backdrop").hidden = !open;
  if (open && !wasOpen) ($("sidebar").querySelector("[aria-current]") || $("new-thread")).focus();
  else if (!open && wasOpen && $("sidebar").contains(document.activeElement)) $("toggle-threads").focus();
}

const closeDrawerOnPhone = () => { if (PHONE.matches) setDrawer(false); };

// ---- wiring ---------------------------------------------------------------------------------------

const moreObserver = new IntersectionObserver(
  (entries) => { if (entries.some((entry) => entry.isIntersecting)) loadMoreThreads(); },
  { root: $("thread-scroll"), rootMargin: "0px 0px 200px 0px" },
);
moreObserver.observe($("more-threads"));
window.setInterval(refreshTimes, 30_000);

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showError("signin-error", "");
  signIn($("token").value.trim()).catch((error) => {
    if (error.status !== 401) showError("signin-error", error.message);
  });
});
$("signout").addEventListener("click", () => {
  history.replaceState(null, "", urlFor(null));
  signOut();
});
$("new-thread").addEventListener("click", () => {
  if (threadInUrl()) history.pushState(null, "", urlFor(null));
  showNewConversation();
  closeDrawerOnPhone();
  $("message").focus();
});
$("threads").addEventListener("click", (event) => {
  if (event.target.closest("a.thread")) closeDrawerOnPhone();
});
$("more-threads").addEventListener("click", loadMoreThreads);
$("composer").addEventListener("submit", send);
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("hand-back").addEventListener("click", () => answerThread("bot"));
$("close-conversation").addEventListener("click", () => answerThread("close"));
$("inbox").addEventListener("click", (event) => {
  if (event.target.closest("a.thread")) closeDrawerOnPhone();
});
window.setInterval(() => { if (isAgent() && state.token && !$("app").hidden) loadInbox().catch(() => {}); }, 10_000);
$("rename").addEventListener("click", startRename);
$("rename-form").addEventListener("submit", rename);
$("delete").addEventListener("click", startDelete);
$("delete-form").addEventListener("submit", deleteThread);
for (const button of document.querySelectorAll("dialog [data-close]")) {
  button.addEventListener("click", () => button.closest("dialog").close());
}
$("toggle-threads").addEventListener("click", () => setDrawer(!$("app").classList.contains("drawer-open")));
$("backdrop").addEventListener("click", () => setDrawer(false));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && $("app").classList.contains("drawer-open")) setDrawer(false);
});
PHONE.addEventListener("change", () => setDrawer(false));
// Following a #thread= link, Back and Forward, and an edited hash all arrive as popstate.
window.addEventListener("popstate", () => { if (state.token && !$("app").hidden) route(); });

if (state.token) {
  signIn(state.token).catch((error) => {
    if (error.status !== 401) signOut(`Could not sign in: ${error.message}`);
  });
} else {
  signOut();
}
