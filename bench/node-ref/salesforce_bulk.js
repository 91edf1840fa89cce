// Reference for bench/salesforce.sh: the same Contact upserts crmsyncd does,
// written with jsforce and pointed at crmsim. Per 200 members: one sObject
// Collections upsert on Member_Key__c (Email, LastName), allOrNone false,
// INFLIGHT chunks at once. Session: the simulator's static token (crmsim
// --token) as accessToken, its base URL as instanceUrl. Prints one JSON line.
//
// usage: node salesforce_bulk.js INSTANCE_URL TOKEN MEMBERS [INFLIGHT] [API_VERSION]
'use strict';
const jsforce = require('jsforce');

const [instanceUrl, accessToken, membersArg, inflightArg, versionArg] = process.argv.slice(2);
const members = parseInt(membersArg, 10);
const inflight = parseInt(inflightArg || '4', 10);
const conn = new jsforce.Connection({ instanceUrl, accessToken, version: versionArg || '66.0' });

let requests = 0;
let failed = 0;
let peakRss = 0;
function sampleRss() {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}

async function pushChunk(start) {
  const records = [];
  for (let i = start; i < Math.min(start + 200, members); i++) {
    const k = `M${String(i).padStart(6, '0')}`;
    records.push({ Member_Key__c: k, Email: `${k.toLowerCase()}@example.com`, LastName: `Member ${i}` });
  }
  const res = await conn.sobject('Contact').upsert(records, 'Member_Key__c', { allOrNone: false });
  requests++;
  for (const r of res) if (!r.success) failed++;
  sampleRss();
}

async function main() {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  const timer = setInterval(sampleRss, 50);
  async function worker() {
    while (next < members) {
      const start = next;
      next += 200;
      await pushChunk(start);
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
  clearInterval(timer);
  sampleRss();
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ members, seconds: secs, records_per_s: members / secs, requests, failed, peak_rss_kb: Math.round(peakRss / 1024), cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(3) }));
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
