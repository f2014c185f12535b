#!/usr/bin/env node
// Test-only harness: signs and verifies credentials with Digital Bazaar's VC stack
// (@digitalbazaar/vc + DataIntegrityProof + eddsa-rdfc-2022 or eddsa-jcs-2022) so that
// badgeworks can be checked against an independent implementation.
//
// Usage: node interop/harness.mjs <command> < request.json > response.json
//
// The request on stdin is one JSON object, or an array of them (a batch: one Node
// process for many credentials keeps the interop suite fast). The response on stdout
// has the same shape: one result, or an array of results in the same order. A failure
// of one item never aborts the batch; it becomes that item's result, {"error": "..."}.
//
// Commands and their per-item requests:
//   sign                 {credential, key, created?, cryptosuite?}
//                                                              -> the signed credential
//   add-proof            {document, key, created?, cryptosuite?}
//                                                              -> the document with one more
//                                                                 proof (a proof set), made
//                                                                 with jsonld-signatures'
//                                                                 assertion purpose
//   verify               {verifiableCredential, now?, checkIssuer?}
//                                                              -> {verified, error?, proofs}
//   sign-presentation    {presentation, key, created?, challenge, domain?}
//                                                              -> the signed presentation
//   verify-presentation  {verifiablePresentation, challenge, domain?, now?}
//                                                              -> {verified, error?, proofs,
//                                                                  credentials}
//   canonize             {document}                           -> {nquads} (RDFC-1.0)
//   status-bit           {statusListCredential, index, now?}  -> {verified, error?, bit,
//                                                                  entries} (Bitstring
//                                                                  Status List v1.0 §3.4)
// where key = {publicKeyMultibase, secretKeyMultibase, id, controller, type?}: type
// "Ed25519VerificationKey2020" signs with @digitalbazaar/ed25519-verification-key-2020
// (then key.seedHex, the 32-byte seed in hex, is required), anything else with
// @digitalbazaar/ed25519-multikey; cryptosuite is "eddsa-rdfc-2022" (the default) or
// "eddsa-jcs-2022". verify accepts proofs of either cryptosuite.
//
// Every item may also carry, for keys that are not did:key (a mentor's did:web, say):
//   didDocuments         [DID document, ...]  each served at its id, and each of its
//                                             verificationMethod entries at its own id
//                                             (with the Multikey context), as a did:web
//                                             resolver would;
//   verificationMethods  [method, ...]        each served at its id (an https key URL).
// These are served to that item only; they cannot replace a bundled context.
//
// The document loader is strictly offline: it serves the repository's bundled contexts
// (contexts/index.json), the test-only VC 2.0 examples context, did:key Ed25519 keys
// built in code, and the item's own didDocuments/verificationMethods. Any other URL
// throws, so a test can never pass by fetching.

import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as createJcsSignCryptosuite,
  createVerifyCryptosuite as createJcsVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {Ed25519VerificationKey2020} from
  '@digitalbazaar/ed25519-verification-key-2020';
import jsigs from 'jsonld-signatures';
import {gunzipSync} from 'node:zlib';

const {purposes: {AssertionProofPurpose, AuthenticationProofPurpose}} = jsigs;

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
const ED25519_2020_CONTEXT = 'https://w3id.org/security/suites/ed25519-2020/v1';
const KEY_2020 = 'Ed25519VerificationKey2020';

// A verification method is served with the context that defines its type.
function methodContext(method) {
  return method.type === KEY_2020 ? ED25519_2020_CONTEXT : MULTIKEY_CONTEXT;
}
const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const EXAMPLES_V2 = 'https://www.w3.org/ns/credentials/examples/v2';

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function bundledDocuments() {
  const dir = join(REPO, 'contexts');
  const index = readJson(join(dir, 'index.json'));
  const documents = new Map();
  for(const [url, file] of Object.entries(index)) {
    documents.set(url, readJson(join(dir, file)));
  }
  // Test-only: the W3C vectors use the VC 2.0 examples context, which badgeworks'
  // runtime loader deliberately does not serve (tests add it the same way).
  documents.set(EXAMPLES_V2, readJson(
    join(REPO, 'tests', 'vectors', 'contexts', 'credentials-examples-v2.jsonld')));
  return documents;
}

const DOCUMENTS = bundledDocuments();

