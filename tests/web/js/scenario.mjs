// Drives @langchain/langgraph-sdk against a live server: prints one JSON object of what it saw.
// Usage: node scenario.mjs <api url> <api key>   (tests/web/test_js_sdk.py asserts on the output)
import { Client } from "@langchain/langgraph-sdk";

const [apiUrl, apiKey] = process.argv.slice(2);
const client = new Client({ apiUrl, apiKey });
const said = (text) => ({ messages: [{ role: "user", content: text }] });
const seen = {};

const thread = await client.threads.create({ metadata: { source: "js" } });
seen.created = thread.metadata;
const first = await client.runs.wait(thread.thread_id, "support_agent", { input: said("Hi, I'm Alice.") });
seen.waited = first.messages.at(-1).content;

const events = [];
let streamed = "";
for await (const chunk of client.runs.stream(thread.thread_id, "support_agent", {
  input: said("What's my name?"),
  streamMode: ["values", "messages-tuple", "custom"],
})) {
  events.push(chunk.event);
  if (chunk.event === "messages") streamed += chunk.data[0].content ?? "";
}
seen.events = [...new Set(events)];
seen.streamed = streamed;

const state = await client.threads.getState(thread.thread_id);
seen.state = state.values.messages.map((m) => m.content);
const history = await client.threads.getHistory(thread.thread_id, { limit: 5 });
seen.history = history.length;
const found = await client.threads.search({ metadata: { source: "js" }, limit: 10 });
seen.searched = found.map((t) => t.thread_id).includes(thread.thread_id);
seen.count = await client.threads.count({ metadata: { source: "js" } });

await client.store.putItem(["prefs"], "profile", { language: "fr" });
seen.item = (await client.store.getItem(["prefs"], "profile")).value;
seen.items = (await client.store.searchItems(["prefs"])).items.length;

try {
  await client.threads.get("no-such-thread");
  seen.missing = 200;
} catch (error) {
  seen.missing = error.status ?? String(error);
}
console.log(JSON.stringify(seen));
