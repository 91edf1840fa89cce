// Reference for bench/adobe.sh: the same recipient upserts crmsyncd does,
// written with Adobe's own Campaign client, @adobe/acc-js-sdk (pinned in
// tests/sim/adobe_client/package-lock.json; bench/adobe.sh sets NODE_PATH to
// its node_modules), pointed at crmsim --flavor adobe. IMS server-to-server:
// one client_credentials token, then the SDK in IMS bearer mode (every call
// carries the token, no logon call), as crmsyncd's default auth_mode.
// Per BATCH members one xtk:session#WriteCollection of <recipient
// _operation="insertOrUpdate" _key="@memberKey"> with @email and @lastName,
// INFLIGHT chunks at once. Prints one JSON line.
//
// usage: node adobe_write.js BASE_URL CLIENT_ID CLIENT_SECRET MEMBERS [INFLIGHT] [BATCH]
'use strict';
const sdk = require('@adobe/acc-js-sdk');

const { DomUtil } = sdk;
const [base, clientId, clientSecret, membersArg, inflightArg, batchArg] = process.argv.slice(2);
const members = parseInt(membersArg, 10);
const inflight = parseInt(inflightArg || '4', 10);
const batch = parseInt(batchArg || '100', 10);

let requests = 0;
let peakRss = 0;
function sampleRss() {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}

async function imsToken() {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId,
    client_secret: clientSecret, scope: 'openid,AdobeID,additional_info.projectedProductContext' });
  const res = await fetch(`${base}/ims/token/v3`, { method: 'POST', body });
  if (res.status !== 200) throw new Error(`IMS answered ${res.status}`);
  return (await res.json()).access_token;
}

// The collection document, built with the SDK's DOM helpers.
function collection(start) {
  const doc = DomUtil.newDocument('recipient-collection');
  const root = doc.documentElement;
  root.setAttribute('xtkschema', 'nms:recipient');
  for (let i = start; i < Math.min(start + batch, members); i++) {
    const k = `M${String(i).padStart(6, '0')}`;
    const r = doc.createElement('recipient');
    r.setAttribute('_operation', 'insertOrUpdate');
    r.setAttribute('_key', '@memberKey');
    r.setAttribute('memberKey', k);
    r.setAttribute('email', `${k.toLowerCase()}@example.com`);
    r.setAttribute('lastName', `Member ${i}`);
    root.appendChild(r);
  }
  return doc;
}

async function main() {
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const timer = setInterval(sampleRss, 50);
  const token = await imsToken();
  const client = await sdk.init(sdk.ConnectionParameters.ofImsBearerToken(base, token,
    { noStorage: true, representation: 'SimpleJson', timeout: 300000 }));
  await client.logon();
  let next = 0;
  async function worker() {
    while (next < members) {
      const start = next;
      next += batch;
      await client.NLWS.xml.xtkSession.writeCollection(collection(start));
      requests++;
      sampleRss();
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
  clearInterval(timer);
  sampleRss();
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ members, seconds: secs, records_per_s: members / secs, requests,
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000), peak_rss_kb: Math.round(peakRss / 1024) }));
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