// did:key for Ed25519 (did:key v0.7): the DID carries the key, so the DID document and
// its single Multikey verification method are built here without any lookup.
async function resolveDidKey(url) {
  const [did, fragment] = url.split('#');
  const publicKeyMultibase = did.slice('did:key:'.length);
  if(fragment !== undefined && fragment !== publicKeyMultibase) {
    throw new Error(`interop harness: ${url} names no key of its did:key`);
  }
  const vmId = `${did}#${publicKeyMultibase}`;
  // Importing the key validates it is an Ed25519 Multikey public key.
  const key = await Ed25519Multikey.from({
    '@context': MULTIKEY_CONTEXT,
    type: 'Multikey',
    id: vmId,
    controller: did,
    publicKeyMultibase
  });
  const method = await key.export({publicKey: true, includeContext: true});
  if(fragment !== undefined) {
    return method;
  }
  const {['@context']: _ctx, ...embedded} = method;
  return {
    '@context': [DID_CONTEXT, MULTIKEY_CONTEXT],
    id: did,
    verificationMethod: [embedded],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityDelegation: [vmId],
    capabilityInvocation: [vmId]
  };
}

// The extra documents of one request item, by URL (see the header comment).
function extraDocuments({didDocuments = [], verificationMethods = []} = {}) {
  const extra = new Map();
  const add = (url, document) => {
    if(typeof url !== 'string' || DOCUMENTS.has(url) || url.startsWith('did:key:') ||
      extra.has(url)) {
      throw new Error(`interop harness: cannot serve an extra document at ${url}`);
    }
    extra.set(url, document);
  };
  for(const did of didDocuments) {
    if(typeof did?.id !== 'string' || !did.id.startsWith('did:')) {
      throw new Error('interop harness: a DID document needs an "id" that is a DID');
    }
    add(did.id, did);
    for(const method of did.verificationMethod || []) {
      // A relative "#key-1" is relative to the DID (DID Core §5.2).
      const id = method.id.startsWith('#') ? did.id + method.id : method.id;
      if(!id.startsWith(`${did.id}#`)) {
        throw new Error(`interop harness: ${id} is not a method of ${did.id}`);
      }
      add(id, {'@context': methodContext(method), ...method, id});
    }
  }
  for(const method of verificationMethods) {
    add(method.id, {'@context': methodContext(method), ...method});
  }
  return extra;
}

