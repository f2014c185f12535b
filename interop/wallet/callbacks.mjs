// The callbacks the OpenWallet Foundation libraries (@openid4vc/*) ask a wallet for:
// hashing, randomness, JWT signing with the holder key, and fetch. The libraries do
// every protocol step themselves; these are only the wallet's crypto and transport.

import {createHash, randomBytes} from 'node:crypto';

import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';
import {decodeProtectedHeader, importJWK, compactVerify} from 'jose';

import {signJwt} from './keys.mjs';
import {checkUrl} from './urls.mjs';

const HASHES = {'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512'};

/**
 * A fetch that records each exchange (method, URL, status) in `trace`, so the wallet's
 * output shows what it sent where, and refuses any URL but https:// (or http:// on a
 * loopback host).
 */
export function tracingFetch(trace) {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input.url ?? String(input);
    checkUrl(url);
    const entry = {method: (init.method || 'GET').toUpperCase(), url};
    trace.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    return response;
  };
}

/**
 * The callback context for Openid4vciClient and Openid4vpClient. `holderFor(signer)`
 * returns the holder key a JwtSigner names (the wallet signs only with its own keys).
 */
export function owfCallbacks({holderFor, trace}) {
  return {
    fetch: tracingFetch(trace),
    hash: (data, alg) => {
      const name = HASHES[alg];
      if(!name) {
        throw new Error(`wallet: unsupported hash ${alg}`);
      }
      return new Uint8Array(createHash(name).update(data).digest());
    },
    generateRandom: byteLength => new Uint8Array(randomBytes(byteLength)),
    // Pre-authorized code flow with anonymous access (OpenID4VCI 1.0 §6.1): no client
    // authentication at the token endpoint.
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (signer, {header, payload}) => {
      const holder = holderFor(signer);
      const jwt = await signJwt(holder, header, payload);
      return {jwt, signerJwk: holder.publicJwk};
    },
    // The wallet verifies no JWT of its own accord; a library asks only for signed
    // request objects, which these tests do not use. Verify a header `jwk` if one comes.
    verifyJwt: async (signer, {compact}) => {
      const header = decodeProtectedHeader(compact);
      const jwk = signer.publicJwk ?? header.jwk;
      if(!jwk) {
        return {verified: false};
      }
      try {
        await compactVerify(compact, await importJWK(jwk, header.alg));
        return {verified: true, signerJwk: jwk};
      } catch {
        return {verified: false, signerJwk: jwk};
      }
    }
  };
}
