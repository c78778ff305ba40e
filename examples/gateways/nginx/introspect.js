// auth_request handler: 204 when Tessera's introspection says the request's token is active,
// 401 otherwise (no token, an inactive token, or an answer that is not a 200 JSON object).
async function introspect(r) {
    if (!r.variables.bearer_token) {
        r.return(401);
        return;
    }
    const reply = await r.subrequest('/_oauth2_introspect');
    let info = {};
    try {
        info = reply.status === 200 ? JSON.parse(reply.responseText) : {};
    } catch (e) {
        r.error('introspection answered something that is not JSON');
    }
    if (info.active !== true) {
        r.return(401);
        return;
    }
    r.headersOut['X-Token-Sub'] = info.sub || '';
    r.headersOut['X-Token-Scope'] = info.scope || '';
    r.return(204);
}

export default { introspect };
