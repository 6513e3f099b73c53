#!/usr/bin/env node
// Checks docs/openapi.yaml, and HTTP exchanges of `zorgpad serve` against it.
//
//   npm ci --prefix tests/openapi          # once (scripts/setup-browser.sh does it)
//   node tests/openapi/check.mjs docs/openapi.yaml [EXCHANGES.jsonl]
//
// 1. The document is validated by @apidevtools/swagger-parser (OpenAPI 3.1),
//    and every schema of it must compile with Ajv (JSON Schema 2020-12).
//    An invalid document: its message on stderr, exit 1.
// 2. With an exchanges file, each line is one request and its answer, as the
//    API tests write them when $ZORGPAD_EXCHANGES names a file:
//      {"method", "path", "query": {name: value}, "status",
//       "request_content_type", "request_body", "response_content_type",
//       "response_body"}
//    (bodies parsed JSON, an NDJSON request body as a string, null when not
//    JSON). Each exchange must:
//    - have a path that matches a path of the document (a literal path wins
//      over a templated one; a {parameter} is one path segment, so
//      /api/episodes/{id} does not match /api/episodes/ep-1/events);
//    - use a method documented for that path (HEAD is checked as the GET);
//    - have a status documented for the operation (exactly, as a range such
//      as 4XX, or `default`);
//    - have a response Content-Type documented for that status; a JSON body
//      must validate against its schema (other types: the type is enough);
//    - when the status is 2xx: send only query parameters the operation
//      documents (its own and its path's, and the query token of its
//      security schemes), with values valid for them, and a request body of
//      a documented Content-Type that validates against its schema (an
//      NDJSON body: every line against the media type's `x-item-schema`).
//      An error answer may well be about an undocumented parameter or a
//      bad body, so those are not held against it.
//    A path the document does not have, or a method it does not document
//    for the path, needs no operation but must be refused: a 4xx status with
//    the error object (components/schemas/Error) as body. That is 404 and
//    405, or an error the server gives before it routes (400, 401, 403, 429,
//    ...): a POST to an unknown path without a token is 401.
//    One line per failing exchange ("METHOD path status: what is wrong"),
//    then "openapi: N exchanges checked, M failed". Exit 1 when any failed
//    or when the file holds no exchange.
// Exit 2 for a wrong command line or an unreadable exchanges file.

import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [docPath, exchangesPath] = process.argv.slice(2);
if (!docPath || process.argv.length > 4) {
  console.error("usage: node tests/openapi/check.mjs docs/openapi.yaml [EXCHANGES.jsonl]");
  process.exit(2);
}

let api;
try {
  api = await SwaggerParser.validate(docPath); // validated and dereferenced
} catch (e) {
  console.error(`openapi: ${docPath} is not a valid OpenAPI document: ${e.message}`);
  process.exit(1);
}

// discriminator: a oneOf of events reports the errors of the branch its `type` names.
const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
addFormats(ajv);
// Query values arrive as text: coerce them to the parameter's type.
const ajvQuery = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
addFormats(ajvQuery);

const compiled = new WeakMap(); // schema object -> validate function
function validator(schema, a = ajv) {
  let byAjv = compiled.get(schema);
  if (!byAjv) compiled.set(schema, (byAjv = new Map()));
  if (!byAjv.has(a)) byAjv.set(a, a.compile(schema));
  return byAjv.get(a);
}

// Every schema must compile: a typo in a keyword's value shows here, not at the first exchange.
function* schemasOf(api) {
  for (const [name, schema] of Object.entries(api.components?.schemas ?? {})) yield [`components/schemas/${name}`, schema];
  const media = function* (where, content) {
    for (const [type, m] of Object.entries(content ?? {})) {
      if (m.schema) yield [`${where} ${type}`, m.schema];
      if (m["x-item-schema"]) yield [`${where} ${type} x-item-schema`, m["x-item-schema"]];
    }
  };
  for (const [path, item] of Object.entries(api.paths ?? {}))
    for (const [method, op] of Object.entries(item)) {
      const where = `${method} ${path}`;
      if (method === "parameters") {
        for (const p of op) if (p.schema) yield [`${path} parameter ${p.name}`, p.schema];
        continue;
      }
      if (typeof op !== "object" || !op.responses) continue;
      for (const p of op.parameters ?? []) if (p.schema) yield [`${where} parameter ${p.name}`, p.schema];
      yield* media(`${where} request`, op.requestBody?.content);
      for (const [status, r] of Object.entries(op.responses)) {
        yield* media(`${where} ${status}`, r.content);
        for (const [h, header] of Object.entries(r.headers ?? {}))
          if (header.schema) yield [`${where} ${status} header ${h}`, header.schema];
      }
    }
}
try {
  for (const [where, schema] of schemasOf(api)) {
    try {
      validator(schema);
    } catch (e) {
      throw new Error(`${where}: ${e.message}`);
    }
  }
} catch (e) {
  console.error(`openapi: ${docPath}: a schema does not compile: ${e.message}`);
  process.exit(1);
}

