'use strict';
// The public surface the package has at run time against docs/api.md and the declarations: every
// member a user can reach is documented under a heading that names it and is declared in the
// typings of its entry point, so that a method added to a class cannot ship unseen by either.
//
// The surface: every export of each entry point of package.json "exports" ('.', './keyv',
// './langgraph', './metrics'; an entry point that is itself a class, as './keyv' is, is that
// class), and of each exported class its static members (methods, accessors and constants) and
// its prototype's methods and accessors, inherited ones included up to a base class of another
// package (EXTERNAL_BASES: what the subclass overrides is on its own prototype and counted
// there). Of a plain object export, its members (futex.wait, persist.inspect, layout.C).
// Not counted: names starting with `_`; `constructor`, and a class's own `name`, `length` and
// `prototype`; data properties of a prototype (ShmError's `name`: instances' fields are not
// enumerable from the class); a static that is the class itself (`KeyvShmstore.KeyvShmstore`,
// the named form of the default export, checked as an export). Of Symbol-keyed members only those
// a user reaches through the language: Symbol.iterator (`for...of`), Symbol.asyncIterator
// (`for await`), Symbol.dispose and Symbol.asyncDispose (`using`); not Symbol.toStringTag or
// util.inspect.custom (what a handle prints as), nor the package's own Symbol()s, which no user
// code can name.
//
// Documented: docs/api.md has a heading (## to ######) in the export's home section(s) (HOMES)
// whose code spans name the member as the document writes them: `Class.member` for a static
// (`Class.member` also, in a heading shared by several classes), `receiver.member` for a prototype
// member with the receiver the section uses (`store.get(`, `queue.close()`), several forms to a
// heading separated by commas; `receiver[Symbol.x]`, or `for (... of receiver)` /
// `for await (... of receiver)` for the iterators. A class export is documented when its home
// section exists and names it; a function export when a heading there names `fn(`. The members of
// `layout` are data: each is named in a code span of its section (its table).
//
// Declared: the entry point's .d.ts ("types" of its package.json export), read with the
// TypeScript compiler, declares the export and the member, public (inherited declarations count,
// as LangGraph's BaseStore declares get/put/search), and a method as something callable.
//
// INTERNAL lists what is public only because JavaScript has no other way to share it between
// the package's own modules; each name must exist on some class and must not be declared.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const EventEmitter = require('events');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..', '..');
const PKG = require(path.join(ROOT, 'package.json'));
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');

// Members named with a trailing `_` are the package's cross-module internals: used by a base class
// or subclass in another file, by the registry's kind table or by another module, so they cannot be
// `#private`.
const INTERNAL = {
  bytesForOptions_: 'the region size for create()\'s options, called by the registry (lib/registry/kinds.js)',
  isHandle_: 'Mutex brand check used by Condition.wait, which cannot read the private field itself',
  usable_: 'the open-and-not-disposed check of a queue handle, called by the registry, the latency wrappers and the ring\'s record code',
  seqIndex_: 'an MPMC slot\'s sequence-word index, read by the slot protocol in lib/msg/mpmc-slots.js',
  viewOf_: 'a pool block\'s view, used by the BufferPool and ObjectPool subclasses',
  indexOf_: 'a pool handle\'s block index, used by the pool subclasses',
  attach_: 'binds the pool core to the region, called by the subclasses\' constructors',
  closing_: 'a message handle\'s step at close() that ends its pending calls before the base class releases its memory',
  KIND_: 'the pool kind tag (format.md §17) a fixed-size pool subclass gives the shared base to stamp and check',
  NAME_: 'the class name a fixed-size pool subclass gives the shared base for its error messages',
  OPTIONS_: 'the names a fixed-size pool subclass gives its size and count options (blockSize or recordSize, ...)',
};

