#!/usr/bin/env node
// Parses calendar objects (.ics files) with ical.js (npm `ical.js`, Mozilla's
// parser) and prints one JSON line per file: the UID, SUMMARY, STATUS and DUE
// of each VTODO, and the UID of each VEVENT. Exit 1 when a file does not
// parse or holds no VTODO; 2 on bad usage. Used by tests/cli/calendar_caldav.py.
'use strict';
const fs = require('fs');
const path = require('path');
const ICAL = require(path.join(__dirname, 'node_modules', 'ical.js', 'dist', 'ical.es5.cjs'));

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node parse.cjs FILE.ics...');
  process.exit(2);
}
let ok = true;
for (const file of files) {
  try {
    const root = new ICAL.Component(ICAL.parse(fs.readFileSync(file, 'utf8')));
    const todos = root.getAllSubcomponents('vtodo').map((c) => ({
      uid: c.getFirstPropertyValue('uid'),
      summary: c.getFirstPropertyValue('summary'),
      status: c.getFirstPropertyValue('status'),
      due: String(c.getFirstPropertyValue('due')),
    }));
    const events = root.getAllSubcomponents('vevent').map((c) => ({ uid: c.getFirstPropertyValue('uid') }));
    if (todos.length === 0) ok = false;
    console.log(JSON.stringify({ file, ok: todos.length > 0, todos, events }));
  } catch (e) {
    ok = false;
    console.log(JSON.stringify({ file, ok: false, error: String(e.message || e) }));
  }
}
process.exitCode = ok ? 0 : 1;
