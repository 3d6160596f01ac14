// N WebSocket clients in one process that count the messages they receive. Prints "ready"
// once all are open (and have sent their filter), then, every second, the total so far.
import WebSocket from 'ws';

const [url, countArg, filter] = [process.argv[2]!, Number(process.argv[3]), process.argv[4]];
let received = 0;
let open = 0;
for (let i = 0; i < countArg; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('open', () => {
    if (filter !== undefined) ws.send(filter);
    if (++open === countArg) process.stdout.write('ready\n');
  });
  ws.on('message', () => {
    received++;
  });
  ws.on('error', (e) => {
    process.stderr.write(`client error: ${e.message}\n`);
    process.exit(1);
  });
}
setInterval(() => process.stdout.write(`received ${received}\n`), 250);
