// Token requests sent by bench/loadgen (C, epoll) instead of node: the same requests as
// flows.js token() sends, each code once, over `conns` keep-alive connections, and the
// same check of every answer (200, an access_token, a three-part id_token).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenRequestBody, basicAuth } from './flows.js';

let dir;
process.on('exit', () => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

// Returns loadgen's answer: {ok, errors, wall, cpu (s of the generator), sent, errSamples, lat}.
export async function runLoadgen(bin, t, codes, conns, seconds) {
  const u = new URL(t.url);
  const auth = basicAuth(t.clientId, t.clientSecret);
  const parts = codes.map((x) => {
    const body = tokenRequestBody(t, x.code, x.verifier);
    const r = `POST /token HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Authorization: ${auth}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return `${Buffer.byteLength(r)}\n${r}`;
  });
  dir ||= fs.mkdtempSync(path.join(os.tmpdir(), 'eidgw-loadgen-'));
  const file = path.join(dir, 'requests');
  fs.writeFileSync(file, parts.join(''));
  const out = await new Promise((resolve, reject) => {
    execFile(bin, ['--port', u.port || (u.protocol === 'https:' ? '443' : '80'), '--conns', String(conns), '--seconds', String(seconds), '--file', file,
                   '--check', 'token'], { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`loadgen: ${stderr || err.message}`)); else resolve(stdout);
    });
  });
  return JSON.parse(out);
}
