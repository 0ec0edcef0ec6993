// The PouchDB peer of casefile-bench scenario 7: the same push-and-pull
// workload as Casefile's, through PouchDB replication.
//
//   node pouchdb_replication.js --docs 100000 --value-bytes 700 --dir DIR
//
// A child process serves express-pouchdb (pouchdb-node, LevelDB) over plain
// HTTP on loopback. In this process a "device" PouchDB is filled with N docs
// of a VALUE_BYTES random body (not timed: the analogue of offline capture),
// replicated up to the server (push), then a fresh PouchDB replicates them
// down (pull). Replication batches of 500 documents, as Casefile's push
// batches and pull pages. Prints one JSON line: push and pull seconds, and
// the server's CPU seconds and peak RSS (from its own process.resourceUsage()).
//
// HTTP and LevelDB without fsync per write favour the peer: Casefile runs TLS
// and commits every batch with synchronous=FULL.
'use strict';

const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');

function option(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

function serve() {
  const PouchDB = require('pouchdb-node');
  const directory = option('dir', null);
  const Prefixed = PouchDB.defaults({ prefix: directory + path.sep });
  const app = require('express-pouchdb')(Prefixed, {
    mode: 'minimumForPouchDB',
    inMemoryConfig: true,
    logPath: path.join(directory, 'express-pouchdb.log'),
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  process.on('SIGTERM', () => {
    const usage = process.resourceUsage();
    process.stdout.write(JSON.stringify({
      cpu_seconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      peak_rss_mib: usage.maxRSS / 1024,
    }) + '\n', () => process.exit(0));
  });
}

function lines(stream, onLine) {
  let buffered = '';
  stream.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(JSON.parse(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
    }
  });
}

function body(valueBytes) {
  const random = crypto.randomBytes(valueBytes);
  let text = '';
  for (let i = 0; i < valueBytes; ++i) text += String.fromCharCode(97 + (random[i] % 26));
  return text;
}

async function client() {
  const PouchDB = require('pouchdb-node');
  const docs = Number(option('docs', '100000'));
  const valueBytes = Number(option('value-bytes', '700'));
  const directory = option('dir', null);
  const serverDirectory = path.join(directory, 'server');
  require('fs').mkdirSync(serverDirectory, { recursive: true });

  const server = spawn(process.execPath, [__filename, 'serve', '--dir', serverDirectory],
                       { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages = [];
  let waiting = null;
  lines(server.stdout, (message) => {
    messages.push(message);
    if (waiting) waiting();
  });
  const next = () => new Promise((resolve) => {
    const take = () => { if (messages.length) { waiting = null; resolve(messages.shift()); } };
    waiting = take;
    take();
  });
  const { port } = await next();
  const remote = 'http://127.0.0.1:' + port + '/cases';

  const device = new PouchDB(path.join(directory, 'device'));
  for (let at = 0; at < docs; at += 500) {
    const batch = [];
    for (let i = at; i < Math.min(docs, at + 500); ++i) {
      batch.push({ _id: crypto.randomUUID(), case: 'case-' + (i % 5), created_on: '2026-11-27',
                   body: body(valueBytes) });
    }
    await device.bulkDocs(batch);
  }

  let start = process.hrtime.bigint();
  const pushed = await PouchDB.replicate(device, remote, { batch_size: 500 });
  const pushSeconds = Number(process.hrtime.bigint() - start) / 1e9;

  const colleague = new PouchDB(path.join(directory, 'colleague'));
  start = process.hrtime.bigint();
  const pulled = await PouchDB.replicate(remote, colleague, { batch_size: 500 });
  const pullSeconds = Number(process.hrtime.bigint() - start) / 1e9;

  server.kill('SIGTERM');
  const usage = await next();
  process.stdout.write(JSON.stringify({
    docs,
    pushed: pushed.docs_written,
    pulled: pulled.docs_written,
    push_seconds: pushSeconds,
    pull_seconds: pullSeconds,
    server_cpu_seconds: usage.cpu_seconds,
    server_peak_rss_mib: usage.peak_rss_mib,
  }) + '\n');
}

if (process.argv[2] === 'serve') {
  serve();
} else {
  client().catch((error) => {
    process.stderr.write('pouchdb_replication: ' + (error.stack || error) + '\n');
    process.exit(1);
  });
}
