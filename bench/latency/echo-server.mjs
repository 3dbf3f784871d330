// The floor of `npm run bench:latency`: a bare Node TCP server that answers every
// length-prefixed request (4-byte big-endian size + body) with 8 bytes, on loopback.
// Prints its port on stdout, then serves until killed. What a Kafka-protocol broker in Node
// cannot beat: the loopback, the event loop and the client, with no protocol or storage work.
import { createServer } from 'node:net';

const REPLY = Buffer.alloc(8);
const server = createServer((socket) => {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let replies = 0;
    let at = 0;
    while (pending.length - at >= 4) {
      const size = pending.readUInt32BE(at);
      if (pending.length - at < 4 + size) break;
      at += 4 + size;
      replies++;
    }
    pending = pending.subarray(at);
    if (replies) socket.write(replies === 1 ? REPLY : Buffer.alloc(8 * replies));
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
