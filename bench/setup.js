'use strict';
// Creates the benchmark's integration and its endpoints through the gateway's
// API, then prints "KEY=<API key>" and one "ENDPOINT=<id>" line per endpoint.
//   node bench/setup.js --gateway http://127.0.0.1:PORT --admin-key K
//        --integration bench --url http://127.0.0.1:PORT/hook --endpoints 10
//        [--secret whsec_...] [--max-concurrency 100]
// Every endpoint gets the same URL, the filter booking.* and the secret.
const args = { integration: 'bench', endpoints: '1' };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

async function call(method, path, credential, body) {
  const res = await fetch(args.gateway + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} failed with ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function main() {
  const integration = await call('POST', '/api/v1/integrations', args['admin-key'],
    { id: args.integration, name: 'Benchmark' });
  const key = integration.api_key;
  console.log(`KEY=${key}`);
  for (let i = 0; i < Number(args.endpoints); i++) {
    const endpoint = { url: args.url, event_types: ['booking.*'] };
    if (args.secret) endpoint.secret = args.secret;
    if (args['max-concurrency']) endpoint.max_concurrency = Number(args['max-concurrency']);
    const created = await call('POST', `/api/v1/integrations/${args.integration}/endpoints`, key, endpoint);
    console.log(`ENDPOINT=${created.id}`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
