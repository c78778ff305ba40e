// Tessera's passkey forms. A form with data-passkey="create" (add a passkey) or "get" (sign
// in, or the second step) carries the WebAuthn options in data-options: JSON whose binary
// members are base64url. The forms are hidden until this script finds WebAuthn in the
// browser; on submit it asks the browser for the passkey and posts the form with the answer,
// encoded the same way, in its "credential" field. No other page needs a script.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function toText(buffer) {
    var binary = "";
    new Uint8Array(buffer).forEach(function (b) {
      binary += String.fromCharCode(b);
    });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) {
      c.id = toBytes(c.id);
    });
  }

  function ask(mode, options) {
    options.challenge = toBytes(options.challenge);
    if (mode === "create") {
      options.user.id = toBytes(options.user.id);
      decodeIds(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }
    decodeIds(options.allowCredentials);
    return navigator.credentials.get({ publicKey: options });
  }

  function encode(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) {
        response.userHandle = toText(r.userHandle);
      }
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      extensions: credential.getClientExtensionResults(),
    });
  }

  function problem(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already has a passkey for your account.";
    }
    return "This browser could not use a passkey" + (error && error.message ? ": " + error.message : ".");
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var status = form.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) {
        return;
      }
      event.preventDefault();
      button.disabled = true;
      status.textContent = "Waiting for your passkey…";
      ask(form.dataset.passkey, JSON.parse(form.dataset.options))
        .then(function (credential) {
          form.elements.credential.value = encode(credential);
          status.textContent = "Checking your passkey…";
          form.submit();
        })
        .catch(function (error) {
          status.textContent = problem(error);
          button.disabled = false;
        });
    });
  });
})();
