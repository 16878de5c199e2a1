/**
 * A DNS server on 127.0.0.1:53 (UDP) that answers every query with NXDOMAIN, so that a name
 * fails to resolve the way it does on a real network, without a query leaving the machine.
 * Run it inside a network namespace whose /etc/resolv.conf names 127.0.0.1: it needs port 53.
 * It writes the file named by its first argument once it listens, and runs until killed.
 *
 * @module
 */
import dgram from "node:dgram";

/**
 * The NXDOMAIN answer to `query`: its header and question, flagged as a recursive server's
 * answer with no records (any EDNS record dropped).
 */
export function nxdomain(query: Uint8Array): Uint8Array | undefined {
  if (query.length < 12) return undefined;
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end] + 1;
  end += 5;
  if (end > query.length) return undefined;
  const answer = query.slice(0, end);
  answer[2] = 0x80 | (query[2] & 0x79);
  answer[3] = 0x80 | 3;
  answer.set([0, 1, 0, 0, 0, 0, 0, 0], 4);
  return answer;
}

if (import.meta.main) {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg: Uint8Array, from: dgram.RemoteInfo) => {
    const answer = nxdomain(msg);
    if (answer) socket.send(answer, from.port, from.address);
  });
  socket.bind(53, "127.0.0.1", () => Deno.writeTextFileSync(Deno.args[0], "ready\n"));
}
