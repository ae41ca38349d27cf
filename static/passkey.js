// The phone's passkey, in its browser. nod sends the options of a WebAuthn ceremony as JSON with
// binary fields in base64url; navigator.credentials wants them as buffers, and hands back a
// credential whose buffers nod wants as base64url again. That conversion is all this file does:
// the page that asks for the proof calls nodPasskey.create or nodPasskey.get from the button's
// click handler (Safari allows the ceremony only there) and posts the JSON it resolves to.
"use strict";

const nodPasskey = (() => {
  function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function toBase64url(buffer) {
    let text = "";
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((c) => ({ ...c, id: toBuffer(c.id) }));
  }

  // The credential as nod reads it: `response` holds the ceremony's own buffers, encoded.
  function toJson(credential, response, clientExtensionResults) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response,
      clientExtensionResults,
    };
  }

  // Registers a passkey: `options` is nod's JSON for navigator.credentials.create.
  async function create(options) {
    const o = options.publicKey;
    const publicKey = {
      ...o,
      challenge: toBuffer(o.challenge),
      user: { ...o.user, id: toBuffer(o.user.id) },
      excludeCredentials: descriptors(o.excludeCredentials),
    };
    const credential = await navigator.credentials.create({ publicKey });
    const r = credential.response;
    // Only the extension output nod reads; others may hold buffers that JSON cannot carry.
    const { credProps } = credential.getClientExtensionResults();
    return toJson(
      credential,
      {
        attestationObject: toBase64url(r.attestationObject),
        clientDataJSON: toBase64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : [],
      },
      credProps ? { credProps } : {},
    );
  }

  // Signs with the passkey: `options` is nod's JSON for navigator.credentials.get.
  async function get(options) {
    const o = options.publicKey;
    const publicKey = {
      ...o,
      challenge: toBuffer(o.challenge),
      allowCredentials: descriptors(o.allowCredentials),
    };
    const credential = await navigator.credentials.get({ publicKey });
    const r = credential.response;
    return toJson(
      credential,
      {
        authenticatorData: toBase64url(r.authenticatorData),
        clientDataJSON: toBase64url(r.clientDataJSON),
        signature: toBase64url(r.signature),
        userHandle: r.userHandle ? toBase64url(r.userHandle) : null,
      },
      {},
    );
  }

  return { create, get };
})();
