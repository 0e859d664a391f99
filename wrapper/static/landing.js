// The landing page: live status, the endpoint list with snippets, and the playground.
// Everything is fetched from this server; the API key lives only in sessionStorage.
"use strict";

(() => {
  const KEY_STORAGE = "claude-wrapper.api-key";
  const REFRESH_MS = 15000;
  const ORIGIN = window.location.origin;
  const $ = (id) => document.getElementById(id);

  const state = {
    key: sessionStorage.getItem(KEY_STORAGE) || "",
    abort: null,
    history: [],
    timer: null,
  };

  // -- HTTP -----------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function authHeaders() {
    return state.key ? { Authorization: `Bearer ${state.key}` } : {};
  }

  async function errorFrom(response) {
    let message = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) {
      // not JSON: keep the status line
    }
    return new HttpError(response.status, message, response.headers.get("retry-after"));
  }

  async function getJSON(path) {
    const response = await fetch(path, { headers: authHeaders(), cache: "no-store" });
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }

  function explain(error) {
    if (error instanceof HttpError) {
      if (error.status === 401) {
        return state.key
          ? "The server refused this API key (401). Check the key and type it again above."
          : "This server needs its API key (401). Type it in the API key field above; "
            + "it is kept only in this tab's session storage.";
      }
      if (error.status === 429) {
        const wait = error.retryAfter ? ` Retry in ${error.retryAfter} s.` : "";
        return `Rate limited (429): ${error.message}${wait}`;
      }
      return `${error.message} (HTTP ${error.status})`;
    }
    if (error instanceof TypeError) return "The server could not be reached.";
    return String(error.message || error);
  }

  function notice(text, isError) {
    const box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
    box.classList.toggle("error", Boolean(isError));
  }

  // -- small DOM helpers ----------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(list, rows) {
    list.replaceChildren();
    for (const [label, value, tone] of rows) {
      const shown = value === null || value === undefined || value === "" ? "—" : String(value);
      list.append(el("dt", { text: label }), el("dd", { text: shown, class: tone || "" }));
    }
  }

  function yesNo(value) {
    if (value === null || value === undefined) return ["not checked yet", "warn"];
    return value ? ["yes", "good"] : ["no", "bad"];
  }

  // -- status cards ---------------------------------------------------------------

  async function loadVersion() {
    try {
      const v = await getJSON("/version");
      $("version").textContent = `v${v.version} · SDK ${v.sdk_version} · CLI ${v.cli_version}`;
    } catch (error) {
      $("version").textContent = explain(error);
    }
  }

  function showAuth(status) {
    const auth = status.claude_code_auth;
    const rows = [
      ["method", auth.method],
      ["source", auth.source],
      ["configured", ...yesNo(auth.configured)],
    ];
    if (auth.method === "cli") {
      const cli = status.cli_health;
      rows.push(["CLI logged in", ...yesNo(cli ? cli.ok : null)]);
      if (cli && cli.error_message) rows.push(["login problem", cli.error_message, "bad"]);
    }
    if (auth.problems.length) rows.push(["problems", auth.problems.join("; "), "bad"]);
    const required = status.server_info.api_key_required;
    rows.push(["API_KEY set", required ? "yes" : "no (open)", required ? "good" : "warn"]);
    fill($("auth"), rows);
  }

  function showPool(pool) {
    const rows = [["pool", pool.enabled ? "warm processes" : "a process per turn"]];
    for (const [name, count] of Object.entries(pool.processes)) rows.push([name, count]);
    rows.push(
      ["turns running", `${pool.turns_running} of ${pool.max_concurrent_turns}`],
      ["turns waiting", `${pool.turns_waiting} of ${pool.max_queued_turns}`],
      ["turns rejected", pool.turns_rejected],
    );
    fill($("pool"), rows);
    const b = pool.circuit_breaker;
    const tone = b.state === "closed" ? "good" : b.state === "open" ? "bad" : "warn";
    fill($("breaker"), [
      ["enabled", b.enabled ? "yes" : "no"],
      ["state", b.state, tone],
      ["failures", `${b.failures_in_window} of ${b.requests_in_window} in ${b.window_seconds} s`],
      ["opens at", `${Math.round(b.threshold * 100)}% of ≥ ${b.min_requests} requests`],
      ["times opened", b.times_opened],
      ["rejected", b.rejected],
      ["retry after", b.retry_after_seconds === null ? "" : `${b.retry_after_seconds} s`],
    ]);
  }

  function showQuota() {
    fill($("quota"), [
      ["known", "no", "warn"],
      ["why", "Claude reports its quota windows only to a subscription login, and this "
        + "server does not record them."],
    ]);
  }

  function showModels(list, status) {
    const ids = list.data.map((m) => m.id);
    fill($("models"), [
      ["served", ids.length],
      ["default", status.default_model],
      ["source", status.source],
      ["list", ids.slice(0, 6).join(", ") + (ids.length > 6 ? ", …" : "")],
    ]);
    const select = $("model");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: `server default (${status.default_model})` }));
    for (const id of ids) select.append(el("option", { value: id, text: id }));
    if (ids.includes(chosen)) select.value = chosen;
  }

  function showSessions(stats, list) {
    const counts = stats.session_stats;
    const recent = list.sessions.slice(0, 3).map((s) => `${s.session_id} (${s.turn_count} turns)`);
    fill($("sessions"), [
      ["active", counts.active_sessions],
      ["busy", counts.busy_sessions],
      ["turns", counts.total_turns],
      ["store", stats.store],
      ["ttl", `${stats.ttl_seconds} s`],
      ["recent", recent.join(", ")],
    ]);
  }

  function blank(message) {
    for (const id of ["auth", "pool", "breaker", "quota", "models", "sessions"]) {
      fill($(id), [["", message, "warn"]]);
    }
  }

  let modelsLoaded = false;

  async function refresh() {
    try {
      const [auth, pool, stats, sessions] = await Promise.all([
        getJSON("/v1/auth/status"),
        getJSON("/v1/pool/status"),
        getJSON("/v1/sessions/stats"),
        getJSON("/v1/sessions"),
      ]);
      showAuth(auth);
      showPool(pool);
      showQuota();
      showSessions(stats, sessions);
      if (!modelsLoaded) {
        const [list, status] = await Promise.all([
          getJSON("/v1/models"),
          getJSON("/v1/models/status"),
        ]);
        showModels(list, status);
        modelsLoaded = true;
      }
      notice("");
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      const text = explain(error);
      notice(text, true);
      if (error instanceof HttpError && error.status === 401) blank("needs the API key");
    }
  }

  function schedule() {
    clearInterval(state.timer);
    state.timer = setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
  }

  // -- the API key ----------------------------------------------------------------

  function setKey(key) {
    state.key = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    $("key-state").textContent = key
      ? "Key set for this tab (session storage)."
      : "No key: kept only in this tab when set.";
    modelsLoaded = false;
    refresh();
  }

  // -- endpoints and snippets -----------------------------------------------------

  const PYTHON = {
    chat: (body) => [
      "import os",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url="${ORIGIN}/v1", api_key=os.environ.get("API_KEY", "none"))`,
      "stream = client.chat.completions.create(",
      `    model="${body.model}",`,
      `    messages=[{"role": "user", "content": "Hello!"}],`,
      "    stream=True,",
      ")",
      "for chunk in stream:",
      "    if chunk.choices and chunk.choices[0].delta.content:",
      `        print(chunk.choices[0].delta.content, end="", flush=True)`,
    ],
    responses: (body) => [
      "import os",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url="${ORIGIN}/v1", api_key=os.environ.get("API_KEY", "none"))`,
      `response = client.responses.create(model="${body.model}", input="Hello!")`,
      "print(response.output_text)",
    ],
    messages: (body) => [
      "import os",
      "import anthropic",
      "",
      `client = anthropic.Anthropic(base_url="${ORIGIN}", api_key=os.environ.get("API_KEY", "none"))`,
      "with client.messages.stream(",
      `    model="${body.model}",`,
      "    max_tokens=1024,",
      `    messages=[{"role": "user", "content": "Hello!"}],`,
      ") as stream:",
      "    for text in stream.text_stream:",
      `        print(text, end="", flush=True)`,
    ],
  };

  function pathExample(path) {
    return path.replace(/\{([a-z_]+)\}/g, (_, name) => name.toUpperCase());
  }

  function curlSnippet(method, path, operation) {
    const url = `${ORIGIN}${pathExample(path)}`;
    const lines = [];
    const example = operation.requestBody
      ? operation.requestBody.content["application/json"].example
      : undefined;
    const streams = operation.responses["200"].content
      && operation.responses["200"].content["text/event-stream"];
    const head = method === "get" ? "curl" : `curl -X ${method.toUpperCase()}`;
    lines.push(`${streams ? "curl -N" : head} ${url}`);
    if (operation.security.length) lines.push(`  -H "Authorization: Bearer $API_KEY"`);
    if (example !== undefined) {
      const body = streams ? { ...example, stream: true } : example;
      lines.push(`  -H "Content-Type: application/json"`);
      lines.push(`  -d '${JSON.stringify(body)}'`);
    }
    return lines.join(" \\\n");
  }

  function pythonSnippet(method, path, operation) {
    const example = operation.requestBody
      ? operation.requestBody.content["application/json"].example
      : undefined;
    const client = PYTHON[operation.operationId];
    if (client && example) return client(example).join("\n");
    const lines = ["import os", "import httpx", ""];
    const headers = operation.security.length
      ? `, headers={"Authorization": f"Bearer {os.environ['API_KEY']}"}`
      : "";
    const body = example !== undefined ? `, json=${JSON.stringify(example)}` : "";
    lines.push(`response = httpx.${method}("${ORIGIN}${pathExample(path)}"${body}${headers})`);
    const media = operation.responses["200"].content || {};
    lines.push("application/json" in media ? "print(response.json())" : "print(response.text)");
    return lines.join("\n");
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = el("textarea", {});
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }

  function snippet(title, text) {
    const button = el("button", { type: "button", class: "copy secondary", text: "Copy" });
    button.addEventListener("click", () => copy(text, button));
    return el("div", { class: "snippet" }, el("h4", { text: title }), el("pre", {}, el("code", { text })), button);
  }

  async function loadEndpoints() {
    const list = $("endpoint-list");
    try {
      const response = await fetch("/openapi.json", { cache: "no-store" });
      if (!response.ok) throw await errorFrom(response);
      const document_ = await response.json();
      list.replaceChildren();
      for (const [path, item] of Object.entries(document_.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          if (method === "head") continue;
          const summary = el(
            "summary",
            {},
            el("span", { class: `method ${method}`, text: method.toUpperCase() }),
            el("span", { class: "path", text: path }),
            el("span", { text: operation.summary }),
            el("span", { class: "badge", text: operation.security.length ? "key" : "public" }),
          );
          const snippets = el(
            "div",
            { class: "snippets" },
            snippet("curl", curlSnippet(method, path, operation)),
            snippet("Python", pythonSnippet(method, path, operation)),
          );
          list.append(el("details", { class: "endpoint", "data-path": path }, summary, snippets));
        }
      }
    } catch (error) {
      list.textContent = explain(error);
    }
  }

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

  // -- start ----------------------------------------------------------------------

  function start() {
    for (const node of document.querySelectorAll(".origin")) {
      node.textContent = ORIGIN + (node.dataset.suffix || "");
    }
    $("api-key").value = state.key;
    $("key-state").textContent = state.key
      ? "Key set for this tab (session storage)."
      : "Kept only in this tab (session storage).";
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      setKey($("api-key").value.trim());
    });
    $("forget-key").addEventListener("click", () => {
      $("api-key").value = "";
      setKey("");
    });
    $("refresh").addEventListener("click", refresh);
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
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") refresh();
    });
    loadVersion();
    loadEndpoints();
    refresh();
    schedule();
  }

  start();
})();
