// Playground: one turn at a time against POST /v1/chat/stream (agents, stored conversations) or
// POST /v1/chat/completions with stream (the OpenAI surface); text shows as it arrives.

import { api, openStream, sseFrames } from "./api.js";
import { describe, h } from "./dom.js";

export const title = "Playground";

const state = { conversationId: null };

function option(value, label) {
  return h("option", { value }, label);
}

function usageLine(usage) {
  if (!usage) return "";
  const input = usage.input_tokens ?? usage.prompt_tokens ?? 0;
  const output = usage.output_tokens ?? usage.completion_tokens ?? 0;
  const total = usage.total_tokens ?? input + output;
  return `${input} in · ${output} out · ${total} tokens`;
}

/** One turn's view: the question, the answer as it grows, tool calls, outcome and timings. */
function turnView(message) {
  const answer = h("div", { class: "answer", "aria-live": "polite" });
  const tools = h("ul", { class: "tools", "aria-label": "Tool calls" });
  const status = h("p", { class: "turn-status", role: "status" }, "Waiting for the first token…");
  const metrics = h("dl", { class: "metrics" });
  const node = h(
    "article",
    { class: "turn", "aria-busy": "true" },
    h("p", { class: "question" }, h("span", { class: "who" }, "You"), message),
    answer,
    tools,
    status,
    metrics,
  );
  const started = performance.now();
  let firstToken = null;
  const metric = (name, value, key) => {
    metrics.append(h("dt", {}, name), h("dd", { dataset: { metric: key } }, value));
  };
  return {
    node,
    delta(text) {
      if (firstToken === null) {
        firstToken = performance.now() - started;
        status.textContent = "Streaming…";
      }
      answer.textContent += text;
    },
    tool(label, detail, kind) {
      tools.append(h("li", { class: kind }, h("strong", {}, label), " ", h("code", {}, detail)));
    },
    note(text) {
      tools.append(h("li", { class: "note" }, text));
    },
    blocked(detail) {
      node.classList.add("blocked");
      status.textContent = "";
      status.append(h("strong", {}, "Blocked by a guardrail. "), detail);
    },
    failed(detail) {
      node.classList.add("failed");
      status.textContent = `Failed: ${detail}`;
    },
    done(usage, served) {
      const total = performance.now() - started;
      status.textContent = "Completed.";
      metric("Usage", usageLine(usage) || "not reported", "usage");
      if (served) metric("Served by", served, "served");
      metric("First token", firstToken === null ? "—" : `${Math.round(firstToken)} ms`, "ttft");
      metric("Total", `${Math.round(total)} ms`, "total");
    },
    end() {
      node.setAttribute("aria-busy", "false");
    },
  };
}

async function chatTurn(view, body, signal) {
  const response = await openStream("/v1/chat/stream", body, signal);
  let served = "";
  for await (const frame of sseFrames(response)) {
    const data = JSON.parse(frame.data);
    if (frame.event === "run.started") {
      state.conversationId = data.conversation_id;
      served = `${data.provider} / ${data.model}${data.route ? ` (route ${data.route})` : ""}`;
    } else if (frame.event === "text.delta") view.delta(data.delta);
    else if (frame.event === "tool.called") view.tool(`Tool call ${data.call.name}`, JSON.stringify(data.call.arguments), "call");
    else if (frame.event === "tool.output") view.tool(`Tool result ${data.result.name}`, data.result.output, data.result.is_error ? "tool-error" : "result");
    else if (frame.event === "agent.handoff") view.note(`Handed off from ${data.from_agent} to ${data.to_agent}`);
    else if (frame.event === "run.completed") view.done(data.usage, `${data.agent} on ${data.provider} / ${data.model}` || served);
    else if (frame.event === "run.failed") {
      if (data.error.code === "guardrail_blocked") view.blocked(data.error.detail);
      else view.failed(`${data.error.code}: ${data.error.detail}`);
    }
  }
}

async function completionsTurn(view, model, message, signal) {
  const body = { model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: message }] };
  const response = await openStream("/v1/chat/completions", body, signal);
  let usage = null;
  let served = model;
  for await (const frame of sseFrames(response)) {
    if (frame.data === "[DONE]") break;
    const chunk = JSON.parse(frame.data);
    if (chunk.error) return view.failed(chunk.error.message);
    served = chunk.model || served;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices || []) {
      if (choice.delta && choice.delta.content) view.delta(choice.delta.content);
      for (const call of (choice.delta && choice.delta.tool_calls) || []) {
        if (call.function && call.function.name) view.tool(`Tool call ${call.function.name}`, call.function.arguments || "", "call");
      }
      if (choice.finish_reason === "content_filter") view.blocked("the answer was stopped by an output guardrail");
    }
  }
  view.done(usage, served);
}

