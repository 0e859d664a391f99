// The landing page: live status, the API key form, and the endpoint list with snippets.
"use strict";

(() => {
  const { $, ORIGIN, state, HttpError, authHeaders, errorFrom, getJSON, explain, notice, el, fill } = window.claudeWrapper;
  const REFRESH_MS = 15000;
  let timer = null;

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
    rows.push(["client keys", required ? `${status.server_info.client_keys}` : "none (open)",
      required ? "good" : "warn"]);
    rows.push(["you are", status.caller]);
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

  const WINDOW_TONE = { allowed: "good", warning: "warn", rejected: "bad" };

  function ago(seconds) {
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
  }

  function showQuota(usage) {
    const plan = usage.plan;
    const rows = [];
    if (!plan.windows.length) {
      rows.push(
        ["known", "not yet", "warn"],
        ["why", "Claude reports its usage windows to a subscription login, once a turn has run."],
      );
    }
    for (const w of plan.windows) {
      const used = w.utilization === null ? "" : ` · ${Math.round(w.utilization * 100)}% used`;
      const reset = w.resets_in_s === null ? "" : ` · resets in ${ago(w.resets_in_s)}`;
      const name = w.window === plan.closest ? `${w.window} (closest)` : w.window;
      rows.push([name, `${w.status}${used}${reset} · seen ${ago(w.age_s)} ago`,
        WINDOW_TONE[w.status]]);
    }
    for (const key of usage.keys) {
      const spent = key.today;
      rows.push([`key ${key.name} today`,
        `${spent.requests} requests · ${spent.input_tokens + spent.output_tokens} tokens`
        + ` · $${spent.cost_usd.toFixed(4)}`]);
    }
    fill($("quota"), rows);
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
      const [auth, pool, stats, sessions, usage] = await Promise.all([
        getJSON("/v1/auth/status"),
        getJSON("/v1/pool/status"),
        getJSON("/v1/sessions/stats"),
        getJSON("/v1/sessions"),
        getJSON("/v1/usage"),
      ]);
      showAuth(auth);
      showPool(pool);
      showQuota(usage);
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
    clearInterval(timer);
    timer = setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
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

  // -- the API key ----------------------------------------------------------------

  function useKey(key) {
    window.claudeWrapper.setKey(key);
    $("key-state").textContent = key
      ? "Key set for this tab (session storage)."
      : "No key: kept only in this tab when set.";
    modelsLoaded = false;
    refresh();
  }

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
      useKey($("api-key").value.trim());
    });
    $("forget-key").addEventListener("click", () => {
      $("api-key").value = "";
      useKey("");
    });
    $("refresh").addEventListener("click", refresh);
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
