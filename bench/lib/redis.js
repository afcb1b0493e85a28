'use strict';
// Starts a private redis-server on a free loopback port (no persistence) and stops it again.
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

function findRedisServer() {
  const dirs = (process.env.PATH || '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  for (const d of dirs) {
    const f = path.join(d, 'redis-server');
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    sock.on('error', () => resolve(false));
  });
}

// Resolves { port, pid, stop() } or { note } when no server can be started.
async function startRedis() {
  const bin = findRedisServer();
  if (!bin) return { note: 'skipped: no redis-server binary on PATH (install redis-server to include it)' };
  const port = await freePort();
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = null;
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.on('exit', (code, sig) => (exited = code ?? sig));
  const stop = () => new Promise((resolve) => {
    if (exited !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
  for (let i = 0; i < 100 && exited === null; i++) {
    if (await ping(port)) return { port, pid: proc.pid, bin, stop, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  return { note: `skipped: ${bin} did not come up on port ${port} (${exited !== null ? `exited ${exited}` : 'timeout'}) ${stderr.trim()}` };
}

module.exports = { startRedis, findRedisServer };
