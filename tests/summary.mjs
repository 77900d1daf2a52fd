// The summary of `./build.sh test`: every stage's counts and time, then the name and the
// first lines of every failure, then one line `N passed, N failed, N skipped` that CI reads.
//
//   node tests/summary.mjs DIR         the summary of the run whose records are in DIR
//   node tests/summary.mjs --go-stream reads `go test -json` on stdin and prints what plain
//                                      `go test` would: package results and failed tests' output
//
// build.sh writes DIR/steps.tsv, one line per step: stage, step name, kind, results file, exit
// status, milliseconds; and DIR/stages.tsv, one line per stage: stage, ran or skipped,
// milliseconds, note. A step's kind says how to read its results file: `tap` (node --test's
// TAP reporter), `gojson` (go test -json) or `cmd` (a check whose output is the results file,
// passing as one test when it exits 0). A step that exits non-zero without a failure in its
// results (a crash, a timeout, a file that did not load) counts as one failure of its own.
import { readFileSync, existsSync } from 'node:fs';
import { relative } from 'node:path';
import { createInterface } from 'node:readline';

const FIRST_LINES = 8; // lines of each failure's message in the summary

if (process.argv[2] === '--go-stream') {
  await goStream();
} else if (process.argv[2]) {
  process.exitCode = summarize(process.argv[2]);
} else {
  console.error('usage: node tests/summary.mjs DIR | --go-stream');
  process.exitCode = 2;
}