if (!exchangesPath) {
  console.log(`openapi: ${docPath} is valid (${Object.keys(api.paths ?? {}).length} paths)`);
  process.exit(0);
}

// ---- paths ----------------------------------------------------------------------------

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const routes = Object.entries(api.paths ?? {}).map(([template, item]) => {
  const params = (template.match(/\{[^}]+\}/g) ?? []).length;
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return { template, item, params, literal: template.replace(/\{[^}]+\}/g, "").length, re: new RegExp(`^${pattern}$`) };
});
// OpenAPI: a literal path wins over a templated one of the same shape.
routes.sort((a, b) => a.params - b.params || b.literal - a.literal);

function findRoute(path) {
  return routes.find((r) => r.re.test(path));
}

// ---- helpers --------------------------------------------------------------------------

const mediaType = (ct) => (typeof ct === "string" ? ct.split(";")[0].trim().toLowerCase() : null);
const isJson = (mt) => mt === "application/json" || /\+json$/.test(mt ?? "");

function findMedia(content, mt) {
  for (const [key, media] of Object.entries(content ?? {})) if (mediaType(key) === mt) return media;
  return undefined;
}

function describeErrors(errors) {
  // The deepest errors say the most; a oneOf adds one line per branch, so keep a few.
  const lines = [];
  const sorted = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length);
  for (const e of sorted) {
    let what = e.message;
    if (e.keyword === "enum") what += ` (${e.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")})`;
    if (e.keyword === "additionalProperties") what = `has unknown property '${e.params.additionalProperty}'`;
    if (e.keyword === "unevaluatedProperties") what = `has unknown property '${e.params.unevaluatedProperty}'`;
    if (e.keyword === "const") what += ` ${JSON.stringify(e.params.allowedValue)}`;
    if (e.keyword === "discriminator") what = `${e.params.tag} ${JSON.stringify(e.params.tagValue)} matches none of the schemas`;
    const line = `${e.instancePath || "(root)"} ${what}`;
    if (!lines.includes(line)) lines.push(line);
    if (lines.length === 3) break;
  }
  return lines.join(", ");
}

function validate(schema, data, a = ajv) {
  const v = validator(schema, a);
  return v(data) ? null : describeErrors(v.errors ?? []);
}

const errorSchema = api.components?.schemas?.Error;
const queryWrappers = new WeakMap(); // parameter object -> the schema its value is checked with

function checkErrorBody(ex, problems) {
  if (mediaType(ex.response_content_type) !== "application/json") {
    problems.push(`Content-Type ${ex.response_content_type ?? "(none)"} is not application/json`);
  } else if (errorSchema) {
    const bad = validate(errorSchema, ex.response_body);
    if (bad) problems.push(`the error body does not match Error: ${bad}`);
  }
}

function securityQueryNames(op) {
  const names = new Set();
  for (const requirement of op.security ?? api.security ?? [])
    for (const scheme of Object.keys(requirement)) {
      const s = api.components?.securitySchemes?.[scheme];
      if (s?.type === "apiKey" && s.in === "query") names.add(s.name);
    }
  return names;
}

// ---- one exchange -------------------------------------------------------------------------