// Base classes of other packages: their members are theirs (EventEmitter's on/emit under the
// Keyv adapter, LangGraph's BaseStore helpers), documented there. Both sides: a prototype chain
// ends at the base's prototype, a constructor's chain (its statics) at the base itself.
function externalBases() {
  const lg = require('@langchain/langgraph-checkpoint');
  const bases = [Object, Error, EventEmitter, lg.BaseCheckpointSaver, lg.BaseStore];
  return new Set([Function.prototype, ...bases, ...bases.map((b) => b.prototype)]);
}
const EXTERNAL_BASES = externalBases();

const SYNC = 'Sync objects: RwLock, Condition, Semaphore, Barrier, WaitGroup';
// Where each export is documented: the `##` sections its headings are in, and the receivers its
// prototype members are written with. `q` and `Class` are the shared "Queue latency" heading's.
const HOMES = {
  '.': {
    Store: { sections: ['Store', 'Persistence'], receivers: ['store'] },
    NamespaceView: { sections: ['Store'], receivers: ['view'] },
    Segment: { sections: ['Segment'], receivers: ['segment'] },
    futex: { sections: ['futex'], receivers: ['futex'] },
    ShmError: { sections: ['Errors'], receivers: [] },
    layout: { sections: ['layout'], receivers: [] },
    persist: { sections: ['Persistence'], receivers: ['persist'] },
    Mutex: { sections: ['Mutex'], receivers: ['mutex'] },
    RwLock: { sections: [SYNC], receivers: ['rwlock'] },
    Condition: { sections: [SYNC], receivers: ['condition'] },
    Semaphore: { sections: [SYNC], receivers: ['semaphore'] },
    Barrier: { sections: [SYNC], receivers: ['barrier'] },
    WaitGroup: { sections: [SYNC], receivers: ['waitgroup'] },
    Registry: { sections: ['Registry'], receivers: ['registry'] },
    SpscRing: { sections: ['SpscRing', 'Channel'], receivers: ['ring', 'q'] },
    MpmcQueue: { sections: ['MpmcQueue', 'Channel'], receivers: ['queue', 'q'] },
    Channel: { sections: ['Channel'], receivers: ['channel', 'q'] },
    Stack: { sections: ['Stack'], receivers: ['stack'] },
    PriorityQueue: { sections: ['PriorityQueue'], receivers: ['queue'] },
    Broadcast: { sections: ['Broadcast'], receivers: ['broadcast'] },
    Subscriber: { sections: ['Broadcast'], receivers: ['subscriber'] },
    BufferPool: { sections: ['BufferPool'], receivers: ['pool'] },
    ObjectPool: { sections: ['ObjectPool'], receivers: ['pool'] },
    MemoryPool: { sections: ['MemoryPool'], receivers: ['pool'] },
  },
  './keyv': {
    default: { name: 'KeyvShmstore', sections: ['Keyv adapter'], receivers: ['adapter'] },
  },
  './langgraph': {
    ShmstoreSaver: { sections: ['LangGraph'], receivers: ['saver'] },
    ShmstoreStore: { sections: ['LangGraph'], receivers: ['memory'] },
  },
  './metrics': {
    storeMetrics: { sections: ['Metrics'], receivers: [] },
  },
};

const COUNTED_SYMBOLS = ['iterator', 'asyncIterator', 'dispose', 'asyncDispose'].filter((s) => typeof Symbol[s] === 'symbol');

// ---------------------------------------------------------------------------------------------
// The runtime surface.

/** `owner.name`, or `owner[Symbol.x]` for a symbol, as the document writes them. */
const label = (owner, name) => (name.startsWith('Symbol.') ? `${owner}[${name}]` : `${owner}.${name}`);

const isClass = (v) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

/** The counted name of a key ('Symbol.dispose' for a symbol), or null when it is not counted. */
function memberName(key) {
  if (typeof key === 'symbol') {
    const s = COUNTED_SYMBOLS.find((n) => Symbol[n] === key);
    return s ? `Symbol.${s}` : null;
  }
  return key.startsWith('_') ? null : key;
}

