// Where the wallet may send anything: https:// URLs, and http:// only to this machine
// (the tests serve the app on 127.0.0.1). The OpenWallet Foundation libraries check
// https for most URLs but not for every one (an OpenID4VP response_uri, say), and
// Sphereon's client checks none, so the wallet checks every URL it is given and every
// request it makes.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Throws unless `url` is https://, or http:// on a loopback host. */
export function checkUrl(url) {
  const parsed = url instanceof URL ? url : new URL(url);
  if(parsed.protocol === 'https:' ||
    (parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname))) {
    return parsed;
  }
  throw new Error(`wallet: refusing ${parsed.protocol}//${parsed.host}: ` +
    'only https:// URLs (http:// on this machine for tests)');
}

/** The URLs a link names: itself if http(s), and its offer / request parameters. */
export function linkedUrls(link) {
  const parsed = new URL(link);
  const urls = [];
  if(parsed.protocol === 'http:' || parsed.protocol === 'https:') {
    urls.push(parsed.href);
  }
  for(const name of ['credential_offer_uri', 'request_uri', 'response_uri', 'redirect_uri']) {
    const value = parsed.searchParams.get(name);
    if(value) {
      urls.push(value);
    }
  }
  const offer = parsed.searchParams.get('credential_offer');
  if(offer) {
    const issuer = JSON.parse(offer)?.credential_issuer;
    if(typeof issuer === 'string') {
      urls.push(issuer);
    }
  }
  return urls;
}

/** Whether every URL of the link is on a loopback host (then http:// is allowed). */
export function allLoopback(link) {
  const urls = linkedUrls(link).map(u => new URL(u));
  return urls.length > 0 && urls.every(u => LOOPBACK.has(u.hostname));
}
