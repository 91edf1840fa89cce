// Drives crmsim --flavor adobe with Adobe's own Campaign client,
// @adobe/acc-js-sdk (version pinned in package-lock.json), to check that the
// simulator speaks what the official client speaks. Run by
// tests/integration/sim_adobe_sdk.sh:
//
//   node run.js BASE_URL CLIENT_ID CLIENT_SECRET
//
// Needs a service named "newsletter" (the shell test seeds it). Prints one
// "ok - ..." line per check and exits nonzero on the first failure.
"use strict";

const sdk = require("@adobe/acc-js-sdk");
const { DomUtil } = sdk;

const [base, clientId, clientSecret] = process.argv.slice(2);
const N = 1000;
const PAGE = 100;

function ok(msg) {
  console.log(`ok - ${msg}`);
}

function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
  ok(msg);
}

function rows(result, elem) {
  const r = result && result[elem];
  if (r === undefined || r === null) return [];
  return Array.isArray(r) ? r : [r];
}

// IMS: client_credentials, a 24 h token, no refresh token.
async function imsToken() {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
    scope: "openid,AdobeID,campaign_sdk",
  });
  const res = await fetch(`${base}/ims/token/v3`, { method: "POST", body });
  check(res.status === 200, `IMS token endpoint answers 200 (got ${res.status})`);
  const json = await res.json();
  check(typeof json.access_token === "string" && json.access_token.length > 0, "IMS gives an access_token");
  check(json.expires_in >= 86000 && json.expires_in <= 86400, `IMS token lives about 24 h (expires_in ${json.expires_in})`);
  check(json.refresh_token === undefined, "IMS gives no refresh_token for client credentials");
  return json.access_token;
}

// <recipient-collection xtkschema="nms:recipient"> of n recipients, built
// with the DOM (no string pasting).
function recipients(n, tag, points) {
  const doc = DomUtil.newDocument("recipient-collection");
  const root = doc.documentElement;
  root.setAttribute("xtkschema", "nms:recipient");
  for (let i = 0; i < n; i++) {
    const r = doc.createElement("recipient");
    r.setAttribute("_operation", "insertOrUpdate");
    r.setAttribute("_key", "@memberKey");
    r.setAttribute("memberKey", `${tag}${String(i).padStart(4, "0")}`);
    r.setAttribute("email", `${tag}${i}@example.com`);
    r.setAttribute("lastName", i === 7 ? "O'Brien" : `Last${i}`);
    r.setAttribute("loyaltyPoints", String(points + i));
    r.setAttribute("loyaltyTier", i % 2 ? "gold" : "silver");
    root.appendChild(r);
  }
  return doc;
}

async function pageAll(client, where) {
  const seen = [];
  for (let start = 0; ; start += PAGE) {
    const query = client.NLWS.xtkQueryDef.create({
      schema: "nms:recipient",
      operation: "select",
      lineCount: PAGE,
      startLine: start,
      select: { node: [{ expr: "@id" }, { expr: "@memberKey" }, { expr: "@loyaltyPoints" }, { expr: "@lastModified" }] },
      where: { condition: [{ expr: where }] },
      orderBy: { node: [{ expr: "@id" }] },
    });
    const page = rows(await query.executeQuery(), "recipient");
    seen.push(...page);
    if (page.length < PAGE) break;
  }
  return seen;
}

async function count(client, schema, where) {
  const query = client.NLWS.xtkQueryDef.create({
    schema,
    operation: "count",
    where: { condition: [{ expr: where }] },
  });
  const res = await query.executeQuery();
  return Number(res.count);
}

// Campaign answers a fault with HTTP 500 and a SOAP-ENV:Fault body. The
// SDK's transport turns an HTTP error into a CampaignException whose
// faultString is the HTTP status text and whose detail is the raw body, so
// the Campaign code is looked for there (errorCode is only filled when the
// fault comes with HTTP 200).
async function expectFault(promise, code, msg) {
  try {
    await promise;
  } catch (e) {
    const text = `${e.errorCode} ${e.faultString} ${e.detail}`;
    check(e.statusCode === 500 && text.includes(`>${code} `) || e.errorCode === code,
      `${msg}: HTTP ${e.statusCode}, fault ${code}`);
    return e;
  }
  throw new Error(`check failed: ${msg}: no exception`);
}

