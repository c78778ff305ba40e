//! `tessera resource create | list | delete`: the APIs tokens can be asked for (RFC 8707).

use serde_json::json;

use super::output::{fail, listing, print};
use crate::app::open_store;
use crate::config::Config;
use crate::core::model::Resource;
use crate::core::ports::ResourceRepo;
use crate::core::resources;
use crate::keys::Alg;

#[derive(clap::Subcommand)]
pub enum ResourceCommand {
    /// Register an API: a `resource` parameter naming its id gets tokens with that `aud`
    Create(CreateResource),
    List,
    Delete {
        id: String,
    },
}

#[derive(clap::Args)]
pub struct CreateResource {
    /// The API's identifier, an absolute URI (the tokens' `aud`), e.g. https://api.example
    #[arg(long)]
    id: String,
    /// Signs its access tokens, e.g. RS256 for a gateway that verifies only RS256 [default:
    /// the client's, then the global access_token_alg]
    #[arg(long)]
    alg: Option<Alg>,
    /// Lifetime of its access tokens in seconds [default: the client's, then the global one]
    #[arg(long)]
    lifetime: Option<i64>,
    /// A scope the API understands (repeatable); its tokens carry only these and OIDC scopes
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// The client that is this API as a resource server: it may introspect the API's tokens
    #[arg(long)]
    client: Option<String>,
}

pub async fn run(
    config: &Config,
    command: ResourceCommand,
    json_output: bool,
) -> Result<(), String> {
    let store = open_store(config).await.map_err(fail)?;
    match command {
        ResourceCommand::Create(args) => {
            let resource = Resource {
                id: args.id,
                access_token_alg: args.alg,
                access_token_ttl: args.lifetime,
                scopes: args.scopes,
                owner_client_id: args.client,
                created_at: crate::clock::Clock::System.now(),
            };
            let created = resources::create(&store, resource).await.map_err(fail)?;
            let text = format!("resource: {}", line(&created));
            print(json_output, json!(created), &text);
        }
        ResourceCommand::List => {
            let all = store.list_resources().await.map_err(fail)?;
            let text = listing(&all, line, "no resources");
            print(json_output, json!(all), &text);
        }
        ResourceCommand::Delete { id } => {
            if !store.delete_resource(&id).await.map_err(fail)? {
                return Err(format!("no resource '{id}'"));
            }
            print(
                json_output,
                json!({"deleted": id}),
                &format!("deleted resource {id}"),
            );
        }
    }
    Ok(())
}

fn line(r: &Resource) -> String {
    let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".into());
    format!(
        "{}\talg {}\tlifetime {}\tscopes {}",
        r.id,
        or_default(r.access_token_alg.map(|a| a.to_string())),
        or_default(r.access_token_ttl.map(|t| format!("{t}s"))),
        r.scopes.join(" ")
    )
}
