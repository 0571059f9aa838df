// The demo stack with portal A holding legacy accounts in eidgw: VNeID simulator,
// population-DB simulator (sim/popdb/server.js), eidgw with `accounts = yes` for
// portal A, portal A and portal B. Accounts come in through `eidgw accounts import`.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, EIDGW_BIN, startStack, freePort, run, waitHttp } from '../../integration/lib/harness.js';
import { portalClients, withPortals } from './stack.js';

export const ACCOUNTS_HEADER =
  'account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,password_hash,account_class';

// sha512-crypt ($6$) hash of a password, as the portals' old databases store it.
export const cryptHash = (password, salt = 'brSALT') =>
  String(execFileSync('openssl', ['passwd', '-6', '-salt', salt, password])).trim();

// rows: [{ id, username, name, dob, sex, cmnd, id12, verified, cls }]; every account gets passwordHash.
export function accountsCsv(rows, passwordHash) {
  return `${ACCOUNTS_HEADER}\n${rows.map((r) => [r.id, r.username, r.name, r.dob || '', r.sex || '', r.cmnd || '',
    r.id12 || '', r.verified ? 'true' : 'false', passwordHash, r.cls || 'individual'].join(',')).join('\n')}\n`;
}

// Start the stack; `accounts` (CSV text) is imported for portal A. Cutoffs are far in the
// future so the legacy form shows. st.popdb = { url, proc, faults(obj), stats() }.
export async function startAccountsDemo(name, { accounts, limits = '' } = {}) {
  const ports = { 'portal-a': await freePort(), 'portal-b': await freePort() };
  const popdbPort = await freePort();
  const popdbUrl = `http://127.0.0.1:${popdbPort}`;
  const st = await startStack(name, {
    clients: portalClients(ports),
    extraClient: {
      'portal-a': 'accounts = yes\nlegacy_login = yes\ncutoff_individual = 2099-01-01T00:00:00+07:00\n' +
                  'cutoff_organisation = 2099-01-01T00:00:00+07:00\n',
    },
    extra: `\n[popdb]\nurl = ${popdbUrl}/check\nname_format = nfc\ntimeout = 3s\n` +
           (limits ? `\n[limits]\n${limits}\n` : '') +
           '\n[audit]\npath = DIR/audit.log\n',
  });
  return withPortals(st, ports, async () => {
    const proc = run('popdb-sim', process.execPath, [path.join(ROOT, 'sim/popdb/server.js'), '--port', String(popdbPort)],
      { dir: st.dir });
    st.procs.push(proc);
    await waitHttp(`${popdbUrl}/_sim/stats`);
    st.popdb = {
      url: popdbUrl, proc,
      faults: (f) => fetch(`${popdbUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' },
                                                        body: JSON.stringify(f) }),
      stats: async () => (await fetch(`${popdbUrl}/_sim/stats`)).json(),
    };
    if (accounts) {
      const csv = path.join(st.dir, 'portal-a-accounts.csv');
      fs.writeFileSync(csv, accounts);
      execFileSync(EIDGW_BIN, ['accounts', 'import', '-c', st.gw.conf, '--portal', 'portal-a', csv], { stdio: 'pipe' });
    }
  });
}