async function scenario(client, mode, tag, points) {
  await client.logon();
  ok(`${mode}: logon`);

  const schema = await client.getSchema("nms:recipient", "xml");
  const attrs = schema ? Array.from(schema.getElementsByTagName("attribute")).map((a) => a.getAttribute("name")) : [];
  check(attrs.includes("memberKey") && attrs.includes("blackList"), `${mode}: getSchema("nms:recipient") lists the extension and standard fields`);

  await client.NLWS.xml.xtkSession.writeCollection(recipients(N, tag, points));
  ok(`${mode}: WriteCollection of ${N} recipients`);

  const all = await pageAll(client, `@memberKey >= '${tag}' and @memberKey < '${tag}~'`);
  check(all.length === N, `${mode}: ExecuteQuery paged ${PAGE} at a time gives ${N} rows (got ${all.length})`);
  const keys = new Set(all.map((r) => r.memberKey));
  check(keys.size === N, `${mode}: ${N} distinct member keys`);
  check(all.every((r, i) => Number(r.loyaltyPoints) === points + i), `${mode}: points read back as written`);
  const ids = all.map((r) => Number(r.id));
  check(ids.every((id, i) => i === 0 || id > ids[i - 1]), `${mode}: rows ordered by @id`);

  // A literal escaped the way the SDK escapes XTK strings.
  const obrien = client.NLWS.xtkQueryDef.create({
    schema: "nms:recipient",
    operation: "get",
    select: { node: [{ expr: "@memberKey" }, { expr: "@lastName" }] },
    where: { condition: [{ expr: sdk.escapeXtk`@lastName = ${"O'Brien"} and @memberKey = ${tag + "0007"}` }] },
  });
  const o = await obrien.executeQuery();
  check(o.lastName === "O'Brien", `${mode}: get with an escaped quote in the literal`);

  const key = { _key: "@memberKey", memberKey: `${tag}0001` };
  await client.NLWS.nmsSubscription.subscribe("newsletter", key, false);
  check((await count(client, "nms:subscription", `[recipient/@memberKey] = '${tag}0001'`)) === 1, `${mode}: Subscribe creates one nms:subscription`);
  await client.NLWS.nmsSubscription.unsubscribe("newsletter", key);
  check((await count(client, "nms:subscription", `[recipient/@memberKey] = '${tag}0001'`)) === 0, `${mode}: Unsubscribe deletes it`);
  const histo = client.NLWS.xtkQueryDef.create({
    schema: "nms:subHisto",
    operation: "select",
    select: { node: [{ expr: "@action" }, { expr: "[service/@name]", alias: "@service" }] },
    where: { condition: [{ expr: `[recipient/@memberKey] = '${tag}0001'` }] },
    orderBy: { node: [{ expr: "@id" }] },
  });
  const h = rows(await histo.executeQuery(), "subHisto");
  check(h.length === 2 && h[0].action === "1" && h[1].action === "0" && h[1].service === "newsletter",
    `${mode}: nms:subHisto holds the subscription then the unsubscription`);
  await client.NLWS.nmsSubscription.subscribe("newsletter", { _key: "@memberKey", memberKey: `${tag}new`, email: `${tag}new@example.com` }, true);
  check((await count(client, "nms:recipient", `@memberKey = '${tag}new'`)) === 1, `${mode}: Subscribe with create=true creates the recipient`);
  await client.NLWS.nmsSubscription.unsubscribe("", { _key: "@memberKey", memberKey: `${tag}0002` });
  check((await count(client, "nms:recipient", `@memberKey = '${tag}0002' and @blackList = 1`)) === 1, `${mode}: Unsubscribe with no service sets @blackList`);

  // A data fault rolls the whole collection back.
  const bad = recipients(3, `${tag}bad`, 0);
  bad.documentElement.lastChild.setAttribute("loyaltyPoints", "lots");
  const e = await expectFault(client.NLWS.xml.xtkSession.writeCollection(bad), "SOP-330011", `${mode}: a bad value faults`);
  check(String(e.detail).includes("PGS-220000"), `${mode}: the fault detail names the PostgreSQL error`);
  check((await count(client, "nms:recipient", `@memberKey >= '${tag}bad' and @memberKey < '${tag}bad~'`)) === 0, `${mode}: nothing of the failed collection was written`);

  await client.logoff();
  ok(`${mode}: logoff`);
}

async function main() {
  const token = await imsToken();
  const opts = { noStorage: true, representation: "SimpleJson" };

  const bearer = await sdk.init(sdk.ConnectionParameters.ofImsBearerToken(base, token, opts));
  await scenario(bearer, "IMS bearer", "b", 100);

  const session = await sdk.init(sdk.ConnectionParameters.ofBearerToken(base, token, opts));
  await scenario(session, "session (BearerTokenLogon)", "s", 5000);

  const rejected = await sdk.init(sdk.ConnectionParameters.ofImsBearerToken(base, "not-an-ims-token", opts));
  await rejected.logon();
  await expectFault(count(rejected, "nms:recipient", "@id > 0"), "XSV-350114", "a token IMS did not issue is refused");

  const badLogon = await sdk.init(sdk.ConnectionParameters.ofBearerToken(base, "not-an-ims-token", opts));
  await expectFault(badLogon.logon(), "XSV-350114", "BearerTokenLogon with a bad IMS token is refused");
}

main().then(
  () => {
    console.log("all checks passed");
  },
  (err) => {
    console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
