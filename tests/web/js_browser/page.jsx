// A chat page on another origin, built on LangGraph's own React hook `useStream` (the one
// agent-chat-ui uses): it opens a thread from `?thread=` (history fetch), streams a run
// (values + messages-tuple + custom), and regenerates a reply from its parent checkpoint.
// Bundled by esbuild in tests/web/test_cross_origin_browser.py.
import { useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";

const params = new URLSearchParams(window.location.search);

function text(message) {
  if (typeof message.content === "string") return message.content;
  return (message.content || []).map((part) => part.text || "").join("");
}

function App() {
  const [threadId, setThreadId] = useState(params.get("thread"));
  const [error, setError] = useState(null);
  const [custom, setCustom] = useState([]);
  const [draft, setDraft] = useState("");
  const stream = useStream({
    apiUrl: params.get("api"),
    apiKey: params.get("key"),
    assistantId: params.get("assistant"),
    messagesKey: "messages",
    threadId,
    onThreadId: setThreadId,
    fetchStateHistory: true,
    onCustomEvent: (event) => setCustom((seen) => [...seen, event]),
    onError: (err) => setError(String(err && err.message ? err.message : err)),
  });
  const messages = stream.messages;
  const last = messages[messages.length - 1];
  const lastMeta = last && last.type === "ai" ? stream.getMessagesMetadata(last) : undefined;
  const send = (event) => {
    event.preventDefault();
    setError(null);
    stream.submit(
      { messages: [{ type: "human", content: draft }] },
      { streamMode: ["values", "messages-tuple", "custom"] },
    );
    setDraft("");
  };
  const regenerate = () => {
    setError(null);
    stream.submit(undefined, {
      checkpoint: lastMeta?.firstSeenState?.parent_checkpoint,
      streamMode: ["values", "messages-tuple", "custom"],
    });
  };
  let historyCount = "";
  try {
    historyCount = String(stream.history ? stream.history.length : 0);
  } catch (err) {
    historyCount = "error";
  }
  return (
    <main>
      <p id="thread">{threadId || ""}</p>
      <p id="status">{stream.isLoading ? "streaming" : stream.isThreadLoading ? "loading" : "idle"}</p>
      <p id="history">{historyCount}</p>
      <p id="branches">{lastMeta?.branchOptions ? String(lastMeta.branchOptions.length) : "1"}</p>
      <p id="custom">{String(custom.length)}</p>
      <p id="error">{error || (stream.error ? String(stream.error.message || stream.error) : "")}</p>
      <ol id="messages">
        {messages.map((message, index) => (
          <li key={message.id || index} data-type={message.type}>
            {text(message)}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <input id="input" aria-label="message" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button id="send" type="submit" disabled={stream.isLoading}>Send</button>
      </form>
      <button id="regenerate" type="button" onClick={regenerate} disabled={!lastMeta || stream.isLoading}>
        Regenerate
      </button>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
