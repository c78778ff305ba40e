//! sea-orm entities, one module per table (see migrations/ for the schema).

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod client {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub secret_hash: Option<String>,
        pub redirect_uris: String,
        pub post_logout_redirect_uris: String,
        pub auth_method: String,
        pub grant_types: String,
        pub scopes: String,
        pub id_token_alg: String,
        pub access_token_alg: Option<String>,
        pub created_at: i64,
        pub audience: Option<String>,
        pub access_token_ttl: Option<i64>,
        pub id_token_ttl: Option<i64>,
        pub refresh_token_ttl: Option<i64>,
        pub refresh_reuse_grace: Option<i64>,
        pub backchannel_logout_uri: Option<String>,
        pub introspect_any: bool,
        pub jwks: Option<String>,
        pub jwks_uri: Option<String>,
        pub require_dpop: bool,
        pub require_par: bool,
        pub require_mfa: bool,
        pub profile: Option<String>,
        pub secret_sealed: Option<String>,
    }
    no_relations!();
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub username: String,
        pub email: Option<String>,
        pub name: Option<String>,
        pub password_hash: String,
        pub disabled: bool,
        pub password_changed_at: i64,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub token_hash: String,
        pub user_id: String,
        pub user_agent: Option<String>,
        pub ip: Option<String>,
        pub amr: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub last_seen_at: i64,
        pub expires_at: i64,
        pub ended_at: Option<i64>,
    }
    no_relations!();
}

pub mod interaction {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "interactions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub request: String,
        pub session_id: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub completed_at: Option<i64>,
    }
    no_relations!();
}

pub mod consent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub scopes: String,
        pub granted_at: i64,
    }
    no_relations!();
}

pub mod grant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: Option<String>,
        pub client_id: String,
        pub session_id: Option<String>,
        pub scope: String,
        pub auth_time: Option<i64>,
        pub created_at: i64,
        pub revoked_at: Option<i64>,
        /// Absolute end of the grant (refresh tokens never outlive it).
        pub expires_at: Option<i64>,
        pub resource: Option<String>,
    }
    no_relations!();
}

pub mod auth_code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub redirect_uri: String,
        pub nonce: Option<String>,
        pub code_challenge: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
        pub dpop_jkt: Option<String>,
    }
    no_relations!();
}

pub mod revocation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revocations")]
    pub struct Model {
        /// "token:<jti>", "grant:<id>" or "session:<sid>".
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// When nothing it affects can still be valid.
        pub until: i64,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod cache_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cache_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub topic: String,
        pub version: i64,
    }
    no_relations!();
}

pub mod signing_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub alg: String,
        pub sealed_private_key: String,
        pub public_jwk: String,
        pub created_at: i64,
        pub activates_at: i64,
        pub generation: i64,
        pub revoked_at: Option<i64>,
    }
    no_relations!();
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub rotated_at_ms: Option<i64>,
        pub dpop_jkt: Option<String>,
    }
    no_relations!();
}

pub mod client_assertion {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_assertions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod throttle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "throttles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub failures: i64,
        pub window_start: i64,
        pub locked_until: Option<i64>,
    }
    no_relations!();
}

pub mod pushed_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pushed_requests")]
    pub struct Model {
        /// SHA-256 of the request_uri's random part.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        /// The authorization request's parameters, form-encoded.
        #[sea_orm(column_type = "Text")]
        pub params: String,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }
    no_relations!();
}

pub mod resource {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub access_token_alg: Option<String>,
        pub access_token_ttl: Option<i64>,
        /// A JSON array of scope tokens.
        #[sea_orm(column_type = "Text")]
        pub scopes: String,
        pub owner_client_id: Option<String>,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod totp_factor {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "totp_factors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(column_type = "Text")]
        pub secret_sealed: String,
        pub confirmed_at: Option<i64>,
        pub last_step: Option<i64>,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod recovery_code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recovery_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub created_at: i64,
        pub used_at: Option<i64>,
    }
    no_relations!();
}

pub mod passkey {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "passkeys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub name: String,
        #[sea_orm(column_type = "Text")]
        pub credential_id: String,
        #[sea_orm(column_type = "Text")]
        pub credential: String,
        pub backup_eligible: bool,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
    }
    no_relations!();
}
