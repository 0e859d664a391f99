// The API reference: renders this server's /openapi.json (operations by tag, their
// parameters, bodies, responses, SSE events and schemas), with no outside resources.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_DEPTH = 6;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function refName(ref) {
    return ref.split("/").pop();
  }

  // Same-named types of two dialects are qualified by module: show the module's name only.
  function shortName(ref) {
    return refName(ref).split(".").slice(-2).join(".");
  }

  function resolve(spec, schema) {
    if (schema && schema.$ref) return spec.components.schemas[refName(schema.$ref)] || {};
    return schema || {};
  }

  function typeLabel(spec, schema) {
    if (!schema) return "any";
    if (schema.$ref) return shortName(schema.$ref);
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    const union = schema.anyOf || schema.oneOf;
    if (union) return union.map((s) => typeLabel(spec, s)).join(" | ");
    if (schema.type === "array") return `${typeLabel(spec, schema.items)}[]`;
    if (Array.isArray(schema.type)) return schema.type.join(" | ");
    if (schema.type === "object" && schema.additionalProperties && !schema.properties) {
      return `map of ${typeLabel(spec, schema.additionalProperties)}`;
    }
    return schema.type || "any";
  }

  // The structured children of a schema: properties, or the members of a union.
  function expandable(spec, schema, depth) {
    if (depth >= MAX_DEPTH) return null;
    const target = resolve(spec, schema);
    const items = target.type === "array" ? resolve(spec, target.items) : target;
    if (items.properties) return propertiesOf(spec, items, depth + 1);
    const union = items.anyOf || items.oneOf;
    if (union && union.some((s) => s.$ref)) {
      const box = el("div", { class: "schema" });
      for (const member of union) box.append(schemaNode(spec, typeLabel(spec, member), member, depth + 1));
      return box;
    }
    return null;
  }

  function propertiesOf(spec, schema, depth) {
    const box = el("div", { class: "schema" });
    const required = new Set(schema.required || []);
    for (const [name, prop] of Object.entries(schema.properties)) {
      const line = el(
        "span",
        { class: "prop" },
        el("span", { class: "name", text: name }),
        ": ",
        el("span", { class: "type", text: typeLabel(spec, prop) }),
        required.has(name) ? el("span", { class: "req", text: " required" }) : null,
        prop.description ? el("span", { class: "desc", text: ` — ${prop.description}` }) : null,
      );
      const inner = expandable(spec, prop, depth);
      box.append(inner ? el("details", { class: "prop" }, el("summary", {}, line), inner) : el("div", {}, line));
    }
    return box;
  }

  function schemaNode(spec, label, schema, depth) {
    const inner = expandable(spec, schema, depth || 0);
    const title = el("span", { class: "type", text: label });
    if (!inner) return el("div", { class: "schema" }, title);
    return el("details", { class: "schema" }, el("summary", {}, title), inner);
  }

  function responseNode(spec, status, answer) {
    const resolved = answer.$ref ? spec.components.responses[refName(answer.$ref)] : answer;
    const box = el("div", {}, el("span", { class: "status", text: status }), resolved.description || "");
    for (const [media, body] of Object.entries(resolved.content || {})) {
      box.append(el("div", { class: "muted", text: media }));
      box.append(schemaNode(spec, typeLabel(spec, body.schema), body.schema, 0));
      if (body["x-sse-events"]) {
        box.append(el("div", { class: "events", text: `events: ${body["x-sse-events"].join(", ")}` }));
      }
      if (body["x-sse-terminator"]) {
        box.append(el("div", { class: "events", text: `ends with data: ${body["x-sse-terminator"]}` }));
      }
    }
    return box;
  }

  function operationNode(spec, path, method, op) {
    const anchor = `${method}-${path}`.replace(/[^a-z0-9]+/gi, "-");
    const summary = el(
      "summary",
      {},
      el("span", { class: `method ${method}`, text: method.toUpperCase() }),
      el("span", { class: "path", text: path }),
      el("span", { text: op.summary }),
      el("span", { class: "badge", text: op.security.length ? "API key" : "public" }),
    );
    const body = el("div", {});
    if (op.description) body.append(el("p", { text: op.description }));
    if (op.parameters) {
      body.append(el("h4", { text: "Parameters" }));
      for (const param of op.parameters) {
        body.append(el("div", { class: "prop" },
          el("span", { class: "name", text: param.name }), ` (${param.in})`,
          param.description ? el("span", { class: "desc", text: ` — ${param.description}` }) : null));
      }
    }
    if (op.requestBody) {
      const media = op.requestBody.content["application/json"];
      body.append(el("h4", { text: "Request body" }));
      body.append(schemaNode(spec, typeLabel(spec, media.schema), media.schema, 0));
      if (media.example) body.append(el("pre", {}, el("code", { text: JSON.stringify(media.example, null, 2) })));
    }
    body.append(el("h4", { text: "Responses" }));
    for (const [status, answer] of Object.entries(op.responses)) body.append(responseNode(spec, status, answer));
    return el("details", { class: "operation", id: anchor, "data-operation": op.operationId }, summary, body);
  }

  async function start() {
    const operations = $("operations");
    let spec;
    try {
      const response = await fetch("/openapi.json", { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      spec = await response.json();
    } catch (error) {
      operations.textContent = `Could not load /openapi.json: ${error.message}`;
      return;
    }
    $("doc-version").textContent = `${spec.info.title} ${spec.info.version} · OpenAPI ${spec.openapi}`;
    $("doc-description").textContent = spec.info.description || "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === "head") continue;
        const tag = (op.tags || ["Other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, method, op]);
      }
    }
    operations.replaceChildren();
    const toc = $("toc");
    for (const [tag, entries] of byTag) {
      operations.append(el("h2", { class: "tag-title", text: tag }));
      toc.append(el("h3", { text: tag }));
      for (const [path, method, op] of entries) {
        const node = operationNode(spec, path, method, op);
        operations.append(node);
        const link = el("a", { href: `#${node.id}`, text: `${method.toUpperCase()} ${path}` });
        link.addEventListener("click", () => { node.open = true; });
        toc.append(link);
      }
    }
  }

  start();
})();
