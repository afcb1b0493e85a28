'use strict';
// Starts a throwaway redis-server: loopback only, a free port, no snapshots, by default no
// append-only file either; `args` adds server options (a benchmark's `--appendonly yes
// --appendfsync always --dir <dir>`). The tests (test/90-adapters) and the benchmarks (bench/)
// both start their servers here. Without redis-server installed it throws a message naming the
// Debian package (CI installs it through .ci/run).
const { spawn, spawnSync } = require('child_process');
const net = require('net');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The installed redis-server's version ('7.0.15'), or null when there is none on PATH. */
function redisVersion() {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const m = /v=(\S+)/.exec(r.stdout);
  return m ? m[1] : 'unknown';
}

/**
 * Resolves { url, port, pid, version, stop() } once the server accepts connections (a bounded
 * wait); rejects when it cannot be started.
 */
async function startRedis({ args = [], timeoutMs = 20000 } = {}) {
  const version = redisVersion();
  if (version === null) {
    throw new Error('redis-server is not on PATH: install the Debian package redis-server (apt-get install redis-server)');
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'notice', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}) before accepting connections:\n${log}`));
    });
  });
  child.removeAllListeners('exit');
  // The server's output is no longer needed, but its pipes must keep draining.
  child.stdout.resume();
  child.stderr.resume();
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid, version, stop };
}

module.exports = { startRedis, redisVersion };
