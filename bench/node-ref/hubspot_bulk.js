// Reference for bench/hubspot.sh: the same bulk push crmsyncd does, written
// with HubSpot's official Node client (@hubspot/api-client) and pointed at
// crmsim. Per 100 members: one contacts batch upsert (member key, email,
// points balance, SMS consent properties), one subscription statuses batch
// write (EMAIL consent), one list memberships add (the segment). Prints one
// JSON line with its figures.
//
// usage: node hubspot_bulk.js BASE_URL TOKEN MEMBERS LIST_ID [INFLIGHT]
'use strict';
const hubspot = require('@hubspot/api-client');

const [base, token, membersArg, listId, inflightArg] = process.argv.slice(2);
const members = parseInt(membersArg, 10);
const inflight = parseInt(inflightArg || '4', 10);
const client = new hubspot.Client({ accessToken: token, basePath: base, numberOfApiCallRetries: 0 });

let requests = 0;
let peakRss = 0;
function sampleRss() {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}

async function pushChunk(start) {
  const keys = [];
  for (let i = start; i < Math.min(start + 100, members); i++) keys.push(`M${String(i).padStart(6, '0')}`);
  const up = await client.crm.contacts.batchApi.upsert({
    inputs: keys.map((k, i) => ({
      idProperty: 'member_key',
      id: k,
      properties: {
        member_key: k,
        email: `${k.toLowerCase()}@example.com`,
        loyalty_points: String((start + i) % 1000),
        consent_marketing_sms: 'granted',
        consent_marketing_sms_date: '2026-11-01T10:00:00.000Z',
        consent_marketing_sms_source: 'web_form',
      },
    })),
  });
  requests++;
  const ids = up.results.map((r) => r.id);
  const r1 = await client.apiRequest({
    method: 'POST',
    path: '/communication-preferences/v4/statuses/batch/write',
    body: {
      inputs: keys.map((k) => ({
        subscriberIdString: `${k.toLowerCase()}@example.com`,
        subscriptionId: 1001,
        statusState: 'SUBSCRIBED',
        channel: 'EMAIL',
        legalBasis: 'CONSENT_WITH_NOTICE',
        legalBasisExplanation: 'source=web_form',
      })),
    },
  });
  requests++;
  if (r1.status >= 300) throw new Error(`statuses: HTTP ${r1.status}`);
  const r2 = await client.apiRequest({
    method: 'PUT',
    path: `/crm/v3/lists/${listId}/memberships/add`,
    body: ids,
  });
  requests++;
  if (r2.status >= 300) throw new Error(`lists: HTTP ${r2.status}`);
  sampleRss();
}

async function main() {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let next = 0;
  async function worker() {
    while (next < members) {
      const start = next;
      next += 100;
      await pushChunk(start);
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  sampleRss();
  console.log(JSON.stringify({
    client: '@hubspot/api-client ' + require('@hubspot/api-client/package.json').version,
    members,
    records: members * 3,
    requests,
    seconds: +seconds.toFixed(3),
    records_per_s: Math.round((members * 3) / seconds),
    cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(3),
    peak_rss_mb: +(peakRss / 1048576).toFixed(1),
  }));
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
