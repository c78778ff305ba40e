use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    Name,
    SecretHash,
    RedirectUris,
    PostLogoutRedirectUris,
    AuthMethod,
    GrantTypes,
    Scopes,
    IdTokenAlg,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    Name,
    PasswordHash,
    Disabled,
    PasswordChangedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    UserAgent,
    Ip,
    Amr,
    AuthTime,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum Interactions {
    Table,
    Id,
    ClientId,
    Request,
    SessionId,
    LoginAt,
    CreatedAt,
    ExpiresAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scopes,
    GrantedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    UserId,
    ClientId,
    SessionId,
    Scope,
    AuthTime,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuthCodes {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    RedirectUri,
    Nonce,
    CodeChallenge,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum IssuedTokens {
    Table,
    Jti,
    GrantId,
    Kind,
    Kid,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    State,
    SealedPrivateKey,
    PublicJwk,
    CreatedAt,
    ActivatesAt,
    RetiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Clients::Table)
                .col(string(Clients::Id).primary_key())
                .col(string(Clients::Name))
                .col(string_null(Clients::SecretHash))
                .col(text(Clients::RedirectUris))
                .col(text(Clients::PostLogoutRedirectUris))
                .col(string(Clients::AuthMethod))
                .col(text(Clients::GrantTypes))
                .col(text(Clients::Scopes))
                .col(string(Clients::IdTokenAlg))
                .col(big_integer(Clients::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(string(Users::Id).primary_key())
                .col(string_uniq(Users::Username))
                .col(string_null(Users::Email))
                .col(string_null(Users::Name))
                .col(string(Users::PasswordHash))
                .col(boolean(Users::Disabled))
                .col(big_integer(Users::PasswordChangedAt))
                .col(big_integer(Users::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string(Sessions::Id).primary_key())
                .col(string_uniq(Sessions::TokenHash))
                .col(string(Sessions::UserId))
                .col(text_null(Sessions::UserAgent))
                .col(string_null(Sessions::Ip))
                .col(string(Sessions::Amr))
                .col(big_integer(Sessions::AuthTime))
                .col(big_integer(Sessions::CreatedAt))
                .col(big_integer(Sessions::LastSeenAt))
                .col(big_integer(Sessions::ExpiresAt))
                .col(big_integer_null(Sessions::EndedAt))
                .to_owned(),
        )
        .await?;
        index(m, "idx_sessions_user", Sessions::Table, Sessions::UserId).await?;

        m.create_table(
            Table::create()
                .table(Interactions::Table)
                .col(string(Interactions::Id).primary_key())
                .col(string(Interactions::ClientId))
                .col(text(Interactions::Request))
                .col(string_null(Interactions::SessionId))
                .col(big_integer_null(Interactions::LoginAt))
                .col(big_integer(Interactions::CreatedAt))
                .col(big_integer(Interactions::ExpiresAt))
                .col(big_integer_null(Interactions::CompletedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Consents::Table)
                .col(string(Consents::UserId))
                .col(string(Consents::ClientId))
                .col(text(Consents::Scopes))
                .col(big_integer(Consents::GrantedAt))
                .primary_key(
                    Index::create()
                        .col(Consents::UserId)
                        .col(Consents::ClientId),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Grants::Table)
                .col(string(Grants::Id).primary_key())
                .col(string_null(Grants::UserId))
                .col(string(Grants::ClientId))
                .col(string_null(Grants::SessionId))
                .col(text(Grants::Scope))
                .col(big_integer_null(Grants::AuthTime))
                .col(big_integer(Grants::CreatedAt))
                .col(big_integer_null(Grants::RevokedAt))
                .to_owned(),
        )
        .await?;
        index(m, "idx_grants_session", Grants::Table, Grants::SessionId).await?;
        index(m, "idx_grants_user", Grants::Table, Grants::UserId).await?;

        m.create_table(
            Table::create()
                .table(AuthCodes::Table)
                .col(string(AuthCodes::CodeHash).primary_key())
                .col(string(AuthCodes::GrantId))
                .col(string(AuthCodes::ClientId))
                .col(text(AuthCodes::RedirectUri))
                .col(text_null(AuthCodes::Nonce))
                .col(string_null(AuthCodes::CodeChallenge))
                .col(big_integer(AuthCodes::CreatedAt))
                .col(big_integer(AuthCodes::ExpiresAt))
                .col(big_integer_null(AuthCodes::UsedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IssuedTokens::Table)
                .col(string(IssuedTokens::Jti).primary_key())
                .col(string(IssuedTokens::GrantId))
                .col(string(IssuedTokens::Kind))
                .col(string(IssuedTokens::Kid))
                .col(big_integer(IssuedTokens::ExpiresAt))
                .col(big_integer_null(IssuedTokens::RevokedAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "idx_issued_tokens_grant",
            IssuedTokens::Table,
            IssuedTokens::GrantId,
        )
        .await?;
        index(
            m,
            "idx_issued_tokens_kid",
            IssuedTokens::Table,
            IssuedTokens::Kid,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(string(SigningKeys::Kid).primary_key())
                .col(string(SigningKeys::Alg))
                .col(string(SigningKeys::State))
                .col(text(SigningKeys::SealedPrivateKey))
                .col(text(SigningKeys::PublicJwk))
                .col(big_integer(SigningKeys::CreatedAt))
                .col(big_integer(SigningKeys::ActivatesAt))
                .col(big_integer_null(SigningKeys::RetiredAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SigningKeys::Table.into_iden(),
            IssuedTokens::Table.into_iden(),
            AuthCodes::Table.into_iden(),
            Grants::Table.into_iden(),
            Consents::Table.into_iden(),
            Interactions::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
            Clients::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn index<T, C>(m: &SchemaManager<'_>, name: &str, table: T, col: C) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    m.create_index(Index::create().name(name).table(table).col(col).to_owned())
        .await
}
