//! Client assertions already used, so that each is accepted once (RFC 7523 §3, item 7).

use sea_orm::sea_query::OnConflict;
use sea_orm::{DbErr, EntityTrait, Set};

use super::Store;
use super::entities::client_assertion;
use crate::core::error::StoreError;
use crate::core::ports::AssertionRepo;
use crate::secret::hash;

impl AssertionRepo for Store {
    async fn first_use(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let row = client_assertion::ActiveModel {
            id: Set(hash(&format!("{issuer}\0{jti}"))),
            expires_at: Set(expires_at),
        };
        let inserted = self
            .writes
            .transaction(move |txn| {
                Box::pin(async move {
                    let inserted = client_assertion::Entity::insert(row)
                        .on_conflict(
                            OnConflict::column(client_assertion::Column::Id)
                                .do_nothing()
                                .to_owned(),
                        )
                        .exec_without_returning(txn)
                        .await;
                    match inserted {
                        Err(DbErr::RecordNotInserted) => Ok(0),
                        other => other,
                    }
                })
            })
            .await?;
        Ok(inserted == 1)
    }
}
