// The wallet's JSON-LD document loader: strictly offline. It serves the JSON-LD
// contexts the repository bundles (contexts/index.json: the W3C and 1EdTech context
// files, with their provenance), and did:key Ed25519 keys built in code. Anything else
// throws: the wallet never fetches a context a credential names.

import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import jsonld from 'jsonld';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

function bundled() {
  const dir = join(REPO, 'contexts');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  return new Map(Object.entries(index).map(
    ([url, file]) => [url, JSON.parse(readFileSync(join(dir, file), 'utf8'))]));
}

const DOCUMENTS = bundled();

async function didKeyMethod(url) {
  const [did, fragment] = url.split('#');
  const publicKeyMultibase = did.slice('did:key:'.length);
  if(fragment !== publicKeyMultibase) {
    throw new Error(`wallet loader: ${url} is not the key of its did:key`);
  }
  const key = await Ed25519Multikey.from({
    '@context': MULTIKEY_CONTEXT, type: 'Multikey', id: url, controller: did,
    publicKeyMultibase
  });
  return key.export({publicKey: true, includeContext: true});
}

export async function documentLoader(url) {
  let document;
  if(DOCUMENTS.has(url)) {
    document = structuredClone(DOCUMENTS.get(url));
  } else if(typeof url === 'string' && url.startsWith('did:key:z6Mk') && url.includes('#')) {
    document = await didKeyMethod(url);
  } else {
    throw new Error(`wallet loader: refusing to load ${url} (offline loader)`);
  }
  return {contextUrl: null, documentUrl: url, document};
}

/**
 * The credential's types as full IRIs, after its @context is applied: what a DCQL
 * `meta.type_values` names (OpenID4VP 1.0 Appendix B.1.1).
 */
export async function expandedTypes(credential) {
  const [expanded] = await jsonld.expand(
    {'@context': credential['@context'], type: credential.type},
    {documentLoader, safe: true});
  return expanded?.['@type'] ?? [];
}
