//! `tessera client create | list | show | delete`.

use serde_json::json;

use super::output::{fail, listing, print};
use crate::app::open_store;
use crate::config::Config;
use crate::core::accounts;
use crate::core::model::{AuthMethod, Client, ClientSpec, GrantType, Profile};
use crate::core::ports::ClientRepo;
use crate::keys::Alg;

#[derive(clap::Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and (once) its secret
    Create(Box<CreateClient>),
    List,
    Show {
        /// Generated ids are base64url and may start with '-'
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    Delete {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// The flags of `client create`, turned into a `ClientSpec`.
#[derive(clap::Args)]
pub struct CreateClient {
    #[arg(long)]
    name: String,
    /// Client id [default: generated]
    #[arg(long)]
    id: Option<String>,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required); same as --auth-method none
    #[arg(long)]
    public: bool,
    /// client_secret_basic (default), client_secret_post, private_key_jwt or none
    #[arg(long)]
    auth_method: Option<AuthMethod>,
    /// private_key_jwt: where the client publishes its public keys (a JWK Set)
    #[arg(long)]
    jwks_uri: Option<String>,
    /// private_key_jwt: a file holding the client's public keys (a JWK Set)
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    /// authorization_code (default), refresh_token, client_credentials
    #[arg(long = "grant")]
    grants: Vec<GrantType>,
    /// Scopes the client may request [default: all supported]
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long, default_value = "RS256")]
    id_token_alg: Alg,
    /// Signs this client's access tokens, e.g. RS256 for a gateway that verifies only RS256
    /// [default: global setting, ES256]
    #[arg(long)]
    access_token_alg: Option<Alg>,
    /// `aud` of this client's access tokens [default: the issuer]
    #[arg(long)]
    audience: Option<String>,
    /// Access token lifetime in seconds [default: global setting]
    #[arg(long)]
    access_token_ttl: Option<i64>,
    /// id_token lifetime in seconds [default: global setting]
    #[arg(long)]
    id_token_ttl: Option<i64>,
    /// Refresh token idle (sliding) lifetime in seconds [default: global setting]
    #[arg(long)]
    refresh_token_ttl: Option<i64>,
    /// Seconds during which a rotated refresh token still yields its successor, for browser
    /// apps whose tabs refresh at once (0: none) [default: global setting, itself 0]
    #[arg(long)]
    refresh_reuse_grace: Option<i64>,
    /// Where to POST OIDC Back-Channel Logout tokens
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// May introspect every token, not only those issued to it or whose `aud` is its id
    #[arg(long)]
    introspect_any: bool,
    /// Every token request must carry a DPoP proof (RFC 9449), so every access token is
    /// bound to the client's key
    #[arg(long)]
    require_dpop: bool,
    /// Authorization requests must be pushed to /par first (RFC 9126)
    #[arg(long)]
    require_par: bool,
    /// Users must sign in with a second factor (those without one enrol after the password)
    #[arg(long)]
    require_mfa: bool,
    /// Hold the client to a security profile: fapi2 (FAPI 2.0 Security Profile: PAR, PKCE
    /// S256, private_key_jwt, DPoP, no fragment responses)
    #[arg(long)]
    profile: Option<Profile>,
}

impl CreateClient {
    fn spec(self) -> Result<ClientSpec, String> {
        let auth_method = match (self.public, self.auth_method) {
            (true, Some(m)) if m != AuthMethod::None => {
                return Err("--public conflicts with --auth-method".into());
            }
            (true, _) => AuthMethod::None,
            (false, m) => m.unwrap_or(AuthMethod::ClientSecretBasic),
        };
        let jwks = match &self.jwks_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("--jwks-file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(ClientSpec {
            id: self.id,
            name: self.name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            auth_method,
            grant_types: self.grants,
            scopes: self.scopes,
            id_token_alg: self.id_token_alg,
            access_token_alg: self.access_token_alg,
            secret: None,
            audience: self.audience,
            access_token_ttl: self.access_token_ttl,
            id_token_ttl: self.id_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_reuse_grace: self.refresh_reuse_grace,
            backchannel_logout_uri: self.backchannel_logout_uri,
            introspect_any: self.introspect_any,
            jwks,
            jwks_uri: self.jwks_uri,
            require_dpop: self.require_dpop,
            require_par: self.require_par,
            require_mfa: self.require_mfa,
            profile: self.profile,
        })
    }
}

pub async fn run(config: &Config, command: ClientCommand, json_output: bool) -> Result<(), String> {
    let store = open_store(config).await.map_err(fail)?;
    match command {
        ClientCommand::Create(args) => {
            let now = crate::clock::Clock::System.now();
            let master = crate::app::master_key(config).map_err(fail)?;
            let (client, secret) = accounts::create_client(&store, &master, args.spec()?, now)
                .await
                .map_err(fail)?;
            let text = match &secret {
                Some(s) => format!(
                    "client_id:     {}\nclient_secret: {s}\n(the secret is shown only now; store it safely)",
                    client.id
                ),
                None if client.auth_method == AuthMethod::PrivateKeyJwt => format!(
                    "client_id: {}\n(private_key_jwt: no secret; it signs assertions with its registered keys)",
                    client.id
                ),
                None => format!(
                    "client_id: {}\n(public client: no secret; use PKCE S256)",
                    client.id
                ),
            };
            let value = json!({"client_id": client.id, "client_secret": secret});
            print(json_output, value, &text);
        }
        ClientCommand::List => {
            let clients = store.list_clients().await.map_err(fail)?;
            let text = listing(&clients, client_line, "no clients");
            print(json_output, json!(clients), &text);
        }
        ClientCommand::Show { id } => {
            let client = store
                .find_client(&id)
                .await
                .map_err(fail)?
                .ok_or(format!("no client '{id}'"))?;
            let value = json!(client);
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            print(json_output, value, &text);
        }
        ClientCommand::Delete { id } => {
            if !store.delete_client(&id).await.map_err(fail)? {
                return Err(format!("no client '{id}'"));
            }
            let text = format!("deleted client {id}");
            print(json_output, json!({"deleted": id}), &text);
        }
    }
    Ok(())
}

fn client_line(c: &Client) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        c.id,
        c.name,
        c.auth_method,
        c.redirect_uris.join(" ")
    )
}