export async function render(main) {
  let agents = { default: "", data: [] };
  let catalog = { default: "", data: [], routes: [] };
  try {
    [agents, catalog] = await Promise.all([api("/v1/agents"), api("/v1/providers")]);
  } catch (error) {
    main.append(h("p", { class: "error", role: "alert" }, describe(error)));
  }
  const mode = h(
    "select",
    { id: "pg-mode", name: "mode" },
    option("chat", "Agent chat (POST /v1/chat/stream)"),
    option("completions", "Chat completions (POST /v1/chat/completions)"),
  );
  const agent = h("select", { id: "pg-agent", name: "agent" }, agents.data.map((a) => option(a.key, a.key + (a.key === agents.default ? " (default)" : ""))));
  agent.value = agents.default;
  const target = h(
    "select",
    { id: "pg-target", name: "target" },
    option("", "Default route"),
    h("optgroup", { label: "Routes" }, (catalog.routes || []).map((r) => option(`route:${r.name}`, `${r.name} (${r.strategy})`))),
    h("optgroup", { label: "Providers (pinned)" }, catalog.data.map((p) => option(`provider:${p.name}`, `${p.name} · ${p.default_model}`))),
  );
  const message = h("textarea", { id: "pg-message", name: "message", rows: 3, required: true, placeholder: "Ask something. Ctrl+Enter sends." });
  const send = h("button", { type: "submit", id: "pg-send" }, "Send");
  const stop = h("button", { type: "button", class: "quiet", disabled: true }, "Stop");
  const conversation = h("p", { class: "muted", id: "pg-conversation" });
  const fresh = h("button", { type: "button", class: "quiet" }, "New conversation");
  const transcript = h("section", { class: "transcript", "aria-label": "Transcript" });
  let controller = null;

  const showConversation = () => {
    conversation.textContent = state.conversationId ? `Conversation ${state.conversationId}` : "New conversation";
  };
  fresh.addEventListener("click", () => {
    state.conversationId = null;
    transcript.replaceChildren();
    showConversation();
  });
  stop.addEventListener("click", () => controller && controller.abort());
  message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  const form = h(
    "form",
    { class: "card playground", id: "playground" },
    h("h1", {}, "Playground"),
    h("div", { class: "row" },
      h("label", {}, "Surface", mode),
      h("label", {}, "Agent", agent),
      h("label", {}, "Route or provider", target)),
    h("label", { for: "pg-message" }, "Message"),
    message,
    h("div", { class: "row actions" }, send, stop, fresh, conversation),
  );
  mode.addEventListener("change", () => {
    agent.disabled = mode.value !== "chat";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = message.value.trim();
    if (!text) return;
    const view = turnView(text);
    transcript.append(view.node);
    message.value = "";
    send.disabled = true;
    stop.disabled = false;
    controller = new AbortController();
    const [kind, name] = target.value ? target.value.split(":") : ["", ""];
    try {
      if (mode.value === "chat") {
        const body = { message: text, agent: agent.value || undefined, conversation_id: state.conversationId || undefined };
        if (kind === "route") body.model = name;
        if (kind === "provider") body.provider = name;
        await chatTurn(view, body, controller.signal);
      } else {
        const provider = catalog.data.find((p) => p.name === name);
        await completionsTurn(view, kind === "provider" && provider ? `${name}/${provider.default_model}` : name || "default", text, controller.signal);
      }
    } catch (error) {
      const problem = error.problem || {};
      const code = problem.code || (problem.type || "").split("/").pop();
      if (error.name === "AbortError") view.failed("stopped");
      else if (code === "guardrail_blocked" || /guardrail/i.test(problem.detail || "")) view.blocked(problem.detail || describe(error));
      else view.failed(describe(error));
    } finally {
      view.end();
      controller = null;
      send.disabled = false;
      stop.disabled = true;
      showConversation();
      message.focus();
    }
  });
  showConversation();
  main.append(form, transcript);
  message.focus();
  return () => controller && controller.abort();
}
