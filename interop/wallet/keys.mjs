// The test wallet's holder keys: generated with panva's jose (WebCrypto), named by
// did:key, did:jwk or a bare JWK, and used to sign JWTs (proofs of possession, VP JWTs)
// and, for Ed25519 keys, Data Integrity presentations (through Digital Bazaar's
// Multikey library).

import {
  CompactSign,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK
} from 'jose';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

export const KEY_TYPES = {
  ed25519: {alg: 'EdDSA', crv: 'Ed25519'},
  p256: {alg: 'ES256', crv: 'P-256'}
};
export const BINDINGS = ['did:key', 'did:jwk', 'jwk'];

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

// base58btc (the Bitcoin alphabet), as multibase 'z' values use it.
export function base58btc(bytes) {
  let zeros = 0;
  while(zeros < bytes.length && bytes[zeros] === 0) {
    zeros++;
  }
  const digits = [];
  for(const byte of bytes) {
    let carry = byte;
    for(let i = 0; i < digits.length; i++) {
      carry += digits[i] << 8;
      digits[i] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while(carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  return '1'.repeat(zeros) + digits.reverse().map(d => BASE58[d]).join('');
}

function b64u(value) {
  return Buffer.from(value, 'base64url');
}

// The multicodec-prefixed public key of a did:key (did:key v0.7 §3): ed25519-pub
// (0xed 0x01) + the 32 raw bytes, or p256-pub (0x80 0x24) + the compressed point.
export function multikeyOf(publicJwk) {
  if(publicJwk.crv === 'Ed25519') {
    return 'z' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), b64u(publicJwk.x)]));
  }
  if(publicJwk.crv === 'P-256') {
    const y = b64u(publicJwk.y);
    const prefix = (y[y.length - 1] & 1) ? 0x03 : 0x02;
    return 'z' + base58btc(
      Buffer.concat([Buffer.from([0x80, 0x24, prefix]), b64u(publicJwk.x)]));
  }
  throw new Error(`wallet: no did:key form for curve ${publicJwk.crv}`);
}

function publicOnly({kty, crv, x, y}) {
  return y === undefined ? {kty, crv, x} : {kty, crv, x, y};
}

// The identifiers a binding gives a key: `did` and `kid` (a DID URL) for the DID
// bindings; for `jwk`, the key travels in the JWT header and `kid` is absent.
export function identifiersFor(binding, publicJwk) {
  if(binding === 'did:key') {
    const mb = multikeyOf(publicJwk);
    return {did: `did:key:${mb}`, kid: `did:key:${mb}#${mb}`};
  }
  if(binding === 'did:jwk') {
    // did:jwk §2: the DID is the base64url of the JWK's JSON; its one method is #0.
    const did = 'did:jwk:' + Buffer.from(JSON.stringify(publicJwk)).toString('base64url');
    return {did, kid: `${did}#0`};
  }
  if(binding === 'jwk') {
    return {did: undefined, kid: undefined};
  }
  throw new Error(`wallet: unknown binding ${binding}`);
}

/** A new holder key record: {id, keyType, binding, alg, publicJwk, privateJwk, did, kid}. */
export async function generateHolderKey({keyType = 'ed25519', binding = 'did:key'} = {}) {
  const type = KEY_TYPES[keyType];
  if(!type) {
    throw new Error(`wallet: unknown key type ${keyType} (ed25519 or p256)`);
  }
  if(!BINDINGS.includes(binding)) {
    throw new Error(`wallet: unknown binding ${binding} (${BINDINGS.join(', ')})`);
  }
  const {privateKey} = await generateKeyPair(type.alg, {crv: type.crv, extractable: true});
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = publicOnly(privateJwk);
  const id = await calculateJwkThumbprint(publicJwk);
  return {id, keyType, binding, alg: type.alg, publicJwk, privateJwk,
    ...identifiersFor(binding, publicJwk)};
}

/** A compact JWS of `payload` under `header`, signed with the holder key. */
export async function signJwt(holder, header, payload) {
  const key = await importJWK(holder.privateJwk, holder.alg);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({...header, alg: holder.alg})
    .sign(key);
}

/**
 * The holder key as a Digital Bazaar Ed25519 Multikey key pair (for Data Integrity
 * proofs); only did:key Ed25519 keys qualify, since a verifier resolves them offline.
 */
export async function multikeyPair(holder) {
  if(holder.keyType !== 'ed25519' || holder.binding !== 'did:key') {
    throw new Error('wallet: a Data Integrity presentation needs an Ed25519 did:key holder ' +
      `key; this credential is bound to a ${holder.keyType} ${holder.binding} key`);
  }
  return Ed25519Multikey.fromJwk({
    jwk: holder.privateJwk, secretKey: true, id: holder.kid, controller: holder.did
  });
}