/** Prints the summary of the run recorded in dir; returns the exit status (1 if anything failed). */
function summarize(dir) {
  const steps = readTSV(`${dir}/steps.tsv`).map(([stage, name, kind, file, status, ms]) => ({
    stage, name, kind, file, status: Number(status), ms: Number(ms),
  }));
  const stages = readTSV(`${dir}/stages.tsv`).map(([stage, state, ms, note]) => ({ stage, state, ms: Number(ms), note }));

  const total = { passed: 0, failed: 0, skipped: 0 };
  const failures = [];
  const rows = [];
  for (const stage of stages) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const stageSteps = steps.filter((s) => s.stage === stage.stage);
    const stepRows = [];
    for (const step of stageSteps) {
      const result = readStep(step);
      for (const k of Object.keys(counts)) counts[k] += result[k];
      for (const f of result.failures) failures.push({ where: `${stage.stage}: ${step.name}`, ...f });
      stepRows.push([`  ${step.name}`, result.passed, result.failed, result.skipped, duration(step.ms), '']);
    }
    for (const k of Object.keys(total)) total[k] += counts[k];
    if (stage.state === 'skipped') {
      rows.push([stage.stage, '-', '-', '-', '-', `skipped: ${stage.note}`]);
    } else {
      rows.push([stage.stage, counts.passed, counts.failed, counts.skipped, duration(stage.ms), stage.note]);
      if (stepRows.length > 1) rows.push(...stepRows);
    }
  }
  const totalMs = stages.reduce((sum, s) => sum + (s.state === 'skipped' ? 0 : s.ms), 0);
  rows.push(['all', total.passed, total.failed, total.skipped, duration(totalMs), '']);

  const out = [];
  out.push('', '==> summary', table([['stage', 'passed', 'failed', 'skipped', 'time', ''], ...rows]));
  if (failures.length > 0) {
    out.push('', `${failures.length} ${failures.length === 1 ? 'failure' : 'failures'}:`);
    for (const f of failures) {
      out.push(`- ${f.where}: ${f.name}`);
      for (const line of f.lines.slice(0, FIRST_LINES)) out.push(`    ${line}`);
      if (f.lines.length > FIRST_LINES) out.push(`    (${f.lines.length - FIRST_LINES} more lines in the output above)`);
    }
  }
  out.push('', `${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  console.log(out.join('\n'));
  return total.failed > 0 ? 1 : 0;
}

function readTSV(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** The counts and failures of one step. */
function readStep(step) {
  const text = existsSync(step.file) ? readFileSync(step.file, 'utf8') : '';
  let result;
  if (step.kind === 'tap') result = readTAP(text);
  else if (step.kind === 'gojson') result = readGoJSON(text);
  else result = step.status === 0 ? { passed: 1, failed: 0, skipped: 0, failures: [] } : { passed: 0, failed: 0, skipped: 0, failures: [] };
  if (step.status !== 0 && result.failed === 0) {
    // Nothing in the results says what failed: the command itself did (a check, a crash, a
    // build error, a runner that stopped early). Its output is what there is to show.
    const out = existsSync(`${step.file}.out`) ? readFileSync(`${step.file}.out`, 'utf8') : text;
    result.failed += 1;
    result.failures.push({ name: `exited with status ${step.status}`, lines: lastLines(out, FIRST_LINES) });
  }
  return result;
}

function lastLines(text, n) {
  const lines = text.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return lines.slice(-n);
}

/**
 * Reads node --test's TAP: every test line (`ok`/`not ok`) with its indentation, its YAML
 * block and whether it has subtests. Counted are the tests without subtests, and a test with
 * subtests only when it failed for a reason of its own (not "subtestsFailed"); suites never.
 */
function readTAP(text) {
  const lines = text.split('\n');
  const entries = [];
  const stack = []; // open entries by indentation, to name failures "parent > child"
  for (let i = 0; i < lines.length; i++) {
    const m = /^( *)(not ok|ok) \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length;
    let name = m[3];
    const directive = /\s#\s*(SKIP|TODO)\b/i.exec(name);
    if (directive) name = name.slice(0, directive.index);
    const yaml = {};
    const blockLines = [];
    if (lines[i + 1]?.trim() === '---') {
      let j = i + 2;
      for (; j < lines.length && lines[j].trim() !== '...'; j++) blockLines.push(lines[j].slice(indent + 2));
      i = j;
    }
    parseYAMLish(blockLines, yaml);
    entries.push({ indent, ok: m[2] === 'ok', name: unescapeTAP(name), directive: directive?.[1].toUpperCase(), yaml });
  }
  // Subtests are printed before their parent's line, one level (4 spaces) deeper.
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const pending = []; // entries waiting for their parent
  for (const e of entries) {
    const children = [];
    while (pending.length && pending[pending.length - 1].indent > e.indent) children.unshift(pending.pop());
    e.children = children;
    pending.push(e);
  }
  const visit = (e, path) => {
    const full = [...path, e.name];
    for (const c of e.children) visit(c, full);
    const suite = e.yaml.type === 'suite';
    if (e.directive === 'SKIP' || e.directive === 'TODO') {
      if (!suite) counts.skipped++;
      return;
    }
    if (e.ok) {
      if (e.children.length === 0 && !suite) counts.passed++;
      return;
    }
    if (e.yaml.failureType === 'subtestsFailed') return;
    counts.failed++;
    const file = fileOf(e.yaml.location) ?? fileOf(e.children[0]?.yaml.location);
    const parts = full.filter((n, k) => !(k === 0 && isPath(n)));
    const name = parts.length ? parts.join(' > ') : 'the file as a whole';
    const where = file ? `${file}: ` : '';
    const lines = [];
    if (e.yaml.failureType && e.yaml.failureType !== 'testCodeFailure') lines.push(`(${e.yaml.failureType})`);
    lines.push(...String(e.yaml.error ?? '').split('\n').filter((l) => l.trim() !== ''));
    if (e.yaml.exitCode !== undefined && e.yaml.exitCode !== '~') lines.push(`exit code ${e.yaml.exitCode}`);
    if (e.yaml.signal && e.yaml.signal !== '~') lines.push(`signal ${e.yaml.signal}`);
    const at = String(e.yaml.stack ?? '').split('\n').find((l) => /\.(test\.)?[cm]?js:\d+/.test(l) && !l.includes('node:'));
    if (at) lines.push(`at ${relativeStack(at.trim())}`);
    counts.failures.push({ name: `${where}${name}`, lines });
  };
  for (const e of pending) visit(e, []);
  return counts;
}

/** Reads the scalar and block values of a TAP YAML block (enough for node's reporter). */
function parseYAMLish(lines, into) {
  for (let i = 0; i < lines.length; i++) {
    const m = /^([A-Za-z_]+):\s?(.*)$/.exec(lines[i]);
    if (!m) continue;
    const [, key, rest] = m;
    if (rest === '|-' || rest === '|' || rest === '>-') {
      const block = [];
      for (; i + 1 < lines.length && (lines[i + 1].startsWith('  ') || lines[i + 1].trim() === ''); i++) block.push(lines[i + 1].slice(2));
      into[key] = block.join('\n');
    } else if (/^'.*'$/.test(rest)) {
      into[key] = rest.slice(1, -1).replace(/''/g, "'");
    } else {
      into[key] = rest;
    }
  }
}

function unescapeTAP(s) { return s.replace(/\\#/g, '#').replace(/\\\\/g, '\\').trim(); }
function isPath(s) { return s.startsWith('/') || /^[A-Za-z]:\\/.test(s); }
function fileOf(location) {
  const m = /^(.*?):\d+:\d+$/.exec(location ?? '');
  return m ? relative(process.cwd(), m[1]) : undefined;
}
function relativeStack(line) {
  return line.replace(/file:\/\/(\/[^:)]+)/, (_, p) => relative(process.cwd(), p)).replace(/\((\/[^:)]+)/, (_, p) => `(${relative(process.cwd(), p)}`);
}

/**
 * Reads go test -json: tests without subtests are counted, and a test with subtests when it
 * failed with none of them failing. A package that failed with no test failing (a build
 * error, a panic outside a test, a timeout) is one failure, with its output.
 */
function readGoJSON(text) {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const tests = new Map(); // "pkg\0name" -> { pkg, name, action, output[] }
  const packages = new Map(); // pkg -> { action, output[], failedBuild }
  const builds = new Map(); // import path -> build output lines
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev;
    try { ev = JSON.parse(line); } catch { continue; }
    if (ev.Action === 'build-output') {
      if (!builds.has(ev.ImportPath)) builds.set(ev.ImportPath, []);
      builds.get(ev.ImportPath).push(ev.Output.trimEnd());
      continue;
    }
    if (!ev.Package) continue;
    if (ev.Test) {
      const key = `${ev.Package}\0${ev.Test}`;
      if (!tests.has(key)) tests.set(key, { pkg: ev.Package, name: ev.Test, action: '', output: [] });
      const t = tests.get(key);
      if (ev.Action === 'output') t.output.push(ev.Output.trimEnd());
      else if (['pass', 'fail', 'skip'].includes(ev.Action)) t.action = ev.Action;
    } else {
      if (!packages.has(ev.Package)) packages.set(ev.Package, { action: '', output: [], failedBuild: '' });
      const p = packages.get(ev.Package);
      if (ev.Action === 'output') p.output.push(ev.Output.trimEnd());
      else if (['pass', 'fail', 'skip'].includes(ev.Action)) p.action = ev.Action;
      if (ev.FailedBuild) p.failedBuild = ev.FailedBuild;
    }
  }
  const all = [...tests.values()];
  const hasChildren = (t) => all.some((o) => o.pkg === t.pkg && o.name.startsWith(`${t.name}/`));
  const childFailed = (t) => all.some((o) => o.pkg === t.pkg && o.name.startsWith(`${t.name}/`) && o.action === 'fail');
  const failedPackages = new Set();
  for (const t of all) {
    const parent = hasChildren(t);
    if (t.action === 'pass') { if (!parent) counts.passed++; continue; }
    if (t.action === 'skip') { if (!parent) counts.skipped++; continue; }
    // A test that never ended was running when its package stopped (a panic, a timeout):
    // the package's failure below says so.
    if (t.action !== 'fail' || (parent && childFailed(t))) continue;
    counts.failed++;
    failedPackages.add(t.pkg);
    const lines = t.output.filter((l) => !/^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (FAIL|PASS|SKIP):)/.test(l)).map((l) => l.replace(/^ {4}/, ''));
    counts.failures.push({ name: `${t.pkg} ${t.name}`, lines });
  }
  for (const [pkg, p] of packages) {
    if (p.action !== 'fail' || failedPackages.has(pkg)) continue;
    counts.failed++;
    const lines = p.failedBuild ? (builds.get(p.failedBuild) ?? []) : p.output.filter((l) => !/^(FAIL|ok)\s/.test(l) && l !== 'FAIL');
    const running = all.filter((t) => t.pkg === pkg && !t.action && !hasChildren(t)).map((t) => t.name);
    if (running.length) lines.unshift(`still running: ${running.join(', ')}`);
    // One broken package fails the build of every package that imports it, with the same
    // compiler output: that is one failure to fix, named once with every package it stopped.
    const same = p.failedBuild && counts.failures.find((f) => f.build && f.lines.join('\n') === lines.join('\n'));
    if (same) {
      counts.failed--;
      same.packages.push(pkg);
      same.name = `${same.packages.join(', ')} (build failed)`;
      continue;
    }
    counts.failures.push({ name: `${pkg} (${p.failedBuild ? 'build failed' : 'the package failed'})`, lines, build: Boolean(p.failedBuild), packages: [pkg] });
  }
  return counts;
}

/** Prints go test -json from stdin as plain go test would (without -v). */
async function goStream() {
  const buffered = new Map();
  for await (const line of createInterface({ input: process.stdin })) {
    let ev;
    try { ev = JSON.parse(line); } catch { process.stdout.write(`${line}\n`); continue; }
    if (ev.Action === 'build-output') { process.stdout.write(ev.Output); continue; }
    if (!ev.Test) {
      if (ev.Action === 'output' && ev.Output !== 'PASS\n') process.stdout.write(ev.Output);
      continue;
    }
    const key = `${ev.Package}\0${ev.Test}`;
    if (ev.Action === 'output') {
      if (!buffered.has(key)) buffered.set(key, []);
      buffered.get(key).push(ev.Output);
    } else if (ev.Action === 'fail') {
      process.stdout.write((buffered.get(key) ?? []).join(''));
      buffered.delete(key);
    } else if (ev.Action === 'pass' || ev.Action === 'skip') {
      buffered.delete(key);
    }
  }
}

function duration(ms) {
  if (!Number.isFinite(ms)) return '-';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === r.length - 1 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])))
    .join('  ').trimEnd()).join('\n');
}
