'use strict';
// The C++ Channel (src/msg/channel.h) and the JS Channel on the same bytes (docs/format.md §15,
// "Channels"): a C++ sender with JS receivers, a JS sender with a C++ receiver, and each side
// seeing the other's close. The native parties run on threads of the addon (binding/msg/msg.cc).
const assert = require('assert');
const { Channel } = require('../../index');
const { addon } = require('../../lib/base/native');
const { nativeSeq, nativeFill, nativeMessage } = require('../helpers/messages');

const withAddon = addon ? describe : describe.skip;

function channel(capacity, messageBytes = 16) {
  const buffer = new SharedArrayBuffer(Channel.bytesFor(capacity, { messageBytes }));
  const ch = Channel.create({ buffer, capacity, messageBytes, startPosition: 2 ** 32 - 5000 });
  return { ch, region: new Uint8Array(buffer) };
}

withAddon('Channel: C++ and JS parties', () => {
  it('a C++ sender sends 50000 messages and closes; a JS receiver gets each once, in order, then the end', async function () {
    this.timeout(120000);
    const n = 50000;
    const { ch, region } = channel(64);
    const sending = addon.msgChannelSend(region, n, 12);
    let next = 0;
    for await (const m of ch) {
      assert.strictEqual(nativeSeq(m), next);
      assert.strictEqual(nativeFill(m), next & 255);
      next++;
    }
    assert.strictEqual(next, n);
    assert.strictEqual(await sending, n);
    assert.strictEqual(ch.closed, true);
    ch.dispose();
  });

  it('a JS sender sends 50000 messages and closes; a C++ receiver gets each once, then sees the end', async function () {
    this.timeout(120000);
    const n = 50000;
    const { ch, region } = channel(64);
    const receiving = addon.msgChannelReceive(region);
    for (let i = 0; i < n; i++) {
      const m = nativeMessage(i, 8);
      if (!ch.trySend(m)) await ch.send(m, { timeoutMs: 60000 });
    }
    ch.close();
    assert.deepStrictEqual(await receiving, { count: n, sum: (n * (n - 1)) / 2 });
    ch.dispose();
  });

  it('a JS close() stops a C++ sender blocked on a full channel; the receiver drains what was sent', async function () {
    this.timeout(60000);
    const { ch, region } = channel(4);
    const sending = addon.msgChannelSend(region, 1000, 8);
    while (ch.size < 4) await new Promise((r) => setTimeout(r, 1));
    ch.close();
    const sent = await sending;
    assert.strictEqual(sent, 4, 'the four that fitted; the fifth send saw the close');
    const got = [];
    for await (const m of ch) got.push(nativeSeq(m));
    assert.deepStrictEqual(got, [0, 1, 2, 3]);
  });

  it('the native channel parties check their arguments', () => {
    assert.throws(() => addon.msgChannelSend(new Uint8Array(new SharedArrayBuffer(Channel.bytesFor(2, { messageBytes: 8 }))), 1, 8), (e) => e.code === 'ERR_BAD_MAGIC');
    const { region } = channel(2, 8);
    assert.throws(() => addon.msgChannelSend(region, 1, 9), (e) => e.code === 'ERR_MESSAGE_TOO_LARGE');
    assert.throws(() => addon.msgChannelSend(region, 1, 3), RangeError);
    assert.throws(() => addon.msgChannelReceive(new Uint8Array(8)), TypeError);
  });
});
