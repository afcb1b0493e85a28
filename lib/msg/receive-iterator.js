'use strict';
// The async iterator of a receiving handle (a channel, a broadcast subscriber): `for await` over
// its receive() calls, which can be stopped while a receive is pending. An async generator could
// not be: its return() queues behind the pending next(), so a consumer that wants to stop (a
// shutdown, a function abandoned half way) waited for the next message, which it then dropped, or
// had to close the whole channel. Here every receive is made with a signal of the iterator's own:
// return() aborts the pending receives, as does an abort of the user's signal, so they end now.
//
// No message is lost by stopping. A receive takes its message and settles in one synchronous
// attempt (async-fifo.js): aborted before it, the receive took nothing and the message stays in
// the channel for the next receiver; aborted after it, the abort finds it settled and the message
// is delivered by the next() that asked for it, whatever return() said meanwhile.
const v = require('../base/validate');

// What return() aborts the pending receives with (the user's signal has its own reason).
const STOPPED = Symbol('shmstore.iterator.stopped');
const DONE = Object.freeze({ value: undefined, done: true });
// %AsyncIteratorPrototype%: [Symbol.asyncIterator]() returning the iterator itself, as the
// iterators of async generators, events.on() and readable streams have.
const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);

/** Validates the options of iterate(): `{ signal }`; returns the signal (or undefined). */
function iterateOptions(options) {
  if (options === undefined) return undefined;
  v.validateObject(options, 'options');
  v.validateKeys(options, 'options', ['signal']);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw v.invalidType('options.signal', 'an AbortSignal', signal);
  return signal;
}

class ReceiveIterator {
  #receive; // (signal) => a Promise of the next message
  #isEnd; // (error) => whether the error is the end of the messages, not a failure
  #stop = new AbortController(); // the signal of every receive this iterator makes
  #signal; // the user's signal, or undefined
  #onAbort;
  #done = false;

  /**
   * `receive(signal)` receives the next message with `signal`; a rejection for which `isEnd(e)`
   * holds ends the iteration quietly. `signal` (optional): the user's, whose abort ends the
   * iteration, the pending next() calls rejecting with its reason.
   */
  constructor(receive, isEnd, signal) {
    this.#receive = receive;
    this.#isEnd = isEnd;
    if (signal === undefined) return;
    if (signal.aborted) {
      this.#stop.abort(signal.reason);
      return;
    }
    this.#signal = signal;
    this.#onAbort = () => {
      this.#onAbort = undefined;
      this.#stop.abort(signal.reason);
    };
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * The next message as { value, done: false }; { done: true } at the end of the messages, after
   * return() or once the iteration ended; rejects with the user's signal's reason when it aborts,
   * and with what receive() rejects with otherwise (the iteration then ends too).
   */
  next() {
    if (this.#done) return Promise.resolve(DONE);
    const stop = this.#stop.signal;
    let pending;
    try {
      pending = this.#receive(stop);
    } catch (e) {
      pending = Promise.reject(e);
    }
    return pending.then((value) => ({ value, done: false }), (e) => {
      // A stop, an abort of the user's signal, the end of the messages, or a failure: each ends
      // the iteration, and with it the other pending receives of this iterator.
      const stopped = stop.aborted && e === stop.reason;
      this.#end();
      if ((stopped && e === STOPPED) || (!stopped && this.#isEnd(e))) return DONE;
      throw e;
    });
  }

  /**
   * Ends the iteration now, also while a next() is pending: the pending receives are aborted (a
   * message one of them already took is still delivered by its next()); they resolve
   * { done: true }. Resolves { value, done: true }.
   */
  return(value) {
    this.#end();
    return Promise.resolve({ value, done: true });
  }

  /** Ends the iteration as return() does, and rejects with `e`. */
  throw(e) {
    this.#end();
    return Promise.reject(e);
  }

  #end() {
    if (this.#done) return;
    this.#done = true;
    if (this.#onAbort !== undefined) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
    if (!this.#stop.signal.aborted) this.#stop.abort(STOPPED);
  }
}

Object.setPrototypeOf(ReceiveIterator.prototype, AsyncIteratorPrototype);
// `await using it = channel.iterate()`: the iteration ends with the block.
if (typeof Symbol.asyncDispose === 'symbol') {
  ReceiveIterator.prototype[Symbol.asyncDispose] = async function () {
    await this.return();
  };
}

module.exports = { ReceiveIterator, iterateOptions };