function check(ex) {
  const problems = [];
  const method = String(ex.method ?? "").toUpperCase();
  let path = String(ex.path ?? "");
  const query = { ...(ex.query ?? {}) };
  if (path.includes("?")) {
    // Tolerate a query left in the path.
    const [p, q] = path.split(/\?(.*)/s);
    path = p;
    for (const [k, v] of new URLSearchParams(q)) query[k] = v;
  }
  const status = ex.status;
  if (!Number.isInteger(status)) return ["no integer status"];

  const route = findRoute(path);
  if (!route) {
    if (status >= 400 && status < 500) checkErrorBody(ex, problems);
    else problems.push(`no path of the document matches, and the status ${status} is not an error`);
    return problems;
  }
  const item = route.item;
  const head = method === "HEAD";
  const op = item[method.toLowerCase()] ?? (head ? item.get : undefined);
  if (!METHODS.includes(method.toLowerCase()) || !op) {
    if (status >= 400 && status < 500) checkErrorBody(ex, problems);
    else problems.push(`method ${method} is not documented for ${route.template}, and the status ${status} is not an error`);
    return problems;
  }
  const where = `${method.toLowerCase()} ${route.template}`;
  const success = status >= 200 && status < 300;

  // Query parameters: the operation's own win over the path's of the same name.
  const params = new Map();
  for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) if (p.in === "query") params.set(p.name, p);
  if (success) {
    const tokenNames = securityQueryNames(op);
    for (const [name, value] of Object.entries(query)) {
      const p = params.get(name);
      if (!p) {
        if (!tokenNames.has(name)) problems.push(`query parameter '${name}' is not documented for ${where}`);
        continue;
      }
      if (p.schema) {
        // Wrapped in an object, where Ajv can coerce the text to the parameter's type.
        if (!queryWrappers.has(p)) queryWrappers.set(p, { type: "object", properties: { [name]: p.schema } });
        const bad = validate(queryWrappers.get(p), { [name]: value }, ajvQuery);
        if (bad) problems.push(`query parameter '${name}'=${JSON.stringify(value)}: ${bad}`);
      }
    }
  }

  // The response.
  const responses = op.responses ?? {};
  const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  if (!response) {
    problems.push(`status ${status} is not documented for ${where} (${Object.keys(responses).join(", ")})`);
  } else if (response.content && Object.keys(response.content).length) {
    const mt = mediaType(ex.response_content_type);
    const media = mt && findMedia(response.content, mt);
    if (!mt) {
      if (!head) problems.push("the answer has no Content-Type");
    } else if (!media) {
      problems.push(`response Content-Type ${mt} is not documented (${Object.keys(response.content).join(", ")})`);
    } else if (isJson(mt) && !head) {
      if (ex.response_body === null || ex.response_body === undefined) problems.push("the answer is not JSON");
      else if (media.schema) {
        const bad = validate(media.schema, ex.response_body);
        if (bad) problems.push(`response body: ${bad}`);
      }
    }
  }

  // The request body, for answers that accepted it.
  if (success && op.requestBody) {
    const content = op.requestBody.content ?? {};
    const sent = ex.request_body;
    let mt = mediaType(ex.request_content_type);
    if (!mt) mt = findMedia(content, "application/json") ? "application/json" : mediaType(Object.keys(content)[0]);
    const media = findMedia(content, mt);
    if (sent === null || sent === undefined) {
      if (op.requestBody.required) problems.push("the request has no body, but the document requires one");
    } else if (!media) {
      problems.push(`request Content-Type ${mt} is not documented (${Object.keys(content).join(", ")})`);
    } else {
      if (media.schema) {
        const bad = validate(media.schema, sent);
        if (bad) problems.push(`request body: ${bad}`);
      }
      const itemSchema = media["x-item-schema"];
      if (itemSchema && typeof sent === "string") {
        sent.split("\n").forEach((line, i) => {
          if (!line.trim()) return;
          let value;
          try {
            value = JSON.parse(line);
          } catch {
            problems.push(`request line ${i + 1}: not JSON`);
            return;
          }
          const bad = validate(itemSchema, value);
          if (bad) problems.push(`request line ${i + 1}: ${bad}`);
        });
      }
    }
  }
  return problems;
}

// ---- the file -------------------------------------------------------------------------------

let text;
try {
  text = readFileSync(exchangesPath, "utf8");
} catch (e) {
  console.error(`openapi: cannot read ${exchangesPath}: ${e.message}`);
  process.exit(2);
}

let checked = 0;
let failed = 0;
text.split("\n").forEach((line, i) => {
  if (!line.trim()) return;
  checked++;
  let ex;
  try {
    ex = JSON.parse(line);
  } catch (e) {
    failed++;
    console.log(`line ${i + 1}: not JSON: ${e.message}`);
    return;
  }
  const problems = check(ex);
  if (problems.length) {
    failed++;
    console.log(`${String(ex.method).toUpperCase()} ${ex.path} ${ex.status}: ${problems.join("; ")}`);
  }
});

if (checked === 0) console.log(`openapi: ${exchangesPath} holds no exchange`);
console.log(`openapi: ${checked} exchanges checked, ${failed} failed`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
