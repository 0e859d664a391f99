// The playground: one API, model and system prompt; the reply streamed token by token
// (fetch() and a ReadableStream SSE reader), with reasoning, tool calls and usage; Stop
// aborts the fetch, and the server then stops the turn.
"use strict";

(() => {
  const { $, authHeaders, errorFrom, explain, notice, el, HttpError } = window.claudeWrapper;
  const state = { abort: null, history: [] };

  // -- the playground: requests per API ------------------------------------------

  const WEATHER = {
    name: "get_weather",
    description: "The current weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "The city's name" } },
      required: ["city"],
    },
  };

  function buildRequest(api, options) {
    const { model, system, text, thinking, tools } = options;
    const history = state.history.filter((turn) => turn.api === api);
    const headers = { "Content-Type": "application/json" };
    if (api === "chat") {
      const messages = [];
      if (system) messages.push({ role: "system", content: system });
      for (const turn of history) messages.push({ role: turn.role, content: turn.text });
      messages.push({ role: "user", content: text });
      const body = { messages, stream: true, stream_options: { include_usage: true } };
      if (model) body.model = model;
      if (tools) body.tools = [{ type: "function", function: WEATHER }];
      if (thinking) headers["X-Claude-Thinking"] = thinking;
      return { path: "/v1/chat/completions", headers, body };
    }
    if (api === "responses") {
      const input = history.map((turn) => ({ role: turn.role, content: turn.text }));
      input.push({ role: "user", content: text });
      const body = { input, stream: true, store: false };
      if (model) body.model = model;
      if (system) body.instructions = system;
      if (tools) body.tools = [{ type: "function", ...WEATHER }];
      if (thinking) headers["X-Claude-Thinking"] = thinking;
      return { path: "/v1/responses", headers, body };
    }
    const messages = history.map((turn) => ({ role: turn.role, content: turn.text }));
    messages.push({ role: "user", content: text });
    const body = { messages, stream: true, max_tokens: 4096 };
    if (model) body.model = model;
    if (system) body.system = system;
    if (tools) {
      body.tools = [{ name: WEATHER.name, description: WEATHER.description, input_schema: WEATHER.parameters }];
    }
    if (thinking) body.thinking = { type: "enabled", budget_tokens: 1024 };
    headers["anthropic-version"] = "2023-06-01";
    return { path: "/v1/messages", headers, body };
  }

  // -- the playground: reading SSE -----------------------------------------------

  async function* events(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      buffer = buffer.replace(/\r\n/g, "\n");
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (frame) yield frame;
        cut = buffer.indexOf("\n\n");
      }
    }
  }

  function parseFrame(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { event, data: data.join("\n") } : null;
  }

  class StreamError extends Error {}

  // One assistant reply on the page: its reasoning, text, tool calls and usage.
  class Reply {
    constructor(api) {
      this.api = api;
      this.started = performance.now();
      this.firstDelta = null;
      this.deltas = 0;
      this.text = "";
      this.tools = new Map();
      this.reasoning = el("div", { class: "reasoning", "data-testid": "reasoning" });
      this.answer = el("div", { class: "answer", "data-testid": "answer" });
      this.toolList = el("div", { class: "tools", "data-testid": "tool-calls" });
      this.meta = el("div", { class: "meta", "data-testid": "usage" });
      this.error = el("div", { class: "error", "data-testid": "reply-error" });
      const label = { chat: "Chat Completions", responses: "Responses", messages: "Messages" }[api];
      this.node = el(
        "div",
        { class: "bubble assistant", "data-state": "streaming", "data-testid": "reply" },
        el("div", { class: "who", text: `assistant · ${label}` }),
        this.reasoning, this.answer, this.toolList, this.meta, this.error,
      );
    }

    count() {
      this.deltas += 1;
      if (this.firstDelta === null) this.firstDelta = performance.now() - this.started;
      this.node.dataset.deltas = String(this.deltas);
    }

    addText(piece) {
      if (!piece) return;
      this.count();
      this.text += piece;
      this.answer.append(document.createTextNode(piece));
    }

    addReasoning(piece) {
      if (!piece) return;
      this.count();
      this.reasoning.append(document.createTextNode(piece));
    }

    tool(key, name) {
      let call = this.tools.get(key);
      if (!call) {
        call = { name: name || "", args: "", node: el("div", { class: "tool-call", "data-testid": "tool-call" }) };
        this.tools.set(key, call);
        this.toolList.append(call.node);
      }
      if (name) call.name = name;
      return call;
    }

    addToolArgs(key, name, piece) {
      const call = this.tool(key, name);
      call.args += piece || "";
      if (piece) this.count();
      call.node.textContent = `tool call: ${call.name}(${call.args})`;
    }

    finish(stateName, usage, stop) {
      this.node.dataset.state = stateName;
      const parts = [];
      if (usage) parts.push(usage);
      if (stop) parts.push(`stop: ${stop}`);
      parts.push(`${this.deltas} deltas`);
      if (this.firstDelta !== null) parts.push(`first token ${Math.round(this.firstDelta)} ms`);
      parts.push(`${Math.round(performance.now() - this.started)} ms`);
      this.meta.textContent = parts.join(" · ");
    }
  }

  function usageText(input, output, total) {
    if (input === undefined && output === undefined) return "";
    const sum = total !== undefined ? total : (input || 0) + (output || 0);
    return `usage: ${input ?? "?"} in + ${output ?? "?"} out = ${sum} tokens`;
  }

  // Each reader consumes one API's events into a Reply; returns [usage, stop] at the end.
  const READERS = {
    async chat(stream, reply) {
      let usage = "";
      let stop = "";
      for await (const frame of stream) {
        if (frame.data === "[DONE]") break;
        const chunk = JSON.parse(frame.data);
        if (chunk.error) throw new StreamError(chunk.error.message);
        if (chunk.usage) {
          const u = chunk.usage;
          usage = usageText(u.prompt_tokens, u.completion_tokens, u.total_tokens);
        }
        for (const choice of chunk.choices || []) {
          const delta = choice.delta || {};
          reply.addReasoning(delta.reasoning_content);
          reply.addText(delta.content);
          for (const call of delta.tool_calls || []) {
            reply.addToolArgs(call.index, call.function && call.function.name,
              call.function && call.function.arguments);
          }
          if (choice.finish_reason) stop = choice.finish_reason;
        }
      }
      return [usage, stop];
    },

    async responses(stream, reply) {
      let usage = "";
      let stop = "";
      for await (const frame of stream) {
        const event = JSON.parse(frame.data);
        switch (event.type) {
          case "response.output_text.delta":
            reply.addText(event.delta);
            break;
          case "response.reasoning_summary_text.delta":
          case "response.reasoning_text.delta":
            reply.addReasoning(event.delta);
            break;
          case "response.output_item.added":
            if (event.item.type === "function_call") reply.tool(event.item.id, event.item.name);
            break;
          case "response.function_call_arguments.delta":
            reply.addToolArgs(event.item_id, null, event.delta);
            break;
          case "response.completed":
          case "response.incomplete": {
            const u = event.response.usage;
            if (u) usage = usageText(u.input_tokens, u.output_tokens, u.total_tokens);
            stop = event.response.status;
            break;
          }
          case "response.failed":
            throw new StreamError((event.response.error || {}).message || "The response failed.");
          case "error":
            throw new StreamError(event.message || "The stream failed.");
          default:
            break;
        }
      }
      return [usage, stop];
    },

    async messages(stream, reply) {
      let input;
      let output;
      let stop = "";
      const blocks = new Map();
      for await (const frame of stream) {
        const event = JSON.parse(frame.data);
        switch (event.type) {
          case "message_start":
            input = event.message.usage.input_tokens;
            break;
          case "content_block_start": {
            const block = event.content_block;
            blocks.set(event.index, block.type);
            if (block.type === "tool_use") reply.tool(event.index, block.name);
            break;
          }
          case "content_block_delta": {
            const delta = event.delta;
            if (delta.type === "text_delta") reply.addText(delta.text);
            else if (delta.type === "thinking_delta") reply.addReasoning(delta.thinking);
            else if (delta.type === "input_json_delta") reply.addToolArgs(event.index, null, delta.partial_json);
            break;
          }
          case "message_delta":
            output = event.usage.output_tokens;
            stop = event.delta.stop_reason || stop;
            break;
          case "error":
            throw new StreamError(event.error.message);
          default:
            break;
        }
      }
      return [usageText(input, output), stop];
    },
  };

  // -- the playground: a turn -----------------------------------------------------

  function busy(running) {
    $("send").disabled = running;
    $("stop").disabled = !running;
  }

  function turnState(text) {
    $("turn-state").textContent = text;
  }

  async function send(event) {
    event.preventDefault();
    if (state.abort) return;
    const text = $("message").value.trim();
    if (!text) {
      $("message").focus();
      return;
    }
    const api = $("api").value;
    const request = buildRequest(api, {
      model: $("model").value,
      system: $("system").value.trim(),
      text,
      thinking: $("thinking").value,
      tools: $("tools").checked,
    });
    const transcript = $("transcript");
    transcript.append(el("div", { class: "bubble user" }, el("div", { class: "who", text: "you" }), el("div", { class: "answer", text })));
    const reply = new Reply(api);
    transcript.append(reply.node);
    reply.node.scrollIntoView({ block: "nearest" });
    $("message").value = "";
    const controller = new AbortController();
    state.abort = controller;
    busy(true);
    turnState("streaming…");
    try {
      const response = await fetch(request.path, {
        method: "POST",
        headers: { ...authHeaders(), ...request.headers },
        body: JSON.stringify(request.body),
        signal: controller.signal,
        cache: "no-store",
      });
      if (!response.ok) throw await errorFrom(response);
      const [usage, stop] = await READERS[api](events(response.body), reply);
      reply.finish("done", usage, stop);
      turnState("done");
      state.history.push({ api, role: "user", text }, { api, role: "assistant", text: reply.text });
    } catch (error) {
      if (error.name === "AbortError") {
        reply.finish("stopped", "", "stopped");
        turnState("stopped: the server ends the turn");
      } else {
        reply.error.textContent = error instanceof StreamError ? `The turn failed: ${error.message}` : explain(error);
        reply.finish("error", "", "");
        turnState("failed");
        if (error instanceof HttpError && error.status === 401) notice(explain(error), true);
      }
    } finally {
      state.abort = null;
      busy(false);
    }
  }

  function stop() {
    if (state.abort) state.abort.abort();
  }

  function start() {
    $("chat-form").addEventListener("submit", send);
    $("stop").addEventListener("click", stop);
    $("message").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("chat-form").requestSubmit();
    });
    $("new-chat").addEventListener("click", () => {
      state.history = [];
      $("transcript").replaceChildren();
      turnState("");
    });
  }

  start();
})();
