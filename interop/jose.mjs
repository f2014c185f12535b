#!/usr/bin/env node
// Test-only harness: signs and verifies VC-JOSE-COSE tokens (application/vc+jwt) with
// panva's jose, an independent JOSE implementation, so that tests/interop/ can check
// badgeworks' envelopes both ways.
//
// Usage: node interop/jose.mjs <command> < request.json > response.json
//
// The request on stdin is an array of items; the response is an array of results in the
// same order. A failing item becomes {"error": "...", "code": "..."} without aborting
// the batch.
//
// Commands and their per-item requests:
//   sign     {payload, privateJwk, header}      -> {token}   (CompactSign: the payload is
//                                                            the credential JSON itself)
//   unsecured {payload, header?}                -> {token}   (UnsecuredJWT: alg "none")
//   hmac     {payload, secret, header}          -> {token}   (HS256 with the given bytes)
//   verify   {token, publicJwk, typ, algorithms} -> {payload, protectedHeader}
//                                                            (jwtVerify: signature, typ,
//                                                            exp/nbf checked by jose)

import {
  CompactSign,
  UnsecuredJWT,
  importJWK,
  jwtVerify
} from 'jose';

const encoder = new TextEncoder();

async function sign({payload, privateJwk, header}) {
  const key = await importJWK(privateJwk, header.alg);
  const token = await new CompactSign(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key);
  return {token};
}

async function unsecured({payload, header}) {
  const jwt = new UnsecuredJWT(payload);
  const token = jwt.encode();
  if (!header) {
    return {token};
  }
  // Replace the header (UnsecuredJWT writes {"alg":"none"} only).
  const head = Buffer.from(JSON.stringify({alg: 'none', ...header})).toString('base64url');
  return {token: [head, ...token.split('.').slice(1)].join('.')};
}

async function hmac({payload, secret, header}) {
  const token = await new CompactSign(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader({...header, alg: 'HS256'})
    .sign(encoder.encode(secret));
  return {token};
}

async function verify({token, publicJwk, typ, algorithms}) {
  const key = await importJWK(publicJwk, publicJwk.alg || algorithms[0]);
  const {payload, protectedHeader} = await jwtVerify(token, key, {typ, algorithms});
  return {payload, protectedHeader};
}

const COMMANDS = {sign, unsecured, hmac, verify};

async function main() {
  const command = COMMANDS[process.argv[2]];
  if (!command) {
    process.stderr.write(`unknown command ${process.argv[2]}\n`);
    process.exit(2);
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const items = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const item of items) {
    try {
      results.push(await command(item));
    } catch (e) {
      results.push({error: String(e && e.message || e), code: e && e.code});
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main();
