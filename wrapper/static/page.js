// Shared by the landing page's scripts: the API key (in sessionStorage only), fetching
// from this server with it, error messages a person can act on, and DOM helpers.
"use strict";

window.claudeWrapper = (() => {
  const KEY_STORAGE = "claude-wrapper.api-key";
  const ORIGIN = window.location.origin;
  const $ = (id) => document.getElementById(id);

  const state = {
    key: sessionStorage.getItem(KEY_STORAGE) || "",
  };

  function setKey(key) {
    state.key = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  }

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


  return { $, ORIGIN, state, HttpError, authHeaders, errorFrom, getJSON, explain, notice, el, fill, setKey };
})();
