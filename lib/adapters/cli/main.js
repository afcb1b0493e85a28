'use strict';
// The `shmstore` command line (bin/shmstore.js): argument parsing, help, dispatch to the command
// modules beside this file, and the one-line messages and exit codes of failures (docs/api.md, CLI).
// Command modules are required only when run, so that `--help` and `doctor` work even when the
// store modules cannot be loaded (an addon built for another Node version).
const { EXIT, CliError, closeAll } = require('./output');

const COMMANDS = ['doctor', 'stats', 'inspect', 'verify', 'repair', 'compact', 'get', 'set', 'del', 'keys', 'ls', 'dump', 'load',
  'top', 'wal', 'checkpoint', 'backup', 'restore'];
const BOOLEAN_FLAGS = new Set(['json', 'path', 'help', 'once', 'all']);
const VALUE_FLAGS = new Set(['prefix', 'dir', 'name', 'interval', 'count']);
const DAMAGED = new Set(['ERR_BAD_MAGIC', 'ERR_BAD_VERSION', 'ERR_BAD_CHECKSUM', 'ERR_BAD_SIZE', 'ERR_CORRUPT']);

const STORE_RULE = 'A <store> that contains a "/" (/var/lib/app.shm, ./cache.shm) or is given with --path is a\n' +
  'file path; anything else is a shared memory name (/dev/shm/<name>).';

// A command module may list options that take a value for it only (`restore --path <file>`,
// where every other command reads --path as a switch).
function parse(argv, ownValueFlags = []) {
  const valueFlags = new Set([...VALUE_FLAGS, ...ownValueFlags]);
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h') {
      flags.help = true;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (valueFlags.has(name)) {
        const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (value === undefined) throw new CliError(`--${name} needs a value`);
        flags[name] = value;
      } else if (BOOLEAN_FLAGS.has(name) && eq < 0) flags[name] = true;
      else throw new CliError(`unknown option ${a} (see --help)`);
    } else {
      positional.push(a);
    }
  }
  return { positional, flags };
}

const commandModule = (name) => require(`./${name}`);

// The command word of `argv`: its first argument that is neither an option nor the value of one
// of the shared value options (VALUE_FLAGS), so that the options after it are parsed with the
// command's own (`shmstore --json restore ... --path <file>`). An option that takes a value for
// one command only (`--max-bytes n`, restore's `--path <file>`) goes after the command word.
function commandWord(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv[i + 1];
    if (!a.startsWith('-')) return a;
    if (a.startsWith('--') && !a.includes('=') && VALUE_FLAGS.has(a.slice(2))) i += 1;
  }
  return undefined;
}