/** [name, descriptor] of the counted own and inherited members of a prototype or constructor. */
function membersOf(start, isStatic) {
  const out = new Map();
  for (let o = start; o !== null && !EXTERNAL_BASES.has(o); o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      if (key === 'constructor' || (isStatic && ['name', 'length', 'prototype'].includes(key))) continue;
      const name = memberName(key);
      if (name === null || out.has(name)) continue; // the most derived one is the member
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (!isStatic && !d.get && !d.set && typeof d.value !== 'function') continue; // data on a prototype
      if (isStatic && d.value === start) continue; // the class itself: an export alias
      out.set(name, d);
    }
  }
  return out;
}

/**
 * The runtime surface: [{ entry, exp, value, home, members: [{ kind, name, method }] }], with
 * `exp` the export's name ('default' for an entry point that is a class).
 */
function runtimeSurface() {
  const out = [];
  for (const [entry, target] of Object.entries(PKG.exports)) {
    if (entry === './package.json') continue;
    const mod = require(path.join(ROOT, target.default));
    const exports = isClass(mod) ? [['default', mod]] : Object.entries(mod);
    for (const [exp, value] of exports) {
      const members = [];
      if (isClass(value)) {
        for (const [name, d] of membersOf(value, true)) members.push({ kind: 'static', name, method: typeof d.value === 'function' });
        for (const [name, d] of membersOf(value.prototype, false)) members.push({ kind: 'instance', name, method: typeof d.value === 'function' });
      } else if (value !== null && typeof value === 'object') {
        for (const name of Object.keys(value)) members.push({ kind: 'member', name, method: typeof value[name] === 'function' });
      }
      out.push({ entry, exp, value, home: (HOMES[entry] || {})[exp], members });
    }
    // An entry point that is a class also has itself as a named export (require('shmstore/keyv').KeyvShmstore).
    if (isClass(mod)) assert.strictEqual(mod[mod.name], mod, `${entry}: the class is also its own named export ${mod.name}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The document.

/** The headings of the document: { level, section (the `##` title it is in), text, spans }. */
function readHeadings(text) {
  const headings = [];
  let section = '';
  let fence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    if (fence) continue;
    const m = /^(#{2,6}) (.*)$/.exec(line);
    if (!m) continue;
    if (m[1].length === 2) section = m[2].trim();
    headings.push({ level: m[1].length, section, text: m[2], spans: [...m[2].matchAll(/`([^`]+)`/g)].map((x) => x[1]) });
  }
  return headings;
}

const IDENT = '[A-Za-z_$][\\w$]*';

/** What the code spans of a heading name: { dotted: [owner, member][], calls: Set<fn>, news: Set<class> }. */
function references(spans) {
  const dotted = [];
  const calls = new Set();
  const news = new Set();
  for (const span of spans) {
    for (const m of span.matchAll(new RegExp(`(?<![\\w$.])(${IDENT})\\.(${IDENT})`, 'g'))) dotted.push([m[1], m[2]]);
    for (const m of span.matchAll(new RegExp(`(?<![\\w$.])(${IDENT})\\[Symbol\\.(${IDENT})\\]`, 'g'))) dotted.push([m[1], `Symbol.${m[2]}`]);
    for (const m of span.matchAll(new RegExp(`for await \\(.* of (${IDENT})\\)`, 'g'))) dotted.push([m[1], 'Symbol.asyncIterator']);
    for (const m of span.matchAll(new RegExp(`for \\(.* of (${IDENT})\\)`, 'g'))) dotted.push([m[1], 'Symbol.iterator']);
    for (const m of span.matchAll(new RegExp(`(?<![\\w$.])new (${IDENT})\\(`, 'g'))) news.add(m[1]);
    for (const m of span.matchAll(new RegExp(`(?<![\\w$.]|new )(${IDENT})\\(`, 'g'))) calls.add(m[1]);
  }
  return { dotted, calls, news };
}

/** The body of each `##` section, by title. */
function sectionBodies(text) {
  const bodies = new Map();
  let title = null;
  let fence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    if (!fence && /^## /.test(line)) {
      title = line.slice(3).trim();
      bodies.set(title, '');
    } else if (title !== null) bodies.set(title, `${bodies.get(title)}${line}\n`);
  }
  return bodies;
}

const HEADINGS = readHeadings(DOC);
const BODIES = sectionBodies(DOC);

/** Which members the headings of an export's home sections name: { statics, instance, exported }. */
function documented(className, home) {
  const statics = new Set();
  const instance = new Set();
  let exported = false;
  for (const h of HEADINGS.filter((x) => home.sections.includes(x.section))) {
    const refs = references(h.spans);
    for (const [owner, member] of refs.dotted) {
      if (owner === className || owner === 'Class') statics.add(member);
      if (home.receivers.includes(owner)) instance.add(member);
      if (owner === className) exported = true;
    }
    if (refs.news.has(className) || refs.calls.has(className)) exported = true;
  }
  return { statics, instance, exported };
}

/** Whether an export is documented at all: its home section exists and names it. */
function homeNames(name, home) {
  return home.sections.every((s) => BODIES.has(s)) &&
    home.sections.some((s) => s.split(/[^\w$]+/).includes(name) || BODIES.get(s).includes(`\`${name}`) || BODIES.get(s).includes(`${name}(`));
}

// ---------------------------------------------------------------------------------------------
// The declarations.

/** The TypeScript view of each entry point's .d.ts: { checker, exportsOf(entry) → Map<name, ts.Type> }. */
function readDeclarations() {
  const files = Object.entries(PKG.exports).filter(([e]) => e !== './package.json').map(([, t]) => path.join(ROOT, t.types));
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10, types: ['node'], esModuleInterop: true,
  });
  const checker = program.getTypeChecker();
  function exportsOf(entry) {
    const file = program.getSourceFile(path.join(ROOT, PKG.exports[entry].types));
    assert.ok(file, `${PKG.exports[entry].types} is read`);
    const moduleSymbol = checker.getSymbolAtLocation(file);
    const out = new Map();
    const assigned = moduleSymbol.exports.get('export=');
    if (assigned) {
      // `export =`: the module is that value; its properties are the named exports.
      const type = checker.getTypeOfSymbolAtLocation(checker.getAliasedSymbol(assigned) || assigned, file);
      out.set('default', type);
      for (const p of type.getProperties()) out.set(p.name, checker.getTypeOfSymbolAtLocation(p, file));
      return out;
    }
    for (let s of checker.getExportsOfModule(moduleSymbol)) {
      if (s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
      if (s.flags & ts.SymbolFlags.Value) out.set(s.name, checker.getTypeOfSymbolAtLocation(s, file));
    }
    return out;
  }
  return { checker, exportsOf };
}

/** The property of a declared type that a counted member name is, or undefined. */
function declaredProperty(checker, type, name) {
  const m = /^Symbol\.(\w+)$/.exec(name);
  const prop = m
    ? checker.getPropertiesOfType(type).find((p) => new RegExp(`^__@${m[1]}@\\d+$`).test(p.escapedName))
    : checker.getPropertyOfType(type, name);
  if (!prop) return undefined;
  const hidden = (prop.declarations || []).some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
  return hidden ? undefined : prop;
}

// ---------------------------------------------------------------------------------------------

describe('the public API surface: documented in docs/api.md and declared in the typings', function () {
  this.timeout(60000);
  const surface = runtimeSurface();
  const { checker, exportsOf } = readDeclarations();
  const dts = new Map(Object.keys(HOMES).map((entry) => [entry, exportsOf(entry)]));

  it('every export has its home in the document, and every home is an export', () => {
    const unknown = surface.filter((s) => !s.home).map((s) => `${s.entry} ${s.exp}`);
    assert.deepStrictEqual(unknown, [], 'exports without an entry in HOMES');
    const stale = Object.entries(HOMES).flatMap(([entry, homes]) =>
      Object.keys(homes).filter((exp) => !surface.some((s) => s.entry === entry && s.exp === exp)).map((exp) => `${entry} ${exp}`));
    assert.deepStrictEqual(stale, [], 'HOMES entries that are not exports');
  });

  it('every INTERNAL name is on some class, and is not declared', () => {
    const present = new Set();
    for (const s of surface) {
      if (!isClass(s.value)) continue;
      for (const o of [s.value, s.value.prototype]) {
        for (let p = o; p !== null && !EXTERNAL_BASES.has(p); p = Object.getPrototypeOf(p)) Reflect.ownKeys(p).forEach((k) => present.add(k));
      }
    }
    assert.deepStrictEqual(Object.keys(INTERNAL).filter((n) => !present.has(n)), [], 'INTERNAL names no class has');
    const declared = [];
    for (const s of surface) {
      const t = dts.get(s.entry).get(s.exp);
      if (!t || !isClass(s.value)) continue;
      const proto = checker.getPropertyOfType(t, 'prototype');
      for (const name of Object.keys(INTERNAL)) {
        if (declaredProperty(checker, t, name)) declared.push(`${s.exp}.${name}`);
        if (proto && declaredProperty(checker, checker.getTypeOfSymbol(proto), name)) declared.push(`${s.exp}.prototype.${name}`);
      }
    }
    assert.deepStrictEqual(declared, [], 'internal members in the typings');
  });

  it('every public member is documented under a heading that names it', () => {
    const missing = [];
    for (const s of surface.filter((x) => x.home)) {
      const name = s.home.name || s.exp;
      if (!homeNames(name, s.home)) missing.push(`${s.entry} ${name}: its home section (${s.home.sections.join(', ')}) does not name it`);
      if (isClass(s.value)) {
        const doc = documented(name, s.home);
        for (const m of s.members) {
          if (INTERNAL[m.name]) continue;
          const named = m.kind === 'static' ? doc.statics.has(m.name) : doc.instance.has(m.name);
          if (!named) missing.push(m.kind === 'static' ? label(name, m.name) : `${label(s.home.receivers[0], m.name)} (${name})`);
        }
      } else if (typeof s.value === 'function') {
        const named = HEADINGS.some((h) => s.home.sections.includes(h.section) && references(h.spans).calls.has(name));
        if (!named) missing.push(`${name}()`);
      } else if (s.home.receivers.length > 0) {
        const doc = documented(name, s.home);
        for (const m of s.members) if (!doc.instance.has(m.name)) missing.push(label(name, m.name));
      } else {
        // Data (layout): each member is named in its section's text.
        const body = s.home.sections.map((x) => BODIES.get(x) || '').join('\n');
        for (const m of s.members) if (!body.includes(`\`${m.name}`)) missing.push(label(name, m.name));
      }
    }
    assert.deepStrictEqual(missing, [], 'members that no heading of docs/api.md names');
  });

  it('every public member is declared in the typings of its entry point', () => {
    const missing = [];
    for (const s of surface) {
      const name = (s.home && s.home.name) || s.exp;
      const where = PKG.exports[s.entry].types;
      const type = dts.get(s.entry) && dts.get(s.entry).get(s.exp);
      if (!type) {
        missing.push(`${where}: ${name}`);
        continue;
      }
      const proto = isClass(s.value) ? checker.getPropertyOfType(type, 'prototype') : undefined;
      if (isClass(s.value) && !proto) {
        missing.push(`${where}: ${name} as a class`);
        continue;
      }
      const instanceType = proto && checker.getTypeOfSymbol(proto);
      for (const m of s.members) {
        if (INTERNAL[m.name]) continue;
        const on = m.kind === 'instance' ? instanceType : type;
        const what = label(m.kind === 'instance' ? `${name}.prototype` : name, m.name);
        const prop = declaredProperty(checker, on, m.name);
        if (!prop) missing.push(`${where}: ${what}`);
        else if (m.method && checker.getTypeOfSymbol(prop).getCallSignatures().length === 0) missing.push(`${where}: ${what} as a method`);
      }
    }
    assert.deepStrictEqual(missing, [], 'members that the typings do not declare');
  });
});
