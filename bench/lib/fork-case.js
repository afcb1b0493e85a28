'use strict';
// Runs one benchmark case in its own child process: forks `script` with the task as JSON in
// argv[2] and resolves with the last IPC message it sent, once it exits with 0. A child that
// runs longer than `timeoutMs` is killed.
const { fork } = require('child_process');

function runCase(script, task, { timeoutMs = 600000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (m) => (result = m));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`${JSON.stringify(task)}: child exited with ${code ?? signal}`));
    });
  });
}

module.exports = { runCase };
