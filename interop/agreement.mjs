#!/usr/bin/env node
// Test-only: Digital Bazaar's verdict on credentials other implementations issued, so
// that badgeworks' verdict on the same credentials can be compared with it
// (tests/interop/test_real_credentials.py, tests/vectors/real/).
//
// Usage: node interop/agreement.mjs < request.json > response.json
//
// The request is an array of items {credential, now?, documents?}; the response is an
// array of {verified, error?, statuses} in the same order. A failure of one item becomes
// that item's result and never aborts the batch.
//
// What runs: @digitalbazaar/vc's verifyCredential with the suites the credentials use
// (DataIntegrityProof with eddsa-rdfc-2022, Ed25519Signature2020) and, for a
// credentialStatus, the checkStatus of @digitalbazaar/vc-bitstring-status-list
// (BitstringStatusListEntry) or @digitalbazaar/vc-status-list (StatusList2021Entry),
// which verify the status list credential and that its issuer is the credential's.
// Those libraries report a revoked or suspended credential as a status value, not as
// a failure; "verified" here is their verified AND no status bit set, which is what a
// verifier built on them shows (the Digital Credentials Consortium's does the same).
//
// The document loader is strictly offline: the repository's bundled contexts
// (contexts/index.json), did:key Ed25519 keys built in code (as
// Ed25519VerificationKey2020, which both suites accept), and the item's own documents
// (status lists), by URL. Any other URL throws, so no verdict can come from a fetch.

import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {checkStatus as checkBitstringStatus} from
  '@digitalbazaar/vc-bitstring-status-list';
import {checkStatus as checkStatus2021} from '@digitalbazaar/vc-status-list';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const ED25519_2020_CONTEXT = 'https://w3id.org/security/suites/ed25519-2020/v1';

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function bundledDocuments() {
  const dir = join(REPO, 'contexts');
  const documents = new Map();
  for(const [url, file] of Object.entries(readJson(join(dir, 'index.json')))) {
    documents.set(url, readJson(join(dir, file)));
  }
  return documents;
}

const DOCUMENTS = bundledDocuments();

// did:key (Ed25519): the DID carries the key, so its document is built here.
function resolveDidKey(url) {
  const [did, fragment] = url.split('#');
  const publicKeyMultibase = did.slice('did:key:'.length);
  if(fragment !== undefined && fragment !== publicKeyMultibase) {
    throw new Error(`agreement: ${url} names no key of its did:key`);
  }
  const id = `${did}#${publicKeyMultibase}`;
  const method = {
    id,
    type: 'Ed25519VerificationKey2020',
    controller: did,
    publicKeyMultibase
  };
  if(fragment !== undefined) {
    return {'@context': ED25519_2020_CONTEXT, ...method};
  }
  return {
    '@context': [DID_CONTEXT, ED25519_2020_CONTEXT],
    id: did,
    verificationMethod: [method],
    authentication: [id],
    assertionMethod: [id],
    capabilityDelegation: [id],
    capabilityInvocation: [id]
  };
}

function makeDocumentLoader(extra) {
  return async function documentLoader(url) {
    let document;
    if(DOCUMENTS.has(url)) {
      document = structuredClone(DOCUMENTS.get(url));
    } else if(Object.hasOwn(extra, url)) {
      document = structuredClone(extra[url]);
    } else if(typeof url === 'string' && url.startsWith('did:key:z6Mk')) {
      document = resolveDidKey(url);
    } else {
      throw new Error(`agreement: refusing to load ${url} (offline loader)`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

function suites() {
  return [
    new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
    new Ed25519Signature2020()
  ];
}

function describeError(error) {
  if(!error) {
    return undefined;
  }
  const nested = Array.isArray(error.errors) ? error.errors : [];
  const parts = nested.length ? nested.map(describeError) : [error.message || String(error)];
  return parts.join('; ');
}

function statusTypes(credential) {
  const status = credential.credentialStatus;
  const entries = Array.isArray(status) ? status : (status ? [status] : []);
  return new Set(entries.map(entry => entry && entry.type));
}

async function verifyOne({credential, now, documents = {}}) {
  const documentLoader = makeDocumentLoader(documents);
  const suite = suites();
  const types = statusTypes(credential);
  const statuses = [];
  const checkStatus = async options => {
    const check = types.has('StatusList2021Entry') ? checkStatus2021 : checkBitstringStatus;
    const result = await check({...options, suite, documentLoader});
    for(const r of result.results || []) {
      // vc-bitstring-status-list gives the value as status; vc-status-list (2021) gives
      // only verified, false when the bit is set.
      statuses.push('status' in r ?
        r.status === true || (typeof r.status === 'number' && r.status > 0) :
        r.verified === false);
    }
    return result;
  };
  const result = await vc.verifyCredential({
    credential,
    suite,
    documentLoader,
    checkStatus,
    now: now ? new Date(now) : undefined
  });
  const error = describeError(result.error) ||
    describeError(result.statusResult && result.statusResult.error);
  return {
    verified: Boolean(result.verified) && !statuses.some(Boolean),
    librariesVerified: Boolean(result.verified),
    statuses,
    error
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const items = JSON.parse(await readStdin());
  const results = [];
  for(const item of items) {
    try {
      results.push(await verifyOne(item));
    } catch(error) {
      results.push({verified: false, error: describeError(error) || String(error)});
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch(error => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