function makeDocumentLoader(extra = new Map()) {
  return async function documentLoader(url) {
    let document;
    if(DOCUMENTS.has(url)) {
      document = structuredClone(DOCUMENTS.get(url));
    } else if(extra.has(url)) {
      document = structuredClone(extra.get(url));
    } else if(typeof url === 'string' && url.startsWith('did:key:z6Mk')) {
      document = await resolveDidKey(url);
    } else {
      throw new Error(`interop harness: refusing to load ${url} (offline loader)`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

// Status is out of scope for proof interop; vc.verifyCredential demands a checker when
// credentialStatus is present. This stub answers only the status question: the proof
// and purpose checks still run for real before it is consulted.
async function checkStatus() {
  return {verified: true};
}

async function signer(key) {
  if(key.type === KEY_2020) {
    // The 2020 key library builds its own key pair (and publicKeyMultibase) from the seed.
    const keyPair = await Ed25519VerificationKey2020.generate({
      seed: Buffer.from(key.seedHex, 'hex'),
      id: key.id,
      controller: key.controller
    });
    if(keyPair.publicKeyMultibase !== key.publicKeyMultibase) {
      throw new Error('interop harness: the 2020 key does not match publicKeyMultibase');
    }
    // Its signer predates Data Integrity and names no algorithm; the signature is Ed25519.
    const {id, sign} = keyPair.signer();
    return {id, algorithm: 'Ed25519', sign};
  }
  const keyPair = await Ed25519Multikey.from({
    '@context': MULTIKEY_CONTEXT,
    type: 'Multikey',
    id: key.id,
    controller: key.controller,
    publicKeyMultibase: key.publicKeyMultibase,
    secretKeyMultibase: key.secretKeyMultibase
  });
  return keyPair.signer();
}

function signingCryptosuite(name = 'eddsa-rdfc-2022') {
  if(name === 'eddsa-rdfc-2022') {
    return eddsaRdfc2022;
  }
  if(name === 'eddsa-jcs-2022') {
    return createJcsSignCryptosuite();
  }
  throw new Error(`interop harness: unknown cryptosuite ${name}`);
}

async function suiteFor({key, created, cryptosuite}) {
  return new DataIntegrityProof({
    signer: await signer(key),
    date: created,
    cryptosuite: signingCryptosuite(cryptosuite)
  });
}

// Every suite a proof may use: jsonld-signatures matches each proof to the suite whose
// cryptosuite it names.
function verifierSuite() {
  return [
    new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
    new DataIntegrityProof({cryptosuite: createJcsVerifyCryptosuite()})
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

function proofResults(result) {
  return (result.results || []).map(r => ({
    verified: Boolean(r.verified),
    proofValue: r.proof && r.proof.proofValue,
    error: describeError(r.error || (r.purposeResult && r.purposeResult.error))
  }));
}

const COMMANDS = {
  async sign({credential, key, created, cryptosuite}, {documentLoader}) {
    return vc.issue({
      credential: structuredClone(credential),
      suite: await suiteFor({key, created, cryptosuite}),
      documentLoader
    });
  },

  async 'add-proof'({document, key, created, cryptosuite}, {documentLoader}) {
    // jsonld-signatures appends the new proof to the document's existing ones (a set).
    return jsigs.sign(structuredClone(document), {
      suite: await suiteFor({key, created, cryptosuite}),
      purpose: new AssertionProofPurpose(),
      documentLoader
    });
  },

  async verify({verifiableCredential, now, checkIssuer = true}, {documentLoader}) {
    const options = {
      credential: verifiableCredential,
      suite: verifierSuite(),
      documentLoader,
      checkStatus,
      now: now ? new Date(now) : undefined
    };
    // checkIssuer=false keeps vc's data-model checks but drops only its rule that the
    // issuer must be the key's controller (the W3C vectors sign as did:key on behalf
    // of an https issuer).
    if(!checkIssuer) {
      options.purpose = new AssertionProofPurpose();
    }
    const result = await vc.verifyCredential(options);
    return {
      verified: Boolean(result.verified),
      error: describeError(result.error),
      proofs: proofResults(result)
    };
  },

  async 'sign-presentation'({presentation, key, created, challenge, domain}, {documentLoader}) {
    return vc.signPresentation({
      presentation: structuredClone(presentation),
      suite: await suiteFor({key, created}),
      challenge,
      domain,
      documentLoader
    });
  },

  async 'verify-presentation'({verifiablePresentation, challenge, domain, now}, {documentLoader}) {
    const result = await vc.verify({
      presentation: verifiablePresentation,
      suite: verifierSuite(),
      presentationPurpose: new AuthenticationProofPurpose({challenge, domain}),
      documentLoader,
      checkStatus,
      now: now ? new Date(now) : undefined
    });
    return {
      verified: Boolean(result.verified),
      error: describeError(result.error ||
        (result.credentialResults || []).find(r => !r.verified)?.error),
      proofs: result.presentationResult ? proofResults(result.presentationResult) : [],
      credentials: (result.credentialResults || []).map(r => ({
        verified: Boolean(r.verified), error: describeError(r.error)
      }))
    };
  },

  async 'status-bit'({statusListCredential, index, now}, {documentLoader}) {
    // Verify the list's own proof with the VC stack, then expand encodedList with Node's
    // zlib (u + base64url-no-pad of GZIP) and read bit `index`, most significant first.
    const result = await vc.verifyCredential({
      credential: statusListCredential,
      suite: verifierSuite(),
      documentLoader,
      checkStatus,
      now: now ? new Date(now) : undefined
    });
    const encoded = statusListCredential.credentialSubject.encodedList;
    if(typeof encoded !== 'string' || !encoded.startsWith('u')) {
      throw new Error('encodedList is not a base64url multibase string');
    }
    const bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
    const bit = (bits[Math.floor(index / 8)] >> (7 - (index % 8))) & 1;
    return {
      verified: Boolean(result.verified),
      error: describeError(result.error),
      bit,
      entries: bits.length * 8
    };
  },

  async canonize({document}, {documentLoader}) {
    // The cryptosuite's own canonize: JSON-LD safe mode + RDFC-1.0, as used for proofs.
    return {nquads: await eddsaRdfc2022.canonize(document, {documentLoader})};
  }
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const command = process.argv[2];
  const handler = COMMANDS[command];
  if(!handler) {
    process.stderr.write(
      `usage: node harness.mjs <${Object.keys(COMMANDS).join('|')}> < request.json\n`);
    return 2;
  }
  const request = JSON.parse(await readStdin());
  const batch = Array.isArray(request);
  const items = batch ? request : [request];
  // Sequential on purpose: results stay in order and errors stay attributable.
  const results = [];
  for(const item of items) {
    try {
      const documentLoader = makeDocumentLoader(extraDocuments(item));
      results.push(await handler(item, {documentLoader}));
    } catch(error) {
      results.push({error: describeError(error) || 'unknown error'});
    }
  }
  process.stdout.write(JSON.stringify(batch ? results : results[0]));
  return 0;
}

process.exitCode = await main();