// What a command's usage line allows (its arguments after the name, its options): more
// arguments, or an option it does not name, is a usage error rather than something silently
// ignored. A usage with `...` takes any number of arguments.
function allowed(m) {
  // An option's value (`--dir <dir>`, `--max-bytes n`) is no argument of the command: it is
  // taken out before the arguments are counted.
  const words = m.usage.replace(/--[a-z-]+\s+(?:<[^>]*>|[a-z]+\b)/g, '').split(/\s+/).slice(1);
  const args = words.filter((w) => /^\[?<|^\[[a-z]|^[a-z]/.test(w) && !w.startsWith('[-'));
  const options = new Set((m.usage.match(/--[a-z-]+/g) || []).map((o) => o.slice(2)));
  options.add('help');
  return { maxArgs: args.some((w) => w.includes('...')) ? Infinity : args.length, options };
}

function checkUsage(name, positional, flags) {
  const m = commandModule(name);
  const { maxArgs, options } = allowed(m);
  if (positional.length > maxArgs) throw new CliError(`${name}: unexpected argument '${positional[maxArgs]}' (usage: shmstore ${m.usage})`);
  for (const f of Object.keys(flags)) {
    if (!options.has(f)) throw new CliError(`${name}: unknown option --${f} (usage: shmstore ${m.usage})`);
  }
}

function usage() {
  const lines = COMMANDS.map((c) => {
    const m = commandModule(c);
    return [`  shmstore ${m.usage}`, `      ${m.summary}`];
  }).flat();
  return ['Usage: shmstore <command> [arguments] [options]', '', 'Commands:', ...lines, '',
    STORE_RULE, '',
    'Options: --json (output for scripts), --path (<store> is a file), --help (also after a command).',
    'Exit codes: 0 ok, 1 usage error or failure (a missing store, a missing key), 2 damaged store,',
    'log, snapshot or backup.',
    ''].join('\n');
}

function commandHelp(name) {
  const m = commandModule(name);
  return [`Usage: shmstore ${m.usage}`, '', m.summary, ...(m.help ? ['', m.help] : []), '', STORE_RULE, ''].join('\n');
}

/** One line for an error; the exit code it means. */
function describeError(err) {
  // The library's messages start with the package name: it is said once.
  const first = (s) => String(s).split('\n')[0].replace(/^shmstore: /, '');
  if (err instanceof CliError) return { line: `${err.message} (${err.code})`, code: err.exitCode };
  if (err && err.code === 'ERR_SHM_NOT_FOUND') return { line: `${first(err.message)} (${err.code})`, code: EXIT.ERROR };
  if (err && DAMAGED.has(err.code)) {
    return { line: `damaged store or not a store: ${first(err.message)} (${err.code})`, code: EXIT.DAMAGED };
  }
  if (err && err.code === 'ERR_PERSIST_CORRUPT') return { line: `${first(err.message)} (${err.code})`, code: EXIT.DAMAGED };
  if (err && err.code) return { line: `${first(err.message)} (${err.code})`, code: EXIT.ERROR };
  return { line: first(err && err.message ? err.message : err), code: EXIT.ERROR };
}

// The CLI says itself what the missing addon means (doctor; the message of a command that needs
// it): the library's one-time process warning about it would only add a second, multi-line note.
function quietAddonWarning() {
  const emit = process.emitWarning;
  process.emitWarning = function (warning, options, ...rest) {
    const code = options && typeof options === 'object' ? options.code : rest[0];
    if (code === 'SHMSTORE_NATIVE_UNAVAILABLE') return;
    return emit.call(process, warning, options, ...rest);
  };
}

// A reader that goes away (`shmstore dump x | head`) ends the command quietly, as in other tools.
function quietBrokenPipe() {
  process.stdout.on('error', (err) => {
    closeAll();
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
    // One line ending with its code, as every failure's: a system error of the write.
    process.stderr.write(`shmstore: stdout: ${err.message} (ERR_SHM_IO)\n`);
    process.exit(EXIT.ERROR);
  });
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
async function main(argv) {
  quietAddonWarning();
  quietBrokenPipe();
  try {
    const word = commandWord(argv);
    const own = COMMANDS.includes(word) ? commandModule(word).valueFlags : undefined;
    const { positional, flags } = parse(argv, own);
    const name = positional.shift();
    if (name === undefined || (name === 'help' && positional.length === 0)) {
      process.stdout.write(usage());
      return name === undefined && !flags.help ? EXIT.ERROR : EXIT.OK;
    }
    if (name === 'help') {
      if (!COMMANDS.includes(positional[0])) throw new CliError(`unknown command '${positional[0]}' (see --help)`);
      process.stdout.write(commandHelp(positional[0]));
      return EXIT.OK;
    }
    if (!COMMANDS.includes(name)) throw new CliError(`unknown command '${name}' (see --help)`);
    if (flags.help) {
      process.stdout.write(commandHelp(name));
      return EXIT.OK;
    }
    checkUsage(name, positional, flags);
    return await commandModule(name).run({ positional, flags });
  } catch (err) {
    const { line, code } = describeError(err);
    process.stderr.write(`shmstore: ${line}\n`);
    return code;
  }
}

module.exports = { main, parse, describeError, COMMANDS };
